"""A tiny random-weight Stable Audio 3 pipeline, saved as a folder the way a converted checkpoint is.

Shapes follow diffusers' own fast test (`get_dummy_components()` in `tests/pipelines/stable_audio_3/`), with
three changes: the Gemma tokenizer is built here from a byte vocabulary (diffusers fetches
`hf-internal-testing/tiny-random-Gemma3ForCausalLM`), the scheduler is the `FlowMatchEulerDiscreteScheduler`
with stochastic sampling that this diffusers' converted distilled checkpoint uses, and the autoencoder runs at
8 kHz with a 128x downsampling so seconds of audio are a few hundred latents. The duration embedder's `max_val`
(what `StableAudioBeds` reads as the model's longest generation) is `MAX_SECONDS`, so a test can ask for more.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderSAME, FlowMatchEulerDiscreteScheduler, StableAudio3DiTModel, StableAudio3Pipeline
from diffusers.pipelines.stable_audio_3.modeling_stable_audio_3 import StableAudio3DurationEmbedder
from tiny_video_pipelines import gemma_tokenizer
from transformers import T5GemmaConfig, T5GemmaEncoderModel
from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

COND_DIM = 16
"""The text encoder's width, the DiT's cross and global conditioning width and the duration embedding's: equal."""
SAMPLE_RATE = 8000
MAX_SECONDS = 3.0


def tiny_t5gemma_encoder(vocab_size: int) -> T5GemmaEncoderModel:
    module = T5GemmaModuleConfig(
        vocab_size=vocab_size,
        hidden_size=COND_DIM,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=64,
        sliding_window=64,
        layer_types=["full_attention", "full_attention"],
    )
    config = T5GemmaConfig(encoder=module.to_dict(), decoder=module.to_dict(), is_encoder_decoder=False)
    return T5GemmaEncoderModel(config).eval()


def stir_zero_weights(model: torch.nn.Module) -> None:
    """Random values in the weights a model starts at zero (output projections, the DiT's in and out convolutions).

    A freshly built Stable Audio 3 zero-initialises them so that training starts from identity blocks; left so,
    the tiny pipeline's sound would not depend on its noise or its prompt, and no test could tell seeds apart.
    """
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.2)


def tiny_stable_audio_3() -> StableAudio3Pipeline:
    torch.manual_seed(0)
    tokenizer = gemma_tokenizer()
    transformer = StableAudio3DiTModel(
        io_channels=8,
        patch_size=1,
        embed_dim=32,
        depth=2,
        num_heads=4,
        cond_token_dim=COND_DIM,
        global_cond_dim=COND_DIM,
        local_add_cond_dim=5,
        timestep_features_dim=16,
        ff_mult=2,
        num_memory_tokens=3,
        use_differential_attention=False,
    )
    vae = AutoencoderSAME(
        audio_channels=2,
        patch_size=32,
        encoder_channels=8,
        encoder_c_mults=(2,),
        encoder_strides=(4,),
        encoder_transformer_depths=(1,),
        latent_dim=8,
        use_differential_attention=False,
        dim_heads=4,
        ff_mult=2,
        sampling_rate=SAMPLE_RATE,
    )
    stir_zero_weights(transformer)
    stir_zero_weights(vae)
    return StableAudio3Pipeline(
        vae=vae,
        text_encoder=tiny_t5gemma_encoder(len(tokenizer)),
        tokenizer=tokenizer,
        duration_embedder=StableAudio3DurationEmbedder(output_dim=COND_DIM, fourier_dim=16, max_val=MAX_SECONDS),
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(stochastic_sampling=True),
    )


def build_tiny_stable_audio_3(folder: Path) -> Path:
    """The tiny pipeline saved to `folder` with `save_pretrained`: what `StableAudioBeds` loads as a model."""
    tiny_stable_audio_3().save_pretrained(folder)
    return folder
