/**
 * The tfjs executor: eager tensors with autodiff. tfjs-backend-webgpu in the browser, the cpu (or wasm)
 * backend in Node. Used on every gradient path (guidance, prompt tuning, training).
 *
 * Layout: model code is channels-first (torch). tfjs convolutions are channels-last, so `conv` and
 * `convTranspose` transpose around the kernel. Lowerings that exist only because tfjs lacks a gradient:
 *  - dilated convolution → space-to-batch (reshape/transpose) + undilated conv (tfjs: "dilation rates greater
 *    than 1 are not yet supported in gradients"; DESIGN.md pitfalls);
 *  - 3-D convolution whose kernel equals its stride (ImageBind's PadIm2Video stem) → patchify + matmul (exact,
 *    and fast on every backend).
 */
import * as tf from "@tensorflow/tfjs-core";
// Gradients register against the core above; importing them first breaks flag evaluation in dev builds.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { UnsupportedError } from "../errors.js";
import {
  type AttentionOptions,
  broadcastShapes,
  type ConvOptions,
  type ConvTransposeOptions,
  convPads,
  type DType,
  normAxis,
  type Ops,
  perDim,
  type Shape,
  sizeOf,
} from "./ops.js";
import type { Param } from "./param.js";
import { registerFastCpuKernels } from "./tfjs_cpu.js";
import { linearWasm } from "./tfjs_wasm.js";

export type TfTensor = tf.Tensor;

export interface TfjsOpsOptions {
  /** Create parameters as tf.Variables (training). Default false: frozen constants. */
  trainable?: boolean;
  /** Honour `checkpoint` (recompute in the backward). Default true. */
  checkpointing?: boolean;
  /**
   * Attention score matrices larger than this many elements are computed in query chunks to bound memory
   * (exact: softmax is per query row). Default 2^26.
   */
  attentionChunkElements?: number;
}

function axesList(axes: number | readonly number[], rank: number): number[] {
  return (typeof axes === "number" ? [axes] : [...axes]).map((a) => normAxis(a, rank));
}

export class TfjsOps implements Ops<tf.Tensor> {
  readonly kind = "tfjs" as const;
  private readonly params = new Map<Param, { t: tf.Tensor; version: number }>();
  private readonly constants = new WeakMap<Float32Array | Int32Array, tf.Tensor>();
  private readonly constantList: tf.Tensor[] = [];
  /** Param (when not trainable) and constant tensors: leaves no gradient can flow into. */
  private readonly frozen = new WeakSet<tf.Tensor>();
  private readonly trainable: boolean;
  private readonly checkpointing: boolean;
  /** Spatially flipped, I/O-swapped kernels for the frozen-conv backward, per weight tensor. */
  private readonly flipped = new WeakMap<tf.Tensor, tf.Tensor4D>();
  private readonly chunkElements: number;

  constructor(opts: TfjsOpsOptions = {}) {
    registerFastCpuKernels();
    this.trainable = opts.trainable ?? false;
    this.checkpointing = opts.checkpointing ?? true;
    this.chunkElements = opts.attentionChunkElements ?? 2 ** 26;
  }

  shape(x: tf.Tensor): number[] {
    return [...x.shape];
  }

  dtype(x: tf.Tensor): DType {
    return x.dtype === "int32" || x.dtype === "bool" ? "int32" : "float32";
  }

  // --- leaves ------------------------------------------------------------------------------------------------

  param(p: Param): tf.Tensor {
    const hit = this.params.get(p);
    if (hit && hit.version === p.version) return hit.t;
    if (hit) hit.t.dispose();
    const data = p.values();
    const dtype = data instanceof Int32Array ? "int32" : "float32";
    const t = tf.tidy(() => {
      const v = tf.tensor(data, [...p.shape], dtype);
      return this.trainable && dtype === "float32" ? tf.variable(v, true, p.name || undefined) : v;
    });
    tf.keep(t);
    if (!(t instanceof tf.Variable)) this.frozen.add(t);
    this.params.set(p, { t, version: p.version });
    return t;
  }

