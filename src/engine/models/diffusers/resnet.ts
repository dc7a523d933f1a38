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
export function nearestIndex(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++)
    idx[i] = outSize === 2 * inSize ? i >> 1 : Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  return idx;
}

/**
 * One-hot selection matrix S [out, in] with S[i, nearestIndex[i]] = 1, so that a resize is S · x along an axis;
 * `transposed` gives Sᵀ [in, out] (for the last axis, x · Sᵀ).
 */
function selection(inSize: number, outSize: number, transposed: boolean): Float32Array {
  const s = new Float32Array(outSize * inSize);
  nearestIndex(inSize, outSize).forEach((j, i) => {
    s[transposed ? j * outSize + i : i * inSize + j] = 1;
  });
  return s;
}

/**
 * F.interpolate(x, size, mode="nearest") for x [N, C, H, W], written without gather (tfjs-backend-wasm has no
 * gather gradient):
 *  - ×2 (no `size`, or size 2·in) is a reshape + broadcast (rank 4, so every executor has a cheap gradient);
 *  - 2·in − 1 (what diffusers forwards as `upsample_size` when a stride-2 conv rounded up, e.g. AudioLDM's
 *    250-frame latents: 32 → 63 → 125) is torch's map floor(i·in/(2in−1)) = i >> 1, i.e. ×2 and drop the last;
 *  - any other size multiplies by one-hot selection matrices (constant, memoised in `cache`).
 */
export function upsampleNearest<T>(
  ops: Ops<T>,
  x: T,
  size: readonly [number, number] | null = null,
  cache: Map<string, Float32Array> = new Map(),
): T {
  const [n, c, h, w] = ops.shape(x);
  const [oh, ow] = size ?? [2 * h, 2 * w];
  const near2 = (o: number, i: number) => o === 2 * i || o === 2 * i - 1;
  if (near2(oh, h) && near2(ow, w)) {
    const r = ops.broadcastTo(ops.reshape(x, [n * c * h, 1, w, 1]), [n * c * h, 2, w, 2]);
    let y = ops.reshape(r, [n, c, 2 * h, 2 * w]);
    if (oh < 2 * h) y = ops.slice(y, 2, 0, oh);
    if (ow < 2 * w) y = ops.slice(y, 3, 0, ow);
    return y;
  }
  const table = (from: number, to: number, transposed: boolean) => {
    const key = `${from}:${to}:${transposed}`;
    let s = cache.get(key);
    if (!s) {
      s = selection(from, to, transposed);
      cache.set(key, s);
    }
    return ops.constant(s, transposed ? [from, to] : [to, from]);
  };
  let y = x;
  if (ow !== w) y = ops.matmul(y, table(w, ow, true)); // [N, C, H, W] · [W, OW]
  if (oh !== h) y = ops.matmul(table(h, oh, false), y); // [OH, H] · [N, C, H, OW]
  return y;
}

/** Mirrors diffusers `Upsample2D(use_conv=True)`: nearest ×2 (or to `output_size`), then a 3×3 conv. */
export class Upsample2D {
  readonly conv: Conv;
  /** Memoised selection matrices per (in, out) size, so an executor uploads each table once. */
  private readonly _tables = new Map<string, Float32Array>();
  constructor(channels: number, out_channels: number | null = null) {
    this.conv = Conv2d(channels, out_channels ?? channels, 3, { padding: 1 });
  }
  forward<T>(ops: Ops<T>, x: T, output_size: readonly [number, number] | null = null): T {
    return this.conv.forward(ops, upsampleNearest(ops, x, output_size, this._tables));
  }
}
