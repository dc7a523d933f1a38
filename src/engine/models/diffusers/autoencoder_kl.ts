/**
 * AutoencoderKL (mirrors diffusers models/autoencoder_kl.py v0.21.1 and `DiagonalGaussianDistribution` in vae.py),
 * built from its config.json, so the AudioLDM 1-channel mel VAE (SPEC §5.1: latent 8, [128, 256, 512]) and the
 * SD 1.5 image VAE (SPEC §5.2: latent 4, [128, 256, 512, 512]) are the same class.
 *
 *   encode: x [N, C_in, H, W] → posterior mean / logvar (clamped to [−30, 20]) / std, each [N, latent, H/f, W/f]
 *   decode: z [N, latent, h, w] → [N, C_out, h·f, w·f]          (f = 2^(len(block_out_channels) − 1))
 * `scaling_factor` is read from the config but, as upstream, applied by the pipeline (decode(z / scaling_factor)).
 */
import { ModelPackError } from "../../errors.js";
import type { ActivationName } from "../../nn/activations.js";
import { type Conv, Conv2d } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams } from "../../ops/param.js";
import { Decoder, Encoder } from "./vae.js";

/** diffusers AutoencoderKL config keys, verbatim, with upstream's defaults. */
export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: readonly string[];
  up_block_types: readonly string[];
  block_out_channels: readonly number[];
  layers_per_block: number;
  act_fn: string;
  latent_channels: number;
  norm_num_groups: number;
  sample_size: number;
  scaling_factor: number;
  force_upcast: boolean;
  shift_factor: number | null;
  latents_mean: readonly number[] | null;
  latents_std: readonly number[] | null;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  mid_block_add_attention: boolean;
}

export const AUTOENCODER_KL_DEFAULTS: Readonly<AutoencoderKLConfig> = Object.freeze({
  in_channels: 3,
  out_channels: 3,
  down_block_types: ["DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D"],
  block_out_channels: [64],
  layers_per_block: 1,
  act_fn: "silu",
  latent_channels: 4,
  norm_num_groups: 32,
  sample_size: 32,
  scaling_factor: 0.18215,
  force_upcast: true,
  shift_factor: null,
  latents_mean: null,
  latents_std: null,
  use_quant_conv: true,
  use_post_quant_conv: true,
  mid_block_add_attention: true,
});

const VAE_ACTIVATIONS: readonly string[] = ["silu", "swish", "gelu", "relu"];

export function autoencoderKLConfig(overrides: Partial<AutoencoderKLConfig> = {}): AutoencoderKLConfig {
  const picked = Object.fromEntries(Object.entries(overrides).filter(([k]) => !k.startsWith("_")));
  return { ...AUTOENCODER_KL_DEFAULTS, ...picked } as AutoencoderKLConfig;
}

export function checkAutoencoderKLConfig(c: AutoencoderKLConfig, source = "AutoencoderKL config"): void {
  const bad: string[] = [];
  const n = c.block_out_channels.length;
  const unknown = Object.keys(c).filter((k) => !(k in AUTOENCODER_KL_DEFAULTS));
  if (unknown.length) bad.push(`unknown config keys: ${unknown.join(", ")}`);
  if (c.down_block_types.length !== n || c.up_block_types.length !== n)
    bad.push(`down_block_types/up_block_types must have ${n} entries (one per block_out_channels)`);
  for (const t of c.down_block_types)
    if (t !== "DownEncoderBlock2D") bad.push(`down block type "${t}" is not supported`);
  for (const t of c.up_block_types)
    if (t !== "UpDecoderBlock2D") bad.push(`up block type "${t}" is not supported`);
  if (!VAE_ACTIVATIONS.includes(c.act_fn)) bad.push(`act_fn "${c.act_fn}" is not supported`);
  for (const ch of c.block_out_channels)
    if (ch % c.norm_num_groups !== 0)
      bad.push(`block_out_channels ${ch} is not divisible by norm_num_groups ${c.norm_num_groups}`);
  if (bad.length) throw new ModelPackError(`${source}: ${bad.join("; ")}`, { problems: bad });
}