  /** The tf.Variables of trainable params (for optimisers); empty when frozen. */
  variables(): Map<Param, tf.Variable> {
    const out = new Map<Param, tf.Variable>();
    for (const [p, { t }] of this.params) if (t instanceof tf.Variable) out.set(p, t);
    return out;
  }

  /** Copy trained values back into the params' host arrays. */
  async syncParamsToHost(): Promise<void> {
    for (const [p, { t }] of this.params) {
      const v = await t.data();
      p.data = v instanceof Int32Array ? v : new Float32Array(v as Float32Array);
      this.params.set(p, { t, version: p.version });
    }
  }

  /**
   * Constants are cached by array identity, so model code that memoises its tables (DFT bases, masks) uploads
   * them once per executor.
   */
  constant(data: Float32Array | Int32Array, shape: Shape): tf.Tensor {
    const hit = this.constants.get(data);
    if (hit && !hit.isDisposed) return hit;
    const t = tf.keep(tf.tensor(data, [...shape], data instanceof Int32Array ? "int32" : "float32"));
    this.frozen.add(t);
    this.constants.set(data, t);
    this.constantList.push(t);
    return t;
  }

  /** Free every cached parameter and constant tensor. */
  dispose(): void {
    for (const { t } of this.params.values()) t.dispose();
    this.params.clear();
    for (const t of this.constantList) t.dispose();
    this.constantList.length = 0;
  }

  // --- elementwise -------------------------------------------------------------------------------------------

