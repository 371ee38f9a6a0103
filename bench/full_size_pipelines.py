"""Stable Diffusion 1.5 and Stable Video Diffusion at their real sizes, with random weights, for timing.

The shapes are those of the published models (UNet, VAE, text and image encoders); the weights are random,
since a benchmark times the arithmetic, not the pictures, and nothing may be fetched from a hub.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLTemporalDecoder,
    StableDiffusionPipeline,
    StableVideoDiffusionPipeline,
    UNet2DConditionModel,
    UNetSpatioTemporalConditionModel,
)
from tiny_pipelines import clip_tokenizer, ddim_scheduler, svd_scheduler
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

VAE_BLOCKS = (128, 256, 512, 512)


def build_sd15(folder: Path) -> Path:
    """SD 1.5's architecture: 860M-parameter UNet, the 84M VAE, a 123M CLIP ViT-L/14 text encoder."""
    if (folder / "model_index.json").is_file():
        return folder
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=768,
        attention_head_dim=8,
    )
    vae = AutoencoderKL(
        block_out_channels=VAE_BLOCKS,
        layers_per_block=2,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        sample_size=512,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    ).eval()
    StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=ddim_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    ).save_pretrained(folder)
    return folder


def build_svd(folder: Path) -> Path:
    """SVD's architecture: the 1.5B spatio-temporal UNet, its temporal-decoder VAE, a CLIP ViT-H/14 image encoder."""
    if (folder / "model_index.json").is_file():
        return folder
    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel()
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=VAE_BLOCKS, layers_per_block=2, down_block_types=("DownEncoderBlock2D",) * 4
    )
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=1280,
            intermediate_size=5120,
            num_hidden_layers=32,
            num_attention_heads=16,
            image_size=224,
            patch_size=14,
            projection_dim=1024,
            hidden_act="gelu",
        )
    ).eval()
    scheduler = svd_scheduler()
    StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    ).save_pretrained(folder)
    return folder
