"""Tiny random-weight pipelines of the current video families: LTX-2, Wan 2.2 TI2V 5B and HunyuanVideo 1.5 I2V.

Shapes follow diffusers' own fast tests (`get_dummy_components()` in `tests/pipelines/ltx2/`,
`tests/pipelines/wan/test_wan_22_image_to_video.py` and `tests/pipelines/hunyuan_video1_5/`), with one change:
those tests fetch their text encoders and tokenizers from `hf-internal-testing` on the hub, and these are built
here from configs and a vocabulary written on the spot (Gemma 3, T5, Qwen2.5-VL and ByT5), so nothing reaches
the hub. Each pipeline is saved with `save_pretrained`, laid out like the real repository: the Wan 2.2 TI2V
folder is a `WanPipeline` with `expand_timesteps`, as `Wan-AI/Wan2.2-TI2V-5B-Diffusers` is, and is loaded for
image-to-video as `WanImageToVideoPipeline`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLHunyuanVideo15,
    AutoencoderKLLTX2Audio,
    AutoencoderKLLTX2Video,
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    HunyuanVideo15ImageToVideoPipeline,
    HunyuanVideo15Transformer3DModel,
    LTX2ImageToVideoPipeline,
    LTX2VideoTransformer3DModel,
    UniPCMultistepScheduler,
    WanPipeline,
    WanTransformer3DModel,
)
from diffusers.guiders import ClassifierFreeGuidance
from diffusers.pipelines.ltx2 import LTX2TextConnectors
from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
from transformers import (
    ByT5Tokenizer,
    Gemma3Config,
    Gemma3ForConditionalGeneration,
    GemmaTokenizer,
    Qwen2_5_VLTextConfig,
    Qwen2_5_VLTextModel,
    Qwen2Tokenizer,
    SiglipImageProcessor,
    SiglipVisionConfig,
    SiglipVisionModel,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode

TEXT_LENGTH = 16
"""Prompt tokens the tiny text encoders read: enough for a test, short enough for a CPU."""
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def byte_vocabulary(*specials: str) -> dict[str, int]:
    """The 256 byte-level characters, after `specials`: a BPE vocabulary with no merges, one token a byte."""
    tokens = [*specials, *bytes_to_unicode().values()]
    return {token: index for index, token in enumerate(tokens)}


def gemma_tokenizer() -> GemmaTokenizer:
    vocab = byte_vocabulary("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")
    return GemmaTokenizer(vocab=vocab, merges=[], model_max_length=TEXT_LENGTH)


def t5_tokenizer() -> T5Tokenizer:
    """A unigram T5 tokenizer over printable ASCII, one token a character."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(chr(code), -2.0) for code in range(33, 127)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=TEXT_LENGTH)


def qwen_tokenizer() -> Qwen2Tokenizer:
    vocab = byte_vocabulary("<|endoftext|>", "<|im_start|>", "<|im_end|>")
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], pad_token="<|endoftext|>", unk_token=None)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_t5(vocab_size: int) -> T5EncoderModel:
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=vocab_size,
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        is_encoder_decoder=False,
    )
    return T5EncoderModel(config).eval()


def build_wan22_ti2v_pipeline(folder: Path) -> Path:
    """A Wan 2.2 TI2V 5B-shaped pipeline (48-channel VAE at 16x, one transformer, expanded timesteps)."""
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],
    )
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    tokenizer = t5_tokenizer()
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=48,
        out_channels=48,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    pipe = WanPipeline(
        tokenizer=tokenizer,
        text_encoder=tiny_t5(len(tokenizer)),
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
        transformer_2=None,
        boundary_ratio=None,
        expand_timesteps=True,
    )
    pipe.save_pretrained(folder)
    return folder