  private rhs(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return typeof b === "number" ? tf.scalar(b, a.dtype === "int32" ? "int32" : "float32") : b;
  }
  add(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return tf.add(a, this.rhs(a, b));
  }
  sub(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return tf.sub(a, this.rhs(a, b));
  }
  mul(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return tf.mul(a, this.rhs(a, b));
  }
  div(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return a.dtype === "int32" ? tf.floorDiv(a, this.rhs(a, b)) : tf.div(a, this.rhs(a, b));
  }
  pow(a: tf.Tensor, p: number): tf.Tensor {
    if (p === 2) return tf.square(a);
    if (p === 1) return a;
    if (p === 0.5) return tf.sqrt(a);
    return tf.pow(a, tf.scalar(p));
  }
  maximum(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return tf.maximum(a, this.rhs(a, b));
  }
  minimum(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return tf.minimum(a, this.rhs(a, b));
  }
  neg(x: tf.Tensor): tf.Tensor {
    return tf.neg(x);
  }
  exp(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
  log(x: tf.Tensor): tf.Tensor {
    return tf.log(x);
  }
  sqrt(x: tf.Tensor): tf.Tensor {
    return tf.sqrt(x);
  }
  abs(x: tf.Tensor): tf.Tensor {
    return tf.abs(x);
  }
  tanh(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  sigmoid(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
  relu(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
  erf(x: tf.Tensor): tf.Tensor {
    return tf.erf(x);
  }
  sin(x: tf.Tensor): tf.Tensor {
    return tf.sin(x);
  }
  cos(x: tf.Tensor): tf.Tensor {
    return tf.cos(x);
  }
  leakyRelu(x: tf.Tensor, alpha: number): tf.Tensor {
    return tf.leakyRelu(x, alpha);
  }

  // --- reductions --------------------------------------------------------------------------------------------

  sum(x: tf.Tensor, axes: number | readonly number[], keepDims = false): tf.Tensor {
    return tf.sum(x, axesList(axes, x.rank), keepDims);
  }
  mean(x: tf.Tensor, axes: number | readonly number[], keepDims = false): tf.Tensor {
    return tf.mean(x, axesList(axes, x.rank), keepDims);
  }
  max(x: tf.Tensor, axes: number | readonly number[], keepDims = false): tf.Tensor {
    return tf.max(x, axesList(axes, x.rank), keepDims);
  }
  softmax(x: tf.Tensor, axis = -1): tf.Tensor {
    const a = normAxis(axis, x.rank);
    if (a === x.rank - 1) return tf.softmax(x);
    const perm = [...Array(x.rank).keys()];
    perm[a] = x.rank - 1;
    perm[x.rank - 1] = a;
    return tf.transpose(tf.softmax(tf.transpose(x, perm)), perm);
  }
  argmax(x: tf.Tensor, axis: number): tf.Tensor {
    return tf.argMax(x, normAxis(axis, x.rank));
  }

  // --- linear algebra ----------------------------------------------------------------------------------------

  matmul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    if (a.rank < 2 || b.rank < 2) throw new RangeError("matmul needs rank ≥ 2 operands");
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) throw new RangeError(`matmul inner dims differ: [${a.shape}] @ [${b.shape}]`);
    if (b.rank === 2) {
      // [..., m, k] @ [k, n]: one 2-D product.
      const y = tf.matMul(tf.reshape(a, [-1, k]), b);
      return tf.reshape(y, [...a.shape.slice(0, -2), m, n]);
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const nb = sizeOf(batch);
    const a3 = tf.reshape(tf.broadcastTo(a, [...batch, m, k]), [nb, m, k]);
    const b3 = tf.reshape(tf.broadcastTo(b, [...batch, k, n]), [nb, k, n]);
    return tf.reshape(tf.matMul(a3, b3), [...batch, m, n]);
  }

  linear(x: tf.Tensor, weight: Param, bias: Param | null): tf.Tensor {
    const [out, inF] = weight.shape;
    const lead = x.shape.slice(0, -1);
    if (x.shape[x.rank - 1] !== inF)
      throw new RangeError(`linear ${weight.name}: input [${x.shape}] vs weight [${weight.shape}]`);
    const w = this.param(weight) as tf.Tensor2D;
    const x2 = tf.reshape(x, [-1, inF]) as tf.Tensor2D;
    // wasm: x·Wᵀ with transposeB misses XNNPACK (~10× slower); see tfjs_wasm.ts
    let y: tf.Tensor =
      tf.getBackend() === "wasm" && this.frozen.has(w) ? linearWasm(x2, w) : tf.matMul(x2, w, false, true);
    if (bias) y = tf.add(y, this.param(bias));
    return tf.reshape(y, [...lead, out]);
  }

  conv(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, opts: ConvOptions = {}): tf.Tensor {
    const dims = x.rank - 2;
    const stride = perDim(opts.stride, dims, 1);
    const dilation = perDim(opts.dilation, dims, 1);
    const pads = convPads(opts.padding, dims);
    const groups = opts.groups ?? 1;
    if (w.rank !== x.rank) throw new RangeError(`conv weight rank ${w.rank} vs input rank ${x.rank}`);
    let y: tf.Tensor;
    if (dims === 3) y = this.conv3d(x, w, stride, dilation, pads, groups);
    else if (
      (dims === 2 || dims === 1) &&
      groups === 1 &&
      stride.every((v) => v === 1) &&
      this.frozen.has(w) &&
      tf.getBackend() !== "cpu"
    ) {
      const to4 = (t: tf.Tensor) => (dims === 1 ? tf.expandDims(t, 2) : t) as tf.Tensor4D;
      const pads2: [number, number][] = dims === 1 ? [[0, 0], pads[0]] : pads;
      const d2 = (dims === 1 ? [1, dilation[0]] : dilation) as [number, number];
      y = this.conv2dFrozen(to4(x), to4(w), w, d2, pads2);
      if (dims === 1) y = tf.squeeze(y, [2]);
    } else if (dims === 2 || dims === 1) {
      let xs = pads.some(([p, q]) => p || q) ? tf.pad(x, [[0, 0], [0, 0], ...pads]) : x;
      let ws = w;
      if (dims === 1) {
        xs = tf.expandDims(xs, 2); // [N, C, 1, L]
        ws = tf.expandDims(ws, 2); // [O, C/g, 1, k]
      }
      const s2 = dims === 1 ? [1, stride[0]] : stride;
      const d2 = dims === 1 ? [1, dilation[0]] : dilation;
      y = this.conv2dValid(
        xs as tf.Tensor4D,
        ws as tf.Tensor4D,
        s2 as [number, number],
        d2 as [number, number],
        groups,
        this.frozen.has(w),
      );
      if (dims === 1) y = tf.squeeze(y, [2]);
    } else throw new UnsupportedError(`conv of rank ${x.rank} is not supported`);
    if (b) y = tf.add(y, tf.reshape(b, [1, -1, ...new Array(dims).fill(1)]));
    return y;
  }

  /**
   * Stride-1 conv with a frozen weight (wasm/WebGPU): the guidance path's workhorse (VAE decoder, vocoder).
   * Forward: one native conv with native dilation (no lowering copies). Backward: only dx is needed, and it is a
   * forward conv too — dy padded by (k−1)·d − p on each side, correlated with the spatially flipped kernel with
   * input/output channels swapped, same dilation. This keeps the backward on the fast conv kernels (tfjs-wasm's
   * Conv2DBackpropInput is a naive loop: 88% of a vocoder gradient's time) and saves nothing for the backward
   * but the weight. Checked against the generic path and a float64 reference in tfjs.test.ts.
   */
  private conv2dFrozen(
    x: tf.Tensor4D,
    w: tf.Tensor4D,
    key: tf.Tensor,
    dilation: [number, number],
    pads: [number, number][],
  ): tf.Tensor {
    const [, , kh, kw] = w.shape;
    const [dh, dw] = dilation;
    const run = (t: tf.Tensor4D, filter: tf.Tensor4D, p: [number, number][]) => {
      // negative padding crops
      const crop = p.map(([a, b]) => [Math.max(0, -a), Math.max(0, -b)]);
      let xin: tf.Tensor4D = t;
      if (p.some(([a, b]) => a > 0 || b > 0))
        xin = tf.pad(xin, [
          [0, 0],
          [0, 0],
          [Math.max(0, p[0][0]), Math.max(0, p[0][1])],
          [Math.max(0, p[1][0]), Math.max(0, p[1][1])],
        ]);
      if (crop.some(([a, b]) => a || b)) {
        const [n, c, h, wd] = xin.shape;
        xin = tf.slice(
          xin,
          [0, 0, crop[0][0], crop[1][0]],
          [n, c, h - crop[0][0] - crop[0][1], wd - crop[1][0] - crop[1][1]],
        );
      }
      const yh = tf.conv2d(tf.transpose(xin, [0, 2, 3, 1]) as tf.Tensor4D, filter, 1, "valid", "NHWC", [
        dh,
        dw,
      ]);
      return tf.transpose(yh, [0, 3, 1, 2]);
    };
    const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.tidy(() => run(args[0] as tf.Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, pads)),
      gradFunc: (dy: tf.Tensor) =>
        tf.tidy(() => {
          // [O, C, kh, kw] → flipped HWIO with in = O, out = C (cached per weight: weights are frozen)
          let back = this.flipped.get(key);
          if (!back || back.isDisposed) {
            back = tf.keep(tf.reverse(tf.transpose(w, [2, 3, 0, 1]), [0, 1]) as tf.Tensor4D);
            this.flipped.set(key, back);
            this.constantList.push(back);
          }
          const q: [number, number][] = [
            [(kh - 1) * dh - pads[0][0], (kh - 1) * dh - pads[0][1]],
            [(kw - 1) * dw - pads[1][0], (kw - 1) * dw - pads[1][1]],
          ];
          return run(dy as tf.Tensor4D, back!, q);
        }),
    }));
    return conv(x);
  }

