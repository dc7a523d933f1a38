/**
 * Configs of the TRAINED default pack: the same upstream topologies as the random pack
 * (src/engine/packs/default-configs.ts — block types and counts, attention layout, class-embedding wiring,
 * VAE down-factors, HiFi-GAN upsampling, CLIP/RoBERTa text towers, motion-module placement) at widths chosen for
 * training on 2 CPU cores in a few hours and for the 30 MB pack budget.
 *
 * Deliberate hyper-parameter changes (not topology changes), each for CPU cost:
 *  - ImageBind vision patches 2×28×28 instead of 2×14×14 (8×8 = 64 tokens per clip instead of 256; on 64×64 world
 *    frames resized to 224 a 28-px patch is 8 source pixels) and audio patches 16×16 with stride 16 instead of 10
 *    (8×12 = 96 tokens instead of 228): the attention and MLP cost is ~4× lower, the stems are unchanged;
 *  - text towers keep 32-d token embeddings (a 49 408-row table per tower is most of the pack's bytes).
 */
import {
  AUDIOLDM,
  IMAGEBIND,
  MOTION_ADAPTER,
  STABLE_DIFFUSION,
} from "../../src/engine/packs/default-configs.js";

export const TRAINED_IMAGEBIND = Object.freeze({
  ...IMAGEBIND,
  kernel_size: [2, 28, 28] as const,
  audio_kernel_size: 16,
  audio_stride: 16,
  out_embed_dim: 64,
  vision_embed_dim: 64,
  vision_num_blocks: 2,
  vision_num_heads: 4,
  audio_embed_dim: 64,
  audio_num_blocks: 2,
  audio_num_heads: 4,
  text_embed_dim: 32,
  text_num_blocks: 2,
  text_num_heads: 4,
});

export const TRAINED_AUDIOLDM = Object.freeze({
  ...AUDIOLDM,
  unet: {
    ...AUDIOLDM.unet,
    block_out_channels: [32, 32, 64, 64],
    cross_attention_dim: [32, 32, 64, 64],
    projection_class_embeddings_input_dim: 64,
    norm_num_groups: 16,
  },
  vae: { ...AUDIOLDM.vae, block_out_channels: [16, 32, 64], norm_num_groups: 8 },
  vocoder: { ...AUDIOLDM.vocoder, upsample_initial_channel: 64 },
  text_encoder: {
    ...AUDIOLDM.text_encoder,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 128,
    projection_dim: 64,
  },
});

export const TRAINED_STABLE_DIFFUSION = Object.freeze({
  ...STABLE_DIFFUSION,
  unet: {
    ...STABLE_DIFFUSION.unet,
    block_out_channels: [32, 32, 64, 64],
    cross_attention_dim: 32,
    norm_num_groups: 16,
  },
  vae: { ...STABLE_DIFFUSION.vae, block_out_channels: [16, 32, 32, 64], norm_num_groups: 8 },
  text_encoder: { ...STABLE_DIFFUSION.text_encoder, hidden_size: 32, intermediate_size: 64 },
});

export const TRAINED_MOTION_ADAPTER = Object.freeze({
  ...MOTION_ADAPTER,
  block_out_channels: [32, 32, 64, 64],
  motion_norm_num_groups: 16,
});
