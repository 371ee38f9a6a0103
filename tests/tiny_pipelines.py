"""Tiny random-weight diffusers pipelines, built offline and saved like a model from the hub.

The shapes follow diffusers' own fast tests (`get_dummy_components()`): real classes at a toy size, so a test
runs the same loading and calling code a real model goes through, in a second or two on a CPU. Nothing here
reaches the hub; the CLIP tokenizer is built from a byte-level vocabulary written on the spot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLTemporalDecoder,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableVideoDiffusionPipeline,
    TextToVideoSDPipeline,
    UNet2DConditionModel,
    UNet3DConditionModel,
    UNetSpatioTemporalConditionModel,
)
from diffusers.models.attention_processor import IPAdapterAttnProcessor
from diffusers.models.embeddings import ImageProjection
from safetensors.torch import save_file
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode

CROSS_ATTENTION_DIM = 32
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
IP_ADAPTER_WEIGHTS = "ip-adapter.safetensors"


def clip_tokenizer(max_length: int = 77) -> CLIPTokenizer:
    """A CLIP tokenizer whose vocabulary is the 256 byte-level characters (bare and word-final), no merges."""
    characters = list(bytes_to_unicode().values())
    tokens = [*characters, *(f"{c}</w>" for c in characters), BOS, EOS]
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def ddim_scheduler() -> DDIMScheduler:
    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def tiny_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        hidden_size=CROSS_ATTENTION_DIM,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=tokenizer.model_max_length,
    )
    torch.manual_seed(0)
    return CLIPTextModel(config).eval()


def tiny_vae() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=8,
    )


def tiny_image_encoder(
    projection_dim: int = CROSS_ATTENTION_DIM, image_size: int = 32, patch_size: int = 4
) -> CLIPVisionModelWithProjection:
    torch.manual_seed(0)
    config = CLIPVisionConfig(
        hidden_size=32,
        projection_dim=projection_dim,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=image_size,
        intermediate_size=37,
        patch_size=patch_size,
    )
    return CLIPVisionModelWithProjection(config).eval()


def build_sd_pipeline(folder: Path) -> Path:
    """A Stable Diffusion 1.5-shaped text-to-image pipeline saved to `folder`; returns `folder`."""
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=CROSS_ATTENTION_DIM,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    scheduler = ddim_scheduler()
    pipe = StableDiffusionPipeline(
        vae=tiny_vae(),
        text_encoder=tiny_text_encoder(tokenizer),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


def ip_adapter_state_dict(unet: UNet2DConditionModel) -> dict[str, torch.Tensor]:
    """Random IP-Adapter weights for `unet` in the layout of the published `ip-adapter*.safetensors` files.

    Keys are `image_proj.*` (the image-embedding projection) and `ip_adapter.{n}.to_k_ip/to_v_ip.weight`, with
    `n` counting attention processors in order and only the odd (cross-attention) ones carrying weights.
    """
    torch.manual_seed(0)
    weights: dict[str, torch.Tensor] = {}
    key_id = 1
    channels = unet.config.block_out_channels
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden_size = channels[-1]
        elif name.startswith("up_blocks"):
            hidden_size = list(reversed(channels))[int(name[len("up_blocks.")])]
        else:
            hidden_size = channels[int(name[len("down_blocks.")])]
        processor = IPAdapterAttnProcessor(hidden_size=hidden_size, cross_attention_dim=unet.config.cross_attention_dim)
        state = processor.state_dict()
        weights[f"ip_adapter.{key_id}.to_k_ip.weight"] = state["to_k_ip.0.weight"]
        weights[f"ip_adapter.{key_id}.to_v_ip.weight"] = state["to_v_ip.0.weight"]
        key_id += 2
    dim = unet.config.cross_attention_dim
    projection = ImageProjection(cross_attention_dim=dim, image_embed_dim=dim, num_image_text_embeds=4).state_dict()
    weights["image_proj.proj.weight"] = projection["image_embeds.weight"]
    weights["image_proj.proj.bias"] = projection["image_embeds.bias"]
    weights["image_proj.norm.weight"] = projection["norm.weight"]
    weights["image_proj.norm.bias"] = projection["norm.bias"]
    return {key: value.contiguous() for key, value in weights.items()}


def build_ip_adapter(folder: Path, sd_folder: Path) -> Path:
    """An IP-Adapter for the pipeline in `sd_folder`, laid out like h94/IP-Adapter's `models` folder.

    `folder` holds `ip-adapter.safetensors` and `image_encoder/` (a CLIP vision model and its processor), so
    it loads with `load_ip_adapter(folder, subfolder="", weight_name=IP_ADAPTER_WEIGHTS)`.
    """
    unet = UNet2DConditionModel.from_pretrained(sd_folder, subfolder="unet")
    folder.mkdir(parents=True, exist_ok=True)
    save_file(ip_adapter_state_dict(unet), str(folder / IP_ADAPTER_WEIGHTS))
    encoder = tiny_image_encoder(unet.config.cross_attention_dim)
    encoder.save_pretrained(folder / "image_encoder")
    CLIPImageProcessor(size=32, crop_size=32).save_pretrained(folder / "image_encoder")
    return folder


def svd_scheduler() -> EulerDiscreteScheduler:
    """The Euler scheduler Stable Video Diffusion ships with (v-prediction, Karras sigmas)."""
    return EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        trained_betas=None,
        use_karras_sigmas=True,
    )


def build_svd_pipeline(folder: Path) -> Path:
    """A Stable Video Diffusion-shaped image-to-video pipeline saved to `folder`; returns `folder`."""
    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=8,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
    )
    scheduler = svd_scheduler()
    torch.manual_seed(0)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        latent_channels=4,
    )
    pipe = StableVideoDiffusionPipeline(
        vae=vae,
        # SVD resizes every picture to 224 before encoding it, whatever the encoder's size.
        image_encoder=tiny_image_encoder(32, image_size=224, patch_size=32),
        unet=unet,
        scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )
    pipe.save_pretrained(folder)
    return folder


def build_text_to_video_pipeline(folder: Path) -> Path:
    """A ModelScope text-to-video-shaped pipeline (`TextToVideoSDPipeline`) saved to `folder`."""
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    unet = UNet3DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        cross_attention_dim=CROSS_ATTENTION_DIM,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    scheduler = ddim_scheduler()
    pipe = TextToVideoSDPipeline(
        vae=tiny_vae(), text_encoder=tiny_text_encoder(tokenizer), tokenizer=tokenizer, unet=unet, scheduler=scheduler
    )
    pipe.save_pretrained(folder)
    return folder


@dataclass(frozen=True)
class TinyModels:
    """Where the tiny pipelines of one test session were saved."""

    sd: Path
    ip_adapter: Path
    svd: Path
    text_to_video: Path


def build_tiny_models(root: Path) -> TinyModels:
    """Every tiny pipeline the tests use, saved under `root`."""
    sd = build_sd_pipeline(root / "sd")
    return TinyModels(
        sd=sd,
        ip_adapter=build_ip_adapter(root / "ip-adapter", sd),
        svd=build_svd_pipeline(root / "svd"),
        text_to_video=build_text_to_video_pipeline(root / "t2v"),
    )