  /** 2-D conv, channels-first in and out, no padding; dilation lowered to space-to-batch. */
  private conv2dValid(
    x: tf.Tensor4D,
    w: tf.Tensor4D,
    stride: [number, number],
    dilation: [number, number],
    groups: number,
    frozenWeight = false,
  ): tf.Tensor {
    const [n, c, h, wd] = x.shape;
    const [o, cg, kh, kw] = w.shape;
    if (dilation[0] > 1 || dilation[1] > 1) {
      if (stride[0] !== 1 || stride[1] !== 1)
        throw new UnsupportedError("dilated conv with stride > 1 is not supported");
      const [dh, dw] = dilation;
      const oh = h - (kh - 1) * dh;
      const ow = wd - (kw - 1) * dw;
      // Pad H, W up to multiples of the dilation, split each into (blocks, phase), fold phases into the batch.
      const hp = Math.ceil(h / dh) * dh;
      const wp = Math.ceil(wd / dw) * dw;
      let xs: tf.Tensor =
        hp !== h || wp !== wd
          ? tf.pad(x, [
              [0, 0],
              [0, 0],
              [0, hp - h],
              [0, wp - wd],
            ])
          : x;
      xs = tf.reshape(xs, [n, c, hp / dh, dh, wp / dw, dw]);
      xs = tf.transpose(xs, [3, 5, 0, 1, 2, 4]); // [dh, dw, N, C, H/dh, W/dw]
      xs = tf.reshape(xs, [dh * dw * n, c, hp / dh, wp / dw]);
      let y = this.conv2dValid(xs as tf.Tensor4D, w, [1, 1], [1, 1], groups, frozenWeight); // [dh*dw*N, O, H/dh-kh+1, W/dw-kw+1]
      const bh = hp / dh - kh + 1;
      const bw = wp / dw - kw + 1;
      y = tf.reshape(y, [dh, dw, n, o, bh, bw]);
      y = tf.transpose(y, [2, 3, 4, 0, 5, 1]); // [N, O, bh, dh, bw, dw]
      y = tf.reshape(y, [n, o, bh * dh, bw * dw]);
      return tf.slice(y, [0, 0, 0, 0], [n, o, oh, ow]);
    }
    if (groups === 1 && tf.getBackend() === "cpu") {
      if (cg !== c) throw new RangeError(`conv weight expects ${cg} input channels, input has ${c}`);
      return this.conv2dIm2col(x, w, stride, frozenWeight);
    }
    const xh = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D; // NHWC
    let y: tf.Tensor4D;
    if (groups === 1) {
      if (cg !== c) throw new RangeError(`conv weight expects ${cg} input channels, input has ${c}`);
      y = tf.conv2d(xh, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, stride, "valid");
    } else if (groups === c && cg === 1 && o % c === 0) {
      // depthwise: tfjs filter [kh, kw, C, multiplier]
      const f = tf.transpose(tf.reshape(w, [c, o / c, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(xh, f, stride, "valid");
    } else
      throw new UnsupportedError(`grouped conv (groups=${groups}) is not supported by the tfjs executor`);
    return tf.transpose(y, [0, 3, 1, 2]);
  }

  /**
   * Precision lowering for the cpu backend: its Conv2D kernel adds the C·kh·kw products of every output one by
   * one into a Float32Array (tfjs-backend-cpu kernels/Conv2D.js), ~6× further from a float64 reference than
   * torch's CPU convs; BatchMatMul sums 48-term blocks in float64 (kernels/BatchMatMul.js). So on cpu the
   * forward is im2col + one matMul. It matters on gradient paths with kinks: the hifigan golden has a resblock
   * activation of 5e-7 whose sign the direct kernel gets wrong, which moves d waveform/d mel by 1e-3.
   * Backward: with a frozen weight (params, constants) only dx is ever needed, and the native
   * Conv2DBackpropInput kernel (float64 dot products, no columns kept) gives it through a custom gradient;
   * otherwise the im2col graph itself is differentiated (slices; tfjs has no StridedSlice gradient).
   */
  private conv2dIm2col(x: tf.Tensor4D, w: tf.Tensor4D, stride: [number, number], frozenWeight: boolean) {
    if (!frozenWeight) return this.im2colMatMul(x, w, stride);
    const [n, c, h, wd] = x.shape;
    const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: this.im2colMatMul(args[0] as tf.Tensor4D, w, stride),
      gradFunc: (dy: tf.Tensor) => {
        const dx = tf.conv2dTranspose(
          tf.transpose(dy, [0, 2, 3, 1]) as tf.Tensor4D,
          tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D,
          [n, h, wd, c],
          stride,
          "valid",
        );
        return tf.transpose(dx, [0, 3, 1, 2]);
      },
    }));
    return conv(x);
  }

