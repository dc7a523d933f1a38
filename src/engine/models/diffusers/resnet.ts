/**
 * ResnetBlock2D, Downsample2D, Upsample2D (mirror diffusers models/resnet.py, downsampling.py, upsampling.py
 * v0.26.3; the same classes as v0.21.1's resnet.py for the options used here). Feature maps are [N, C, H, W].
 */
import { type ActivationName, activation } from "../../nn/activations.js";
import { type Conv, Conv2d, GroupNorm, Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";

export type TimeEmbeddingNorm = "default" | "scale_shift";

export interface ResnetBlock2DOptions {
  in_channels: number;
  out_channels?: number | null;
  /** null: no `time_emb_proj` (VAE blocks). */
  temb_channels: number | null;
  groups?: number;
  groups_out?: number | null;
  eps?: number;
  non_linearity?: ActivationName;
  time_embedding_norm?: TimeEmbeddingNorm;
  output_scale_factor?: number;
  skip_time_act?: boolean;
  conv_shortcut_bias?: boolean;
}

/** Mirrors diffusers `ResnetBlock2D` (pre-norm, no up/down, no FIR kernels; dropout is inactive in eval). */
export class ResnetBlock2D {
  readonly norm1: GroupNorm;
  readonly conv1: Conv;
  readonly time_emb_proj: Linear | null;
  readonly norm2: GroupNorm;
  readonly conv2: Conv;
  /** 1×1 conv when in_channels ≠ out_channels. */
  readonly conv_shortcut: Conv | null;
  private readonly _act: ActivationName;
  private readonly _norm: TimeEmbeddingNorm;
  private readonly _scale: number;
  private readonly _skipTimeAct: boolean;

  constructor(o: ResnetBlock2DOptions) {
    const cin = o.in_channels;
    const cout = o.out_channels ?? cin;
    const groups = o.groups ?? 32;
    const eps = o.eps ?? 1e-6;
    this._act = o.non_linearity ?? "silu";
    this._norm = o.time_embedding_norm ?? "default";
    this._scale = o.output_scale_factor ?? 1;
    this._skipTimeAct = o.skip_time_act ?? false;
    this.norm1 = new GroupNorm(groups, cin, eps);
    this.conv1 = Conv2d(cin, cout, 3, { padding: 1 });
    this.time_emb_proj =
      o.temb_channels === null
        ? null
        : new Linear(o.temb_channels, this._norm === "scale_shift" ? 2 * cout : cout);
    this.norm2 = new GroupNorm(o.groups_out ?? groups, cout, eps);
    this.conv2 = Conv2d(cout, cout, 3, { padding: 1 });
    this.conv_shortcut = cin !== cout ? Conv2d(cin, cout, 1, { bias: o.conv_shortcut_bias ?? true }) : null;
  }

  /** x [N, C_in, H, W], temb [N, temb_channels] or null → [N, C_out, H, W] */
  forward<T>(ops: Ops<T>, x: T, temb: T | null): T {
    let h = activation(ops, this._act, this.norm1.forward(ops, x));
    h = this.conv1.forward(ops, h);
    let t: T | null = null;
    if (this.time_emb_proj && temb) {
      const e = this.time_emb_proj.forward(ops, this._skipTimeAct ? temb : activation(ops, this._act, temb));
      const [n, c] = ops.shape(e);
      t = ops.reshape(e, [n, c, 1, 1]);
    }
    if (this._norm === "scale_shift") {
      if (!t) throw new RangeError("ResnetBlock2D: time_embedding_norm scale_shift needs a time embedding");
      const c = ops.shape(t)[1] / 2;
      h = this.norm2.forward(ops, h);
      h = ops.add(ops.mul(h, ops.add(ops.slice(t, 1, 0, c), 1)), ops.slice(t, 1, c, 2 * c));
    } else {
      if (t) h = ops.add(h, t);
      h = this.norm2.forward(ops, h);
    }
    h = this.conv2.forward(ops, activation(ops, this._act, h));
    const skip = this.conv_shortcut ? this.conv_shortcut.forward(ops, x) : x;
    const y = ops.add(skip, h);
    return this._scale === 1 ? y : ops.div(y, this._scale);
  }
}

/**
 * Mirrors diffusers `Downsample2D(use_conv=True, name="op")`: a stride-2 3×3 conv. With `padding` 0 (VAE encoder)
 * upstream first pads (0, 1, 0, 1), i.e. one zero row/column at the bottom/right; we pass that as the conv's own
 * asymmetric padding.
 */
export class Downsample2D {
  readonly conv: Conv;
  constructor(channels: number, out_channels: number | null = null, padding = 1) {
    this.conv = Conv2d(channels, out_channels ?? channels, 3, {
      stride: 2,
      padding:
        padding === 0
          ? [
              [0, 1],
              [0, 1],
            ]
          : padding,
    });
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.conv.forward(ops, x);
  }
}

/** torch `nearest` source index for a resize in→out (ATen nearest_idx: ×2 is i>>1, else floor(i·(in/out)) in float). */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++)
    idx[i] = outSize === 2 * inSize ? i >> 1 : Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  return idx;
}

/**
 * F.interpolate(x, size, mode="nearest") for x [N, C, H, W]. An exact ×2 is a reshape + broadcast (rank 4, so
 * every executor has a cheap gradient); other sizes (AudioLDM latents whose length is not a multiple of 8, where
 * diffusers forwards `upsample_size`) gather rows and columns with torch's index rule.
 */
export function upsampleNearest<T>(
  ops: Ops<T>,
  x: T,
  size: readonly [number, number] | null = null,
  indexCache: Map<string, Int32Array> = new Map(),
): T {
  const [n, c, h, w] = ops.shape(x);
  const [oh, ow] = size ?? [2 * h, 2 * w];
  if (oh === 2 * h && ow === 2 * w) {
    const r = ops.broadcastTo(ops.reshape(x, [n * c * h, 1, w, 1]), [n * c * h, 2, w, 2]);
    return ops.reshape(r, [n, c, oh, ow]);
  }
  const take = (t: T, axis: number, from: number, to: number): T => {
    if (from === to) return t;
    const key = `${from}:${to}`;
    let idx = indexCache.get(key);
    if (!idx) {
      idx = nearestIndex(from, to);
      indexCache.set(key, idx);
    }
    return ops.gather(t, ops.constant(idx, [to]), axis);
  };
  return take(take(x, 2, h, oh), 3, w, ow);
}

/** Mirrors diffusers `Upsample2D(use_conv=True)`: nearest ×2 (or to `output_size`), then a 3×3 conv. */
export class Upsample2D {
  readonly conv: Conv;
  /** Memoised gather indices per (in, out) size, so an executor uploads each table once. */
  private readonly _indices = new Map<string, Int32Array>();
  constructor(channels: number, out_channels: number | null = null) {
    this.conv = Conv2d(channels, out_channels ?? channels, 3, { padding: 1 });
  }
  forward<T>(ops: Ops<T>, x: T, output_size: readonly [number, number] | null = null): T {
    return this.conv.forward(ops, upsampleNearest(ops, x, output_size, this._indices));
  }
}
