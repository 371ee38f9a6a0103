"""Tiny random-weight reference-conditioned image pipelines (Qwen-Image-Edit-Plus, FLUX.2 klein), built offline.

The component shapes follow diffusers' own fast tests (`get_dummy_components()` in
`tests/pipelines/qwenimage/test_qwenimage_edit_plus.py` and `tests/pipelines/flux2/test_pipeline_flux2_klein.py`).
Those tests download a tiny Qwen2 tokenizer and processor from the hub
(`hf-internal-testing/tiny-random-Qwen2VLForConditionalGeneration`); here an equivalent is built on the spot: a
byte-level BPE over the 256 byte characters with no merges, plus the special tokens the pipelines' prompt
templates use (`<|im_start|>`, `<|vision_start|>`, `<|image_pad|>`, ...), saved with `save_pretrained`. The
text encoders' vocabularies and special-token ids are sized to that tokenizer instead of Qwen's 152k.

Two departures from diffusers' tests, both so the pipelines run with their *default* call arguments, as a
user's would: klein's Qwen3 encoder has 28 layers (the pipeline reads hidden states 9, 18 and 27), and the
Qwen-Image VAE is four channels wide and downsamples by 16, because the pipeline encodes every picture it is
given at about 1024x1024, whatever the shot's size: the cheapest VAE that keeps the transformer's sequence short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLFlux2,
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Transformer2DModel,
    QwenImageEditPlusPipeline,
    QwenImageTransformer2DModel,
)
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2TokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% else %}<|vision_start|><|image_pad|><|vision_end|>{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)
"""Qwen's chat layout, reduced to what the pipelines use: roles, text, pictures, the no-thinking prefix."""

KLEIN_TEXT_LAYERS = 28
"""Flux2KleinPipeline stacks the encoder's hidden states 9, 18 and 27 by default."""
TEXT_HIDDEN = 16


def qwen_tokenizer() -> Qwen2TokenizerFast:
    """A Qwen2-style byte-level BPE tokenizer: the 256 byte characters, no merges, Qwen's special tokens."""
    vocab = {character: index for index, character in enumerate(bytes_to_unicode().values())}
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    tokenizer = Qwen2TokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=4096,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS[1:])})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def token_id(tokenizer: Qwen2TokenizerFast, token: str) -> int:
    return int(tokenizer.convert_tokens_to_ids(token))


def flow_scheduler() -> FlowMatchEulerDiscreteScheduler:
    return FlowMatchEulerDiscreteScheduler()


def build_qwen_image_edit_pipeline(folder: Path) -> Path:
    """A Qwen-Image-Edit-2509-shaped `QwenImageEditPlusPipeline` saved to `folder`; returns `folder`."""
    tokenizer = qwen_tokenizer()
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=TEXT_HIDDEN,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )
    torch.manual_seed(0)
    z_dim = 4
    vae = AutoencoderKLQwenImage(
        base_dim=z_dim,
        z_dim=z_dim,
        dim_mult=[1, 1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True, True],
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
    )
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": TEXT_HIDDEN,
            "intermediate_size": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "vocab_size": len(tokenizer),
            "bos_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16},
        hidden_size=TEXT_HIDDEN,
        vocab_size=len(tokenizer),
        vision_start_token_id=token_id(tokenizer, "<|vision_start|>"),
        vision_end_token_id=token_id(tokenizer, "<|vision_end|>"),
        image_token_id=token_id(tokenizer, "<|image_pad|>"),
        video_token_id=token_id(tokenizer, "<|video_pad|>"),
    )
    torch.manual_seed(0)
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    pipe = QwenImageEditPlusPipeline(
        scheduler=flow_scheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        processor=None,
        transformer=transformer,
    )
    pipe.save_pretrained(folder)
    save_qwen_processor(folder, tokenizer)
    return folder


def save_qwen_processor(folder: Path, tokenizer: Qwen2TokenizerFast) -> None:
    """Write `processor/` as the hub's Qwen-Image-Edit has it, and name `Qwen2VLProcessor` in model_index.json.

    transformers 5 cannot build a `Qwen2VLProcessor` without torchvision (its video half), so the processor's
    files are written from its parts: the tokenizer, the picture processor, and the video processor's config.
    """
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    target = folder / "processor"
    tokenizer.save_pretrained(target)
    # Pictures reach the vision tower at about 384x384; a small pixel budget keeps the tiny tower quick.
    budget = {"min_pixels": 56 * 56, "max_pixels": 112 * 112, "patch_size": 14, "temporal_patch_size": 2}
    Qwen2VLImageProcessorPil(**budget, merge_size=2).save_pretrained(target)
    config = json.loads((target / "preprocessor_config.json").read_text())
    config["image_processor_type"] = "Qwen2VLImageProcessor"
    (target / "preprocessor_config.json").write_text(json.dumps(config, indent=2))
    video = {**budget, "merge_size": 2, "video_processor_type": "Qwen2VLVideoProcessor"}
    (target / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2))
    (target / "processor_config.json").write_text(json.dumps({"processor_class": "Qwen2VLProcessor"}, indent=2))
    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]
    index_path.write_text(json.dumps(index, indent=2))


def build_flux2_klein_pipeline(folder: Path) -> Path:
    """A FLUX.2-klein-4B-shaped `Flux2KleinPipeline` (step-distilled) saved to `folder`; returns `folder`."""
    tokenizer = qwen_tokenizer()
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=3 * TEXT_HIDDEN,
        timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=False,
    )
    config = Qwen3Config(
        intermediate_size=16,
        hidden_size=TEXT_HIDDEN,
        num_hidden_layers=KLEIN_TEXT_LAYERS,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=8,
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(config).eval()
    torch.manual_seed(0)
    vae = AutoencoderKLFlux2(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    pipe = Flux2KleinPipeline(
        scheduler=flow_scheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=True,
    )
    pipe.save_pretrained(folder)
    return folder


@dataclass(frozen=True)
class TinyImageModels:
    """Where the tiny reference-conditioned pipelines of one test session were saved."""

    qwen_image_edit: Path
    flux2_klein: Path


def build_tiny_image_models(root: Path) -> TinyImageModels:
    """Both tiny reference-conditioned pipelines, saved under `root`."""
    return TinyImageModels(
        qwen_image_edit=build_qwen_image_edit_pipeline(root / "qwen-image-edit"),
        flux2_klein=build_flux2_klein_pipeline(root / "flux2-klein"),
    )