  /** y[N, O, oh, ow] = W[O, C·kh·kw] @ columns[C·kh·kw, N·oh·ow] (valid padding). */
  private im2colMatMul(x: tf.Tensor4D, w: tf.Tensor4D, stride: [number, number]): tf.Tensor {
    const [n, c, h, wd] = x.shape;
    const [o, , kh, kw] = w.shape;
    const [sh, sw] = stride;
    const oh = Math.floor((h - kh) / sh) + 1;
    const ow = Math.floor((wd - kw) / sw) + 1;
    const needH = kh - 1 + oh * sh;
    const needW = kw - 1 + ow * sw;
    const xp =
      needH > h || needW > wd
        ? tf.pad(x, [
            [0, 0],
            [0, 0],
            [0, Math.max(0, needH - h)],
            [0, Math.max(0, needW - wd)],
          ])
        : x;
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        let t: tf.Tensor = tf.slice(xp, [0, 0, i, j], [n, c, oh * sh, ow * sw]);
        if (sh > 1 || sw > 1)
          t = tf.slice(tf.reshape(t, [n * c, oh, sh, ow, sw]), [0, 0, 0, 0, 0], [n * c, oh, 1, ow, 1]);
        taps.push(tf.reshape(t, [n, c, oh * ow]));
      }
    }
    // [N, C, kh·kw, P] → [C, kh·kw, N, P]: rows ordered like the flattened weight [O, C·kh·kw].
    const cols = tf.reshape(tf.transpose(tf.stack(taps, 2), [1, 2, 0, 3]), [c * kh * kw, n * oh * ow]);
    const y = tf.matMul(tf.reshape(w, [o, c * kh * kw]), cols); // [O, N·P]
    return tf.transpose(tf.reshape(y, [o, n, oh, ow]), [1, 0, 2, 3]);
  }

  private conv3d(
    x: tf.Tensor,
    w: tf.Tensor,
    stride: number[],
    dilation: number[],
    pads: [number, number][],
    groups: number,
  ): tf.Tensor {
    const [n, c, d, h, wd] = x.shape;
    const [o, , kd, kh, kw] = w.shape;
    const patchify =
      groups === 1 &&
      stride[0] === kd &&
      stride[1] === kh &&
      stride[2] === kw &&
      dilation.every((v) => v === 1) &&
      pads.every(([p, q]) => p === 0 && q === 0) &&
      d % kd === 0 &&
      h % kh === 0 &&
      wd % kw === 0;
    if (patchify) {
      // Non-overlapping patches: [N, C, D, H, W] → [N·D'·H'·W', C·kd·kh·kw] @ Wᵀ. Ranks kept ≤ 6 for every backend.
      const [dd, hh, ww] = [d / kd, h / kh, wd / kw];
      let t = tf.reshape(x, [n * c * d, hh, kh, ww, kw]);
      t = tf.transpose(t, [0, 1, 3, 2, 4]); // [N·C·D, H', W', kh, kw]
      t = tf.reshape(t, [n, c, dd, kd, hh * ww, kh * kw]);
      t = tf.transpose(t, [0, 2, 4, 1, 3, 5]); // [N, D', H'W', C, kd, kh·kw]
      t = tf.reshape(t, [n * dd * hh * ww, c * kd * kh * kw]);
      const y = tf.matMul(t, tf.reshape(w, [o, -1]), false, true); // [N·D'H'W', O]
      return tf.transpose(tf.reshape(y, [n, dd, hh, ww, o]), [0, 4, 1, 2, 3]);
    }
    if (groups !== 1 || dilation.some((v) => v !== 1))
      throw new UnsupportedError("grouped or dilated conv3d is not supported");
    const xp = pads.some(([p, q]) => p || q) ? tf.pad(x, [[0, 0], [0, 0], ...pads]) : x;
    const y = tf.conv3d(
      tf.transpose(xp, [0, 2, 3, 4, 1]) as tf.Tensor5D,
      tf.transpose(w, [2, 3, 4, 1, 0]) as tf.Tensor5D,
      stride as [number, number, number],
      "valid",
    );
    return tf.transpose(y, [0, 4, 1, 2, 3]);
  }

  convTranspose(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, opts: ConvTransposeOptions = {}): tf.Tensor {
    const dims = x.rank - 2;
    if (dims !== 1 && dims !== 2)
      throw new UnsupportedError(`convTranspose of rank ${x.rank} is not supported`);
    const stride = perDim(opts.stride, dims, 1);
    const padding = perDim(opts.padding, dims, 0);
    const outPad = perDim(opts.outputPadding, dims, 0);
    let xs = x;
    let ws = w;
    if (dims === 1) {
      xs = tf.expandDims(x, 2);
      ws = tf.expandDims(w, 2);
      stride.unshift(1);
      padding.unshift(0);
      outPad.unshift(0);
    }
    const [n, cin, h, wd] = xs.shape;
    const [cin2, cout, kh, kw] = ws.shape;
    if (cin !== cin2)
      throw new RangeError(`convTranspose weight expects ${cin2} input channels, input has ${cin}`);
    const fullH = (h - 1) * stride[0] + kh;
    const fullW = (wd - 1) * stride[1] + kw;
    // tfjs filter for conv2dTranspose: [kh, kw, outC, inC]
    let y: tf.Tensor = tf.conv2dTranspose(
      tf.transpose(xs, [0, 2, 3, 1]) as tf.Tensor4D,
      tf.transpose(ws, [2, 3, 1, 0]) as tf.Tensor4D,
      [n, fullH, fullW, cout],
      [stride[0], stride[1]],
      "valid",
    );
    y = tf.transpose(y, [0, 3, 1, 2]);
    // torch: out = full[p : p + (L-1)s - 2p + k + op], zero-extended past the full output.
    const outH = fullH - 2 * padding[0] + outPad[0];
    const outW = fullW - 2 * padding[1] + outPad[1];
    const takeH = Math.min(outH, fullH - padding[0]);
    const takeW = Math.min(outW, fullW - padding[1]);
    y = tf.slice(y, [0, 0, padding[0], padding[1]], [n, cout, takeH, takeW]);
    if (takeH < outH || takeW < outW)
      y = tf.pad(y, [
        [0, 0],
        [0, 0],
        [0, outH - takeH],
        [0, outW - takeW],
      ]);
    if (b) y = tf.add(y, tf.reshape(b, [1, -1, 1, 1]));
    return dims === 1 ? tf.squeeze(y, [2]) : y;
  }

  layerNorm(
    x: tf.Tensor,
    weight: tf.Tensor | null,
    bias: tf.Tensor | null,
    eps: number,
    axis = -1,
  ): tf.Tensor {
    const a = normAxis(axis, x.rank);
    const axes = [...Array(x.rank - a).keys()].map((i) => i + a);
    const mu = tf.mean(x, axes, true);
    const d = tf.sub(x, mu);
    const variance = tf.mean(tf.square(d), axes, true);
    let y = tf.mul(d, tf.rsqrt(tf.add(variance, tf.scalar(eps))));
    if (weight) y = tf.mul(y, weight);
    if (bias) y = tf.add(y, bias);
    return y;
  }

  attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: AttentionOptions<tf.Tensor>): tf.Tensor {
    const [b, h, lq, d] = q.shape as number[];
    const lk = k.shape[2] as number;
    const dv = v.shape[3] as number;
    const q3 = tf.reshape(q, [b * h, lq, d]);
    const k3 = tf.reshape(k, [b * h, lk, d]);
    const v3 = tf.reshape(v, [b * h, lk, dv]);
    const bias = opts.bias;
    const block = (qs: tf.Tensor3D, start: number, len: number) => {
      let s: tf.Tensor = tf.mul(tf.matMul(qs, k3, false, true), tf.scalar(opts.scale));
      if (bias) {
        const bb = tf.broadcastTo(bias, [b, h, lq, lk]);
        const part = len === lq ? bb : tf.slice(bb, [0, 0, start, 0], [b, h, len, lk]);
        s = tf.add(s, tf.reshape(part, [b * h, len, lk]));
      }
      return tf.matMul(tf.softmax(s), v3);
    };
    const rowsPerChunk = Math.max(1, Math.floor(this.chunkElements / (b * h * lk)));
    let out: tf.Tensor;
    if (rowsPerChunk >= lq) out = block(q3 as tf.Tensor3D, 0, lq);
    else {
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < lq; s += rowsPerChunk) {
        const len = Math.min(rowsPerChunk, lq - s);
        parts.push(block(tf.slice(q3, [0, s, 0], [b * h, len, d]) as tf.Tensor3D, s, len));
      }
      out = tf.concat(parts, 1);
    }
    return tf.reshape(out, [b, h, lq, dv]);
  }

  // --- layout ------------------------------------------------------------------------------------------------

  reshape(x: tf.Tensor, shape: Shape): tf.Tensor {
    return tf.reshape(x, [...shape]);
  }
  transpose(x: tf.Tensor, perm: readonly number[]): tf.Tensor {
    return tf.transpose(x, [...perm]);
  }
  slice(x: tf.Tensor, axis: number, start: number, end: number): tf.Tensor {
    const a = normAxis(axis, x.rank);
    const n = x.shape[a];
    const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const e = Math.min(Math.max(end < 0 ? end + n : end, s), n);
    const begin = new Array(x.rank).fill(0);
    const size = [...x.shape];
    begin[a] = s;
    size[a] = e - s;
    return tf.slice(x, begin, size);
  }
  concat(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
    if (xs.length === 1) return xs[0];
    return tf.concat([...xs], normAxis(axis, xs[0].rank));
  }
  pad(x: tf.Tensor, pads: readonly (readonly [number, number])[], value = 0): tf.Tensor {
    return tf.pad(
      x,
      pads.map(([p, q]) => [p, q] as [number, number]),
      value,
    );
  }
  gather(x: tf.Tensor, indices: tf.Tensor, axis: number): tf.Tensor {
    return tf.gather(x, indices, normAxis(axis, x.rank));
  }
  broadcastTo(x: tf.Tensor, shape: Shape): tf.Tensor {
    if (x.shape.join() === shape.join()) return x;
    // tfjs implements broadcastTo with tile, whose gradient exists only up to rank 4; an add of zeros
    // broadcasts the same way with a gradient (a sum over the broadcast axes) at any rank.
    if (shape.length > 4) return tf.add(x, tf.zeros([...shape], x.dtype));
    return tf.broadcastTo(x, [...shape]);
  }
  /**
   * Gradient checkpointing: the forward runs as one custom op whose intermediates are freed at once (only `x`
   * is kept); the backward recomputes `f` under a fresh tape and pulls dy back through it. Peak memory of a
   * chain of checkpointed blocks is then the block inputs plus one block's intermediates. Trainable executors
   * skip it (the custom op would hide the weights' gradients).
   */
  checkpoint(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): tf.Tensor {
    if (this.trainable || !this.checkpointing) return f(x);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xin = args[0] as tf.Tensor;
      (args[args.length - 1] as tf.GradSaveFunc)([xin]);
      return {
        value: tf.tidy(() => f(xin)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          withInnerTape(() => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), dy)))(saved[0])),
      };
    });
    return op(x);
  }

  cast(x: tf.Tensor, dtype: DType): tf.Tensor {
    return tf.cast(x, dtype);
  }
}

