/**
 * ImageBind constructor arguments, named exactly as `ImageBindModel.__init__` in facebookresearch/ImageBind
 * (imagebind_model.py). Defaults are the constructor's; `imagebindHuge` are the `imagebind_huge()` values.
 */
export interface ImageBindConfig {
  video_frames: number;
  kernel_size: readonly [number, number, number];
  audio_kernel_size: number;
  audio_stride: number;
  out_embed_dim: number;
  vision_embed_dim: number;
  vision_num_blocks: number;
  vision_num_heads: number;
  audio_embed_dim: number;
  audio_num_blocks: number;
  audio_num_heads: number;
  audio_num_mel_bins: number;
  audio_target_len: number;
  audio_drop_path: number;
  text_embed_dim: number;
  text_num_blocks: number;
  text_num_heads: number;
  depth_embed_dim: number;
  depth_kernel_size: number;
  depth_num_blocks: number;
  depth_num_heads: number;
  depth_drop_path: number;
  thermal_embed_dim: number;
  thermal_kernel_size: number;
  thermal_num_blocks: number;
  thermal_num_heads: number;
  thermal_drop_path: number;
  imu_embed_dim: number;
  imu_kernel_size: number;
  imu_num_blocks: number;
  imu_num_heads: number;
  imu_drop_path: number;
}

export const imagebindDefaults: Readonly<ImageBindConfig> = Object.freeze({
  video_frames: 2,
  kernel_size: [2, 14, 14] as const,
  audio_kernel_size: 16,
  audio_stride: 10,
  out_embed_dim: 768,
  vision_embed_dim: 1024,
  vision_num_blocks: 24,
  vision_num_heads: 16,
  audio_embed_dim: 768,
  audio_num_blocks: 12,
  audio_num_heads: 12,
  audio_num_mel_bins: 128,
  audio_target_len: 204,
  audio_drop_path: 0.1,
  text_embed_dim: 768,
  text_num_blocks: 12,
  text_num_heads: 12,
  depth_embed_dim: 384,
  depth_kernel_size: 16,
  depth_num_blocks: 12,
  depth_num_heads: 8,
  depth_drop_path: 0.0,
  thermal_embed_dim: 768,
  thermal_kernel_size: 16,
  thermal_num_blocks: 12,
  thermal_num_heads: 12,
  thermal_drop_path: 0.0,
  imu_embed_dim: 512,
  imu_kernel_size: 8,
  imu_num_blocks: 6,
  imu_num_heads: 8,
  imu_drop_path: 0.7,
});

/** `imagebind_huge()` overrides. */
export const imagebindHugeArgs: Readonly<Partial<ImageBindConfig>> = Object.freeze({
  vision_embed_dim: 1280,
  vision_num_blocks: 32,
  vision_num_heads: 16,
  text_embed_dim: 1024,
  text_num_blocks: 24,
  text_num_heads: 16,
  out_embed_dim: 1024,
  audio_drop_path: 0.1,
  imu_drop_path: 0.7,
});

export function imagebindConfig(overrides: Partial<ImageBindConfig> = {}): ImageBindConfig {
  const cfg = { ...imagebindDefaults, ...overrides } as ImageBindConfig;
  for (const m of ["vision", "audio", "text", "depth", "thermal", "imu"] as const) {
    const dim = cfg[`${m}_embed_dim`];
    const heads = cfg[`${m}_num_heads`];
    if (dim % heads !== 0)
      throw new RangeError(`ImageBind ${m}_embed_dim ${dim} is not divisible by ${m}_num_heads ${heads}`);
  }
  return cfg;
}

/** Fixed context and vocabulary of ImageBind's text preprocessor. */
export const IMAGEBIND_TEXT = Object.freeze({ context_length: 77, vocab_size: 49408 });

/** Logit-scale initial values of the postprocessors (fixed buffers except text). */
export const LOGIT_SCALE_INIT = Object.freeze({
  text: 1 / 0.07,
  audio: 20.0,
  depth: 5.0,
  thermal: 10.0,
  imu: 5.0,
});