def build_hunyuan15_i2v_pipeline(folder: Path) -> Path:
    """A HunyuanVideo 1.5 image-to-video-shaped pipeline: Qwen2.5-VL and ByT5 text, SigLIP image, 4x VAE."""
    torch.manual_seed(0)
    siglip = SiglipVisionModel(
        SiglipVisionConfig(
            hidden_size=12,
            intermediate_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        )
    ).eval()
    torch.manual_seed(0)
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=9,
        out_channels=4,
        num_attention_heads=2,
        attention_head_dim=8,
        num_layers=1,
        num_refiner_layers=1,
        mlp_ratio=2.0,
        patch_size=1,
        patch_size_t=1,
        text_embed_dim=16,
        text_embed_2_dim=32,
        image_embed_dim=siglip.config.hidden_size,
        rope_axes_dim=(2, 2, 4),
        target_size=32,
        task_type="i2v",
    )
    torch.manual_seed(0)
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(16, 16),
        layers_per_block=1,
        spatial_compression_ratio=4,
        temporal_compression_ratio=2,
        downsample_match_channel=False,
        upsample_match_channel=False,
    )
    torch.manual_seed(0)
    tokenizer = qwen_tokenizer()
    qwen = Qwen2_5_VLTextModel(
        Qwen2_5_VLTextConfig(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.convert_tokens_to_ids("<|im_start|>"),
            eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
            hidden_size=16,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            rope_theta=1000000.0,
        )
    ).eval()
    byt5 = ByT5Tokenizer()
    pipe = HunyuanVideo15ImageToVideoPipeline(
        text_encoder=qwen,
        tokenizer=tokenizer,
        transformer=transformer.eval(),
        vae=vae.eval(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder_2=tiny_t5(len(byt5)),
        tokenizer_2=byt5,
        guider=ClassifierFreeGuidance(guidance_scale=1.0),
        image_encoder=siglip,
        feature_extractor=SiglipImageProcessor(size={"height": 32, "width": 32}),
    )
    pipe.save_pretrained(folder)
    return folder


def tiny_gemma3(vocab_size: int) -> Gemma3ForConditionalGeneration:
    """A two-layer Gemma 3 (text and a one-layer SigLIP) the size of diffusers' `tiny-gemma3`."""
    torch.manual_seed(0)
    config = Gemma3Config(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 32,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 8,
            "max_position_embeddings": 64,
            "sliding_window": 16,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        mm_tokens_per_image=4,
    )
    return Gemma3ForConditionalGeneration(config).eval()


def build_ltx2_i2v_pipeline(folder: Path) -> Path:
    """An LTX-2 image-to-video-shaped pipeline with its audio: Gemma 3 text, video and audio VAEs, a vocoder."""
    tokenizer = gemma_tokenizer()
    text_encoder = tiny_gemma3(len(tokenizer))
    text_config = text_encoder.config.text_config
    torch.manual_seed(0)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        qk_norm="rms_norm_across_heads",
        caption_channels=text_config.hidden_size,
        rope_double_precision=False,
        rope_type="split",
    )
    torch.manual_seed(0)
    connectors = LTX2TextConnectors(
        caption_channels=text_config.hidden_size,
        text_proj_in_factor=text_config.num_hidden_layers + 1,
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_theta=10000.0,
        rope_double_precision=False,
        causal_temporal_positioning=False,
        rope_type="split",
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTX2Video(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8,),
        decoder_block_out_channels=(8,),
        layers_per_block=(1,),
        decoder_layers_per_block=(1, 1),
        spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,),
        decoder_inject_noise=(False, False),
        downsample_type=("spatial",),
        upsample_residual=(False,),
        upsample_factor=(1,),
        timestep_conditioning=False,
        patch_size=4,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    torch.manual_seed(0)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,
        ch_mult=(1,),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        norm_type="pixel",
        causality_axis="height",
        dropout=0.0,
        mid_block_add_attention=False,
        sample_rate=16000,
        mel_hop_length=160,
        is_causal=True,
        mel_bins=8,
    )
    torch.manual_seed(0)
    vocoder = LTX2Vocoder(
        in_channels=audio_vae.config.output_channels * audio_vae.config.mel_bins,
        hidden_channels=32,
        out_channels=2,
        # Upsampling by the audio VAE's hop (10 x 16 = 160), so a second of mel frames is a second of sound.
        upsample_kernel_sizes=[20, 32],
        upsample_factors=[10, 16],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1,
        output_sampling_rate=16000,
    )
    pipe = LTX2ImageToVideoPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        audio_vae=audio_vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        connectors=connectors,
        transformer=transformer,
        vocoder=vocoder,
    )
    pipe.save_pretrained(folder)
    return folder


BUILDERS = {
    "ltx-2": build_ltx2_i2v_pipeline,
    "wan2.2-ti2v-5b": build_wan22_ti2v_pipeline,
    "hunyuan-video-1.5": build_hunyuan15_i2v_pipeline,
}
"""Each tiny pipeline's builder, by the render preset whose model it stands in for."""


def build_tiny_video_model(preset: str, root: Path) -> Path:
    """The tiny pipeline standing in for `preset`'s video model, saved under `root`."""
    return BUILDERS[preset](root / preset)