/**
 * Runs a gradient computation inside another one's backward pass (gradient checkpointing). tfjs 4.22's engine
 * keeps ONE active tape: an inner `gradients()` started while the outer backward runs (gradient depth 0)
 * replaces it and finally sets it to null, so the outer pass would crash disposing its saved tensors. The
 * outer tape is kept aside and put back; the inner pass frees its own saved tensors as usual.
 */
function withInnerTape(f: () => tf.Tensor): tf.Tensor {
  const state = (tf.engine() as unknown as { state: { activeTape: unknown[] | null } }).state;
  const outer = state.activeTape;
  try {
    return tf.tidy(f);
  } finally {
    state.activeTape = outer;
  }
}

/** Value and gradients of a scalar function of several tensors (no gradient flows into frozen params). */
export function valueAndGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: readonly tf.Tensor[],
): { value: tf.Tensor; grads: tf.Tensor[] } {
  const { value, grads } = tf.valueAndGrads(f)([...xs]);
  return { value, grads };
}

/** Read a tensor to a host Float32Array (float tensors) or Int32Array (integer tensors). */
export async function readTensor(x: tf.Tensor): Promise<Float32Array | Int32Array> {
  const d = await x.data();
  return d instanceof Int32Array ? d : d instanceof Float32Array ? d : Float32Array.from(d as Uint8Array);
}

export { tf };
