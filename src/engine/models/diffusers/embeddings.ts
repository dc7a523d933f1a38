/**
 * Timestep and positional embeddings (mirrors diffusers models/embeddings.py v0.26.3: `get_timestep_embedding`,
 * `Timesteps`, `TimestepEmbedding`, `SinusoidalPositionalEmbedding`).
 */
import { type ActivationName, activation } from "../../nn/activations.js";
import { Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { Param } from "../../ops/param.js";

/**
 * Mirrors diffusers `Timesteps` / `get_timestep_embedding` (max_period 10000, scale 1):
 *   freqs[i] = exp(−ln(10000) · i / (half − downscale_freq_shift)),  i < half = num_channels // 2
 *   emb = [sin(t·freqs), cos(t·freqs)]  (flip_sin_to_cos swaps the halves to [cos, sin]); odd dims pad one 0.
 * No parameters. The frequency table is computed once on the host in float32, as upstream does.
 */
export class Timesteps {
  private readonly _freqs: Float32Array;
  constructor(
    readonly num_channels: number,
    readonly flip_sin_to_cos: boolean,
    readonly downscale_freq_shift: number,
  ) {
    const half = Math.floor(num_channels / 2);
    this._freqs = new Float32Array(half);
    const logMax = Math.fround(-Math.log(10000));
    const denom = Math.fround(half - downscale_freq_shift);
    for (let i = 0; i < half; i++) this._freqs[i] = Math.exp(Math.fround(Math.fround(logMax * i) / denom));
  }

  /** timesteps [N] (int32 or float32) → [N, num_channels] float32. */
  forward<T>(ops: Ops<T>, timesteps: T): T {
    const [n] = ops.shape(timesteps);
    const half = this._freqs.length;
    const t = ops.dtype(timesteps) === "float32" ? timesteps : ops.cast(timesteps, "float32");
    const args = ops.mul(ops.reshape(t, [n, 1]), ops.constant(this._freqs, [1, half])); // [N, half]
    const sin = ops.sin(args);
    const cos = ops.cos(args);
    let emb = ops.concat(this.flip_sin_to_cos ? [cos, sin] : [sin, cos], 1);
    if (this.num_channels % 2 === 1)
      emb = ops.pad(emb, [
        [0, 0],
        [0, 1],
      ]);
    return emb;
  }
}

/** Mirrors diffusers `TimestepEmbedding`: linear_1 → act → linear_2 (→ post_act). `cond_proj` unsupported. */
export class TimestepEmbedding {
  readonly linear_1: Linear;
  readonly linear_2: Linear;
  constructor(
    in_channels: number,
    time_embed_dim: number,
    private readonly _act: ActivationName = "silu",
    out_dim: number | null = null,
    private readonly _postAct: ActivationName | null = null,
  ) {
    this.linear_1 = new Linear(in_channels, time_embed_dim);
    this.linear_2 = new Linear(time_embed_dim, out_dim ?? time_embed_dim);
  }
  /** [N, in] → [N, out] */
  forward<T>(ops: Ops<T>, sample: T): T {
    const h = activation(ops, this._act, this.linear_1.forward(ops, sample));
    const y = this.linear_2.forward(ops, h);
    return this._postAct ? activation(ops, this._postAct, y) : y;
  }
}

/** The `pe` table of diffusers `SinusoidalPositionalEmbedding`: pe[p, 2i] = sin(p·d_i), pe[p, 2i+1] = cos(p·d_i). */
export function sinusoidalTable(embed_dim: number, max_seq_length: number): Float32Array {
  const pe = new Float32Array(max_seq_length * embed_dim);
  for (let i = 0; 2 * i < embed_dim; i++) {
    // div_term = exp(arange(0, D, 2) · (−ln(10000) / D)), in float32 like torch
    const div = Math.fround(Math.exp(Math.fround(2 * i * Math.fround(-Math.log(10000) / embed_dim))));
    for (let p = 0; p < max_seq_length; p++) {
      const a = Math.fround(p * div);
      pe[p * embed_dim + 2 * i] = Math.sin(a);
      if (2 * i + 1 < embed_dim) pe[p * embed_dim + 2 * i + 1] = Math.cos(a);
    }
  }
  return pe;
}

/**
 * Mirrors diffusers `SinusoidalPositionalEmbedding` (AnimateDiff motion modules). `pe` [1, max_seq_length, D] is a
 * persistent buffer, so it is a checkpoint key (`…pos_embed.pe`); when a pack lacks it, the table is recomputed.
 */
export class SinusoidalPositionalEmbedding {
  readonly pe: Param;
  constructor(
    readonly embed_dim: number,
    readonly max_seq_length = 32,
  ) {
    this.pe = new Param([1, max_seq_length, embed_dim], {
      buffer: true,
      optional: true,
      init: () => sinusoidalTable(embed_dim, max_seq_length),
    });
  }
  /** x [N, L, D] → x + pe[:, :L] */
  forward<T>(ops: Ops<T>, x: T): T {
    const l = ops.shape(x)[1];
    if (l > this.max_seq_length)
      throw new RangeError(
        `sequence of ${l} exceeds the positional table (max_seq_length ${this.max_seq_length})`,
      );
    return ops.add(x, ops.slice(ops.param(this.pe), 1, 0, l));
  }
}