/** DiagonalGaussianDistribution's parameters. */
export interface Posterior<T> {
  mean: T;
  /** clamp(logvar, −30, 20) */
  logvar: T;
  /** exp(½ · logvar) */
  std: T;
}

export class AutoencoderKL {
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quant_conv: Conv | null;
  readonly post_quant_conv: Conv | null;
  readonly config: Readonly<AutoencoderKLConfig>;

  constructor(config: Partial<AutoencoderKLConfig> = {}, source?: string) {
    const c = Object.freeze(autoencoderKLConfig(config));
    checkAutoencoderKLConfig(c, source);
    this.config = c;
    const common = {
      block_out_channels: c.block_out_channels,
      layers_per_block: c.layers_per_block,
      norm_num_groups: c.norm_num_groups,
      act_fn: c.act_fn as ActivationName,
      mid_block_add_attention: c.mid_block_add_attention,
    };
    const z = c.latent_channels;
    this.encoder = new Encoder({ ...common, in_channels: c.in_channels, out_channels: z, double_z: true });
    this.decoder = new Decoder({ ...common, in_channels: z, out_channels: c.out_channels });
    this.quant_conv = c.use_quant_conv ? Conv2d(2 * z, 2 * z, 1) : null;
    this.post_quant_conv = c.use_post_quant_conv ? Conv2d(z, z, 1) : null;
    nameParams(this);
  }

  /** Spatial down-scaling of the latent (diffusers pipelines' `vae_scale_factor`). */
  get scaleFactor(): number {
    return 2 ** (this.config.block_out_channels.length - 1);
  }

  /** x [N, C_in, H, W] → posterior of [N, latent, H/f, W/f] (not multiplied by scaling_factor). */
  encode<T>(ops: Ops<T>, x: T): Posterior<T> {
    let moments = this.encoder.forward(ops, x);
    if (this.quant_conv) moments = this.quant_conv.forward(ops, moments);
    const z = this.config.latent_channels;
    const mean = ops.slice(moments, 1, 0, z);
    const logvar = ops.minimum(ops.maximum(ops.slice(moments, 1, z, 2 * z), -30), 20);
    return { mean, logvar, std: ops.exp(ops.mul(logvar, 0.5)) };
  }

  /** z [N, latent, h, w] (already divided by scaling_factor) → [N, C_out, h·f, w·f]. */
  decode<T>(ops: Ops<T>, z: T): T {
    return this.decoder.forward(ops, this.post_quant_conv ? this.post_quant_conv.forward(ops, z) : z);
  }

  /**
   * Video latents z [B, latent, F, h, w] (already divided by scaling_factor) → [B, C_out, F, h·f, w·f], decoding
   * the frames independently (SPEC §4.1: AnimateDiff rearranges b c f h w → (b f) c h w and decodes per frame),
   * `chunk` frames per decoder call (diffusers `decode_chunk_size`) to bound memory. Frames never interact in
   * the VAE, so the result does not depend on `chunk`.
   */
  decodeVideo<T>(ops: Ops<T>, z: T, chunk = 16): T {
    const [b, c, f, h, w] = ops.shape(z);
    const frames = ops.reshape(ops.transpose(z, [0, 2, 1, 3, 4]), [b * f, c, h, w]);
    const parts: T[] = [];
    for (let i = 0; i < b * f; i += chunk) parts.push(this.decode(ops, ops.slice(frames, 0, i, i + chunk)));
    const y = ops.concat(parts, 0);
    const [, co, ho, wo] = ops.shape(y);
    return ops.transpose(ops.reshape(y, [b, f, co, ho, wo]), [0, 2, 1, 3, 4]);
  }
}
