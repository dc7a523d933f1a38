/**
 * Reverse-mode differentiation of emitted ONNX graphs, so ONNX Runtime can run a backward pass.
 *
 * `OnnxGradTracer` is an `Ops` that records the forward on an `OnnxEmitter` (the same model code, unchanged)
 * and keeps a tape of the primitives that depend on a differentiable input. `gradients(y, wrt)` then walks the
 * tape backwards and emits each primitive's adjoint into the same graph, so one ONNX model returns the value
 * and ∂y/∂inputs:
 *
 *   const gt = new OnnxGradTracer(new OnnxEmitter());
 *   const x = gt.input("x0", [1, 8, 25, 16], { grad: true });
 *   const loss = lossOf(gt, x);                       // any model code written against Ops<T>
 *   const [dx] = gt.gradients(loss, [x]);
 *   gt.emitter.output("loss", loss); gt.emitter.output("grad", dx);
 *
 * Scope: gradients with respect to graph inputs. Weights are frozen initializers by default (the aligner never
 * trains them). For training (tools/train, `executor: "ort"`), `params` names the trainable parameters: each
 * becomes a differentiable graph INPUT named by its key (`p.name`), so the session is built once and the current
 * weights are fed every step, and `paramInputs()` lists the ones the forward read. Weight adjoints: linear
 * weight/bias, conv weight/bias (the filter gradient is a Conv with the batch and channel roles swapped),
 * convTranspose weight/bias, layerNorm affine, attention bias, a gathered parameter table (ScatterND add), and
 * any parameter that reaches the graph through the elementwise/layout primitives.
 * The adjoints follow tfjs's gradient conventions where there is a choice (max/maximum/minimum tie-breaking), so
 * the two executors agree on the same program. `checkpoint` records its body like any other code: ONNX Runtime
 * plans the graph's memory as a whole.
 *
 * The reference for every adjoint is tfjs's autodiff on the same `Ops` program (ops/onnx/grad.test.ts).
 */
import {
  type AttentionOptions,
  type ConvOptions,
  type ConvTransposeOptions,
  convPads,
  type DType,
  normAxis,
  type Ops,
  perDim,
  type Shape,
  sizeOf,
} from "../ops.js";
import type { Param } from "../param.js";
import type { OnnxEmitter, Sym } from "./emitter.js";

/** A traced tensor: an emitter symbol plus whether it depends on a differentiable input. */
export interface GSym extends Sym {
  readonly needsGrad: boolean;
}

interface TapeEntry {
  out: string;
  /** The recorded inputs (only differentiable ones get a gradient). */
  inputs: readonly GSym[];
  /** Input gradients in the order of `inputs` (null where none is needed). */
  backward: (g: Sym) => (Sym | null)[];
}

export interface GradTracerOptions {
  /**
   * Gradient checkpointing in the graph (default false): a `checkpoint(f, x)` body is recorded without a tape;
   * its backward re-emits f on a copy of x that depends on the incoming gradient (so ONNX Runtime can neither
   * schedule the recompute early nor merge it with the forward), differentiates that copy and drops it. Only
   * segment inputs stay alive between forward and backward — the tfjs executor's memory profile — at the cost
   * of one more forward of every checkpointed body.
   */
  recompute?: boolean;
  /** Parameters to differentiate: `param(p)` for these is a graph input named `p.name` (which must be unique). */
  params?: ReadonlySet<Param>;
}

export class OnnxGradTracer implements Ops<GSym> {
  readonly kind = "onnx" as const;
  private tape: TapeEntry[] = [];
  private readonly recompute: boolean;
  /** >0 while a checkpoint body is being recorded without a tape. */
  private untaped = 0;
  private readonly trainable: ReadonlySet<Param>;
  private readonly paramSyms = new Map<Param, GSym>();

  constructor(
    readonly emitter: OnnxEmitter,
    opts: GradTracerOptions = {},
  ) {
    this.recompute = opts.recompute ?? false;
    this.trainable = opts.params ?? new Set();
  }

  /** The trainable parameters the traced code read (graph inputs named `p.name`), in first-use order. */
  paramInputs(): [Param, GSym][] {
    return [...this.paramSyms];
  }

  /** A graph input; `grad: true` makes it a differentiation variable. */
  input(name: string, shape: Shape, opts: { dtype?: DType; grad?: boolean } = {}): GSym {
    return this.wrap(this.emitter.input(name, shape, opts.dtype ?? "float32"), opts.grad ?? false);
  }

  /**
   * Emit ∂(Σ y)/∂x for each x in `wrt` (y is usually a scalar loss). Inputs `y` does not depend on get zeros.
   * Call once per tracer, after the forward has been recorded.
   */
  gradients(y: GSym, wrt: readonly GSym[]): Sym[] {
    const seed = this.emitter.constant(new Float32Array(sizeOf(y.shape)).fill(1), y.shape);
    return this.backprop(this.tape, y, seed, wrt);
  }

  /** Walk `tape` backwards from `y` (seeded with `seed`) and return the gradients of `wrt`. */
  private backprop(tape: readonly TapeEntry[], y: GSym, seed: Sym, wrt: readonly GSym[]): Sym[] {
    const em = this.emitter;
    const grads = new Map<string, Sym>();
    grads.set(y.name, seed);
    for (let i = tape.length - 1; i >= 0; i--) {
      const e = tape[i];
      const g = grads.get(e.out);
      if (!g) continue;
      const gi = e.backward(g);
      e.inputs.forEach((x, k) => {
        const d = gi[k];
        if (!x.needsGrad || !d) return;
        if (d.shape.join() !== x.shape.join())
          throw new Error(`internal: gradient [${d.shape}] for input [${x.shape}] (${e.out})`);
        const prev = grads.get(x.name);
        grads.set(x.name, prev ? em.add(prev, d) : d);
      });
    }
    return wrt.map((x) => grads.get(x.name) ?? em.constant(new Float32Array(sizeOf(x.shape)), x.shape));
  }

  // --- recording ---------------------------------------------------------------------------------------------

  private wrap(s: Sym, needsGrad: boolean): GSym {
    return { name: s.name, shape: s.shape, dtype: s.dtype, needsGrad };
  }

  /** Record `out = f(inputs)`; `backward` runs only if some input needs a gradient. */
  private rec(out: Sym, inputs: readonly (GSym | number | null)[], backward: TapeEntry["backward"]): GSym {
    const xs = inputs.filter((x): x is GSym => typeof x === "object" && x !== null);
    // An identity the emitter elided (reshape to the same shape, full slice, …) returns its input unchanged.
    const same = xs.find((x) => x.name === out.name);
    if (same) return same;
    const needs = out.dtype === "float32" && xs.some((x) => x.needsGrad);
    if (needs && this.untaped > 0) return this.wrap(out, true); // inside a checkpoint body: no tape
    if (needs) {
      const nonNull = inputs.map((x) => (typeof x === "object" ? x : null));
      // keep positions aligned with `backward`'s result
      this.tape.push({
        out: out.name,
        inputs: nonNull.map((x) => x ?? NO_GRAD),
        backward,
      });
    }
    return this.wrap(out, needs);
  }

  /** Sum `g` over the axes broadcasting added, to `shape`. */
  private unbroadcast(g: Sym, shape: Shape): Sym {
    const em = this.emitter;
    const lead = g.shape.length - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < g.shape.length; i++) {
      if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
    }
    const r = axes.length ? em.sum(g, axes, true) : g;
    return em.reshape(r, shape);
  }

  // --- leaves ------------------------------------------------------------------------------------------------

  shape(x: GSym): number[] {
    return [...x.shape];
  }
  dtype(x: GSym): DType {
    return x.dtype;
  }
  param(p: Param): GSym {
    if (!this.trainable.has(p)) return this.wrap(this.emitter.param(p), false);
    let s = this.paramSyms.get(p);
    if (!s) {
      if (!p.name) throw new Error("OnnxGradTracer: a trainable parameter needs a name (its graph input)");
      s = this.input(p.name, p.shape, { grad: true });
      this.paramSyms.set(p, s);
    }
    return s;
  }
  constant(data: Float32Array | Int32Array, shape: Shape): GSym {
    return this.wrap(this.emitter.constant(data, shape), false);
  }

  // --- elementwise -------------------------------------------------------------------------------------------

  add(a: GSym, b: GSym | number): GSym {
    return this.rec(this.emitter.add(a, b), [a, b], (g) => [
      this.unbroadcast(g, a.shape),
      typeof b === "number" ? null : this.unbroadcast(g, b.shape),
    ]);
  }
  sub(a: GSym, b: GSym | number): GSym {
    const em = this.emitter;
    return this.rec(em.sub(a, b), [a, b], (g) => [
      this.unbroadcast(g, a.shape),
      typeof b === "number" ? null : this.unbroadcast(em.neg(g), b.shape),
    ]);
  }
  mul(a: GSym, b: GSym | number): GSym {
    const em = this.emitter;
    return this.rec(em.mul(a, b), [a, b], (g) => [
      a.needsGrad ? this.unbroadcast(em.mul(g, b), a.shape) : null,
      typeof b === "number" || !b.needsGrad ? null : this.unbroadcast(em.mul(g, a), b.shape),
    ]);
  }
  div(a: GSym, b: GSym | number): GSym {
    const em = this.emitter;
    const y = em.div(a, b);
    return this.rec(y, [a, b], (g) => [
      a.needsGrad ? this.unbroadcast(em.div(g, b), a.shape) : null,
      typeof b === "number" || !b.needsGrad
        ? null
        : this.unbroadcast(em.neg(em.div(em.mul(g, y), b)), b.shape), // −g·a/b² = −g·y/b
    ]);
  }
  pow(a: GSym, p: number): GSym {
    const em = this.emitter;
    return this.rec(em.pow(a, p), [a], (g) => [
      p === 2 ? em.mul(g, em.mul(a, 2)) : em.mul(g, em.mul(em.pow(a, p - 1), p)),
    ]);
  }
  maximum(a: GSym, b: GSym | number): GSym {
    const em = this.emitter;
    return this.rec(em.maximum(a, b), [a, b], (g) => {
      const m = em.mask("GreaterOrEqual", a, b); // tfjs: a gets ties
      return [
        this.unbroadcast(em.mul(g, m), a.shape),
        typeof b === "number" ? null : this.unbroadcast(em.mul(g, em.sub(em.constant(ONE, []), m)), b.shape),
      ];
    });
  }
  minimum(a: GSym, b: GSym | number): GSym {
    const em = this.emitter;
    return this.rec(em.minimum(a, b), [a, b], (g) => {
      const m = em.mask("LessOrEqual", a, b);
      return [
        this.unbroadcast(em.mul(g, m), a.shape),
        typeof b === "number" ? null : this.unbroadcast(em.mul(g, em.sub(em.constant(ONE, []), m)), b.shape),
      ];
    });
  }
  neg(x: GSym): GSym {
    return this.rec(this.emitter.neg(x), [x], (g) => [this.emitter.neg(g)]);
  }
  exp(x: GSym): GSym {
    const y = this.emitter.exp(x);
    return this.rec(y, [x], (g) => [this.emitter.mul(g, y)]);
  }
  log(x: GSym): GSym {
    return this.rec(this.emitter.log(x), [x], (g) => [this.emitter.div(g, x)]);
  }
  sqrt(x: GSym): GSym {
    const em = this.emitter;
    const y = em.sqrt(x);
    return this.rec(y, [x], (g) => [em.div(g, em.mul(y, 2))]);
  }
  abs(x: GSym): GSym {
    const em = this.emitter;
    return this.rec(em.abs(x), [x], (g) => [
      em.mul(g, em.raw("Sign", [x], { shape: x.shape, dtype: "float32" })),
    ]);
  }
  tanh(x: GSym): GSym {
    const em = this.emitter;
    const y = em.tanh(x);
    return this.rec(y, [x], (g) => [em.mul(g, em.sub(em.constant(ONE, []), em.mul(y, y)))]);
  }
  sigmoid(x: GSym): GSym {
    const em = this.emitter;
    const y = em.sigmoid(x);
    return this.rec(y, [x], (g) => [em.mul(em.mul(g, y), em.sub(em.constant(ONE, []), y))]);
  }
  relu(x: GSym): GSym {
    const em = this.emitter;
    return this.rec(em.relu(x), [x], (g) => [em.mul(g, em.mask("Greater", x, 0))]);
  }
  erf(x: GSym): GSym {
    const em = this.emitter;
    return this.rec(em.erf(x), [x], (g) => [
      em.mul(g, em.mul(em.exp(em.neg(em.mul(x, x))), 2 / Math.sqrt(Math.PI))),
    ]);
  }
  sin(x: GSym): GSym {
    const em = this.emitter;
    return this.rec(em.sin(x), [x], (g) => [em.mul(g, em.cos(x))]);
  }
  cos(x: GSym): GSym {
    const em = this.emitter;
    return this.rec(em.cos(x), [x], (g) => [em.neg(em.mul(g, em.sin(x)))]);
  }
  leakyRelu(x: GSym, alpha: number): GSym {
    const em = this.emitter;
    return this.rec(em.leakyRelu(x, alpha), [x], (g) => {
      const m = em.mask("Greater", x, 0); // slope 1 where x > 0, alpha elsewhere
      return [em.mul(g, em.add(em.mul(m, 1 - alpha), alpha))];
    });
  }

  // --- reductions --------------------------------------------------------------------------------------------

  private keptShape(x: GSym, axes: number | readonly number[]): number[] {
    const ax = (typeof axes === "number" ? [axes] : [...axes]).map((a) => normAxis(a, x.shape.length));
    return x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  }

  sum(x: GSym, axes: number | readonly number[], keepDims = false): GSym {
    const em = this.emitter;
    return this.rec(em.sum(x, axes, keepDims), [x], (g) => [
      em.broadcastTo(em.reshape(g, this.keptShape(x, axes)), x.shape),
    ]);
  }
  mean(x: GSym, axes: number | readonly number[], keepDims = false): GSym {
    const em = this.emitter;
    const kept = this.keptShape(x, axes);
    const n = sizeOf(x.shape) / sizeOf(kept);
    return this.rec(em.mean(x, axes, keepDims), [x], (g) => [
      em.broadcastTo(em.reshape(em.div(g, n), kept), x.shape),
    ]);
  }
  max(x: GSym, axes: number | readonly number[], keepDims = false): GSym {
    const em = this.emitter;
    const y = em.max(x, axes, keepDims);
    const kept = this.keptShape(x, axes);
    return this.rec(y, [x], (g) => {
      const m = em.mask("Equal", x, em.reshape(y, kept)); // every tie gets the gradient, as in tfjs
      return [em.mul(m, em.reshape(g, kept))];
    });
  }
  softmax(x: GSym, axis = -1): GSym {
    const em = this.emitter;
    const y = em.softmax(x, axis);
    return this.rec(y, [x], (g) => [em.mul(y, em.sub(g, em.sum(em.mul(g, y), axis, true)))]);
  }
  argmax(x: GSym, axis: number): GSym {
    return this.wrap(this.emitter.argmax(x, axis), false);
  }

  // --- linear algebra ----------------------------------------------------------------------------------------

  private swapLast(x: Sym): Sym {
    const r = x.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return this.emitter.transpose(x, perm);
  }

  matmul(a: GSym, b: GSym): GSym {
    const em = this.emitter;
    return this.rec(em.matmul(a, b), [a, b], (g) => [
      a.needsGrad ? this.unbroadcast(em.matmul(g, this.swapLast(b)), a.shape) : null,
      b.needsGrad ? this.unbroadcast(em.matmul(this.swapLast(a), g), b.shape) : null,
    ]);
  }
  linear(x: GSym, weight: Param, bias: Param | null): GSym {
    const em = this.emitter;
    if (!this.trainable.has(weight) && !(bias && this.trainable.has(bias)))
      // y = x·Wᵀ + b with W [out, in] frozen: ∂x = g·W (the same fp32/fp16 initializer the forward reads).
      return this.rec(em.linear(x, weight, bias), [x], (g) => [em.matmul(g, em.param(weight))]);
    const w = this.param(weight);
    const b = bias ? this.param(bias) : null;
    const [n, k] = weight.shape;
    const y0 = em.matmul(x, em.transpose(w, [1, 0]));
    return this.rec(b ? em.add(y0, b) : y0, [x, w, b], (g) => {
      // ∂W = gᵀ·x and ∂b = Σ g over the rows of x flattened to [M, in]
      const g2 = em.reshape(g, [-1, n]);
      return [
        x.needsGrad ? em.matmul(g, w) : null,
        w.needsGrad ? em.matmul(em.transpose(g2, [1, 0]), em.reshape(x, [-1, k])) : null,
        b?.needsGrad ? em.sum(g2, [0]) : null,
      ];
    });
  }
  conv(x: GSym, w: GSym, b: GSym | null, opts: ConvOptions = {}): GSym {
    const em = this.emitter;
    const y = em.conv(x, w, b, opts);
    return this.rec(y, [x, w, b], (g) => [
      x.needsGrad ? this.convInputGrad(x, w, g, opts) : null,
      w.needsGrad ? this.convFilterGrad(x, g, w.shape, opts) : null,
      b?.needsGrad ? this.biasGrad(g) : null,
    ]);
  }

  /** Σ g over every axis but the channels: the gradient of a conv bias [O]. */
  private biasGrad(g: Sym): Sym {
    return this.emitter.sum(
      g,
      g.shape.map((_, i) => i).filter((i) => i !== 1),
      false,
    );
  }

  /**
   * ∂W of y = conv(x, W) for W [O, C/G, ...k]: ∂W[o, c, κ] = Σ_n Σ_s g[n, o, s]·x_pad[n, c, s·stride + κ·dilation],
   * itself a conv in which the batch and channel roles swap — x as [C/G, G·N, ...] (batch C/G, input channels
   * G·N), g as the weight [G·Og, N, ...s'], group G, strides = the conv's dilations, dilations = its strides, the
   * same pads — whose output [C/G, G·Og, ...κ'] (κ' ≥ k where the floor dropped input) is cut to k and
   * transposed to [O, C/G, ...k].
   */
  private convFilterGrad(x: Sym, g: Sym, wShape: Shape, opts: ConvOptions): Sym {
    const em = this.emitter;
    const dims = x.shape.length - 2;
    const groups = opts.groups ?? 1;
    const [n, c] = x.shape;
    const o = g.shape[1];
    const cg = c / groups;
    const og = o / groups;
    const sp = [...Array(dims).keys()].map((i) => i + 3);
    const xs = em.reshape(
      em.transpose(em.reshape(x, [n, groups, cg, ...x.shape.slice(2)]), [2, 1, 0, ...sp]),
      [cg, groups * n, ...x.shape.slice(2)],
    );
    const gs = em.reshape(
      em.transpose(em.reshape(g, [n, groups, og, ...g.shape.slice(2)]), [1, 2, 0, ...sp]),
      [groups * og, n, ...g.shape.slice(2)],
    );
    let dw = em.conv(xs, gs, null, {
      stride: perDim(opts.dilation, dims, 1),
      dilation: perDim(opts.stride, dims, 1),
      padding: convPads(opts.padding, dims),
      groups,
    });
    for (let i = 0; i < dims; i++) dw = em.slice(dw, 2 + i, 0, wShape[2 + i]);
    return em.transpose(dw, [1, 0, ...sp.map((a) => a - 1)]);
  }

  private convInputGrad(x: Sym, w: Sym, g: Sym, opts: ConvOptions): Sym {
    const em = this.emitter;
    const dims = x.shape.length - 2;
    const stride = perDim(opts.stride, dims, 1);
    const dilation = perDim(opts.dilation, dims, 1);
    const pads = convPads(opts.padding, dims);
    const k = w.shape.slice(2);
    // Stride 1 (every conv of the VAE and vocoder resblocks): the adjoint is a plain Conv of g with the weight's
    // channel roles swapped per group and its taps reversed, padded d·(k−1) − p on each side. In the profiled
    // full-size guidance graph ONNX Runtime's CPU ConvTranspose (GEMM + col2im) took 15.9 s for 127 such adjoints,
    // as Convs ~4× less. The flipped weight is made per run from w + 0·Σg: folded to a constant, it would be a
    // second resident copy of every conv weight (1-s guidance, side by side in fresh processes: CPU 16.6 s →
    // 13.9 s, peak +3.63 → +3.49 GiB; folded 12.9 s but +3.97 GiB).
    const flipPads = pads.map(
      ([a, b], i) => [dilation[i] * (k[i] - 1) - a, dilation[i] * (k[i] - 1) - b] as [number, number],
    );
    if (stride.every((s) => s === 1) && flipPads.every((p) => p[0] >= 0 && p[1] >= 0)) {
      const groups = opts.groups ?? 1;
      const [o, cg] = w.shape;
      const og = o / groups;
      const sp = k.map((_, i) => i + 3);
      // gated by g (w + 0·Σg) so that ONNX Runtime cannot fold the flipped weight into a second resident copy
      const gated = em.add(
        w,
        em.mul(
          em.sum(
            g,
            g.shape.map((_, i) => i),
            false,
          ),
          0,
        ),
      );
      // [O, C/G, ...k] → [G, O/G, C/G, ...k] → [G, C/G, O/G, ...k] → [C, O/G, ...k]
      let wt = em.reshape(em.transpose(em.reshape(gated, [groups, og, cg, ...k]), [0, 2, 1, ...sp]), [
        groups * cg,
        og,
        ...k,
      ]);
      k.forEach((n, i) => {
        if (n > 1)
          wt = em.gather(
            wt,
            em.constant(
              Int32Array.from({ length: n }, (_, j) => n - 1 - j),
              [n],
            ),
            2 + i,
          );
      });
      return em.conv(g, wt, null, { dilation, padding: flipPads, groups });
    }
    // ConvTranspose gives (g−1)·s + (k−1)·d + 1 − pads; output_padding restores what the conv's floor dropped.
    const outPad = x.shape
      .slice(2)
      .map(
        (l, i) =>
          l - ((g.shape[2 + i] - 1) * stride[i] + (k[i] - 1) * dilation[i] + 1 - pads[i][0] - pads[i][1]),
      );
    return em.raw(
      "ConvTranspose",
      [g, w],
      { shape: x.shape, dtype: "float32" },
      {
        kernel_shape: { kind: "ints", v: k },
        strides: { kind: "ints", v: stride },
        dilations: { kind: "ints", v: dilation },
        group: { kind: "int", v: opts.groups ?? 1 },
        pads: { kind: "ints", v: [...pads.map((p) => p[0]), ...pads.map((p) => p[1])] },
        output_padding: { kind: "ints", v: outPad },
      },
    );
  }
  convTranspose(x: GSym, w: GSym, b: GSym | null, opts: ConvTransposeOptions = {}): GSym {
    const em = this.emitter;
    return this.rec(em.convTranspose(x, w, b, opts), [x, w, b], (g) => {
      const dims = x.shape.length - 2;
      // The adjoint of a transposed conv is the conv with the same weight ([C_in, C_out, k] = [O, C, k]) from g
      // to x, so ∂W is that conv's filter gradient with g as its input and x as its output gradient.
      const conv = { stride: perDim(opts.stride, dims, 1), padding: perDim(opts.padding, dims, 0) };
      return [
        x.needsGrad ? em.conv(g, w, null, conv) : null,
        w.needsGrad ? this.convFilterGrad(g, x, w.shape, conv) : null,
        b?.needsGrad ? this.biasGrad(g) : null,
      ];
    });
  }
  layerNorm(x: GSym, weight: GSym | null, bias: GSym | null, eps: number, axis = -1): GSym {
    const em = this.emitter;
    const a = normAxis(axis, x.shape.length);
    const axes = [...Array(x.shape.length - a).keys()].map((i) => i + a);
    return this.rec(em.layerNorm(x, weight, bias, eps, axis), [x, weight, bias], (g) => {
      // x̂ = (x − μ)·r, r = (σ² + ε)^(−½);  ∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·w
      const xc = em.sub(x, em.mean(x, axes, true));
      const r = em.pow(em.add(em.mean(em.mul(xc, xc), axes, true), eps), -0.5);
      const xh = em.mul(xc, r);
      const gh = weight ? em.mul(g, weight) : g;
      const dx = () => {
        const inner = em.sub(
          em.sub(gh, em.mean(gh, axes, true)),
          em.mul(xh, em.mean(em.mul(gh, xh), axes, true)),
        );
        return em.mul(inner, r);
      };
      return [
        x.needsGrad ? dx() : null,
        weight?.needsGrad ? this.unbroadcast(em.mul(g, xh), weight.shape) : null,
        bias?.needsGrad ? this.unbroadcast(g, bias.shape) : null,
      ];
    });
  }
  attention(q: GSym, k: GSym, v: GSym, opts: AttentionOptions<GSym>): GSym {
    const em = this.emitter;
    const bias = opts.bias ?? null;
    // The emitter's own decomposition, spelled out so the backward can reuse the probabilities P.
    let s = em.mul(em.matmul(q, this.swapLast(k)), opts.scale);
    if (opts.bias) s = em.add(s, opts.bias);
    const p = em.softmax(s, -1);
    return this.rec(em.matmul(p, v), [q, k, v, bias], (g) => {
      const gp = em.matmul(g, this.swapLast(v));
      const gb = em.mul(p, em.sub(gp, em.sum(em.mul(gp, p), -1, true))); // ∂ of the biased scores
      const gs = em.mul(gb, opts.scale);
      return [
        q.needsGrad ? this.unbroadcast(em.matmul(gs, k), q.shape) : null,
        k.needsGrad ? this.unbroadcast(em.matmul(this.swapLast(gs), q), k.shape) : null,
        v.needsGrad ? this.unbroadcast(em.matmul(this.swapLast(p), g), v.shape) : null,
        bias?.needsGrad ? this.unbroadcast(gb, bias.shape) : null,
      ];
    });
  }

  // --- layout ------------------------------------------------------------------------------------------------

  reshape(x: GSym, shape: Shape): GSym {
    return this.rec(this.emitter.reshape(x, shape), [x], (g) => [this.emitter.reshape(g, x.shape)]);
  }
  transpose(x: GSym, perm: readonly number[]): GSym {
    const inv = [...perm];
    perm.forEach((p, i) => {
      inv[p] = i;
    });
    return this.rec(this.emitter.transpose(x, perm), [x], (g) => [this.emitter.transpose(g, inv)]);
  }
  slice(x: GSym, axis: number, start: number, end: number): GSym {
    const em = this.emitter;
    const y = em.slice(x, axis, start, end);
    return this.rec(y, [x], (g) => {
      const a = normAxis(axis, x.shape.length);
      const n = x.shape[a];
      const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
      const pads = x.shape.map((_, i) => (i === a ? ([s, n - s - y.shape[a]] as const) : ([0, 0] as const)));
      return [em.pad(g, pads, 0)];
    });
  }
  concat(xs: readonly GSym[], axis: number): GSym {
    const em = this.emitter;
    if (xs.length === 1) return xs[0];
    const a = normAxis(axis, xs[0].shape.length);
    return this.rec(em.concat(xs, axis), xs, (g) => {
      let o = 0;
      return xs.map((x) => {
        const piece = em.slice(g, a, o, o + x.shape[a]);
        o += x.shape[a];
        return piece;
      });
    });
  }
  pad(x: GSym, pads: readonly (readonly [number, number])[], value = 0): GSym {
    const em = this.emitter;
    return this.rec(em.pad(x, pads, value), [x], (g) => {
      let r: Sym = g;
      pads.forEach(([p], i) => {
        r = em.slice(r, i, p, p + x.shape[i]);
      });
      return [r];
    });
  }
  gather(x: GSym, indices: GSym, axis: number): GSym {
    const em = this.emitter;
    return this.rec(em.gather(x, indices, axis), [x, indices], (g) => {
      // Scatter-add g back to the gathered rows (repeated indices accumulate): with x viewed as
      // [pre, X_a, post], ∂x[:, i, :] = Σ_{k : idx_k = i} g[:, k, :].
      const a = normAxis(axis, x.shape.length);
      const pre = sizeOf(x.shape.slice(0, a));
      const post = sizeOf(x.shape.slice(a + 1));
      const n = sizeOf(indices.shape);
      const upd = em.transpose(em.reshape(g, [pre, n, post]), [1, 0, 2]);
      const zeros = em.broadcastTo(em.constant(ZERO, [1, 1, 1]), [x.shape[a], pre, post]);
      const idx = em.reshape(
        em.raw(
          "Cast",
          [indices],
          { shape: indices.shape, dtype: "int32" },
          { to: { kind: "int", v: INT64 } },
        ),
        [n, 1],
      );
      const summed = em.raw(
        "ScatterND",
        [zeros, idx, upd],
        { shape: [x.shape[a], pre, post], dtype: "float32" },
        {
          reduction: { kind: "string", v: "add" },
        },
      );
      return [em.reshape(em.transpose(summed, [1, 0, 2]), x.shape), null];
    });
  }
  broadcastTo(x: GSym, shape: Shape): GSym {
    return this.rec(this.emitter.broadcastTo(x, shape), [x], (g) => [this.unbroadcast(g, x.shape)]);
  }
  cast(x: GSym, dtype: DType): GSym {
    if (dtype === x.dtype) return x;
    return this.wrap(this.emitter.cast(x, dtype), false); // float ↔ int carries no gradient
  }
  checkpoint(f: (x: GSym) => GSym, x: GSym): GSym {
    if (!this.recompute || !x.needsGrad || this.untaped > 0) return f(x);
    this.untaped++;
    let y: GSym;
    try {
      y = f(x);
    } finally {
      this.untaped--;
    }
    if (!y.needsGrad || y.name === x.name) return y;
    this.tape.push({
      out: y.name,
      inputs: [x],
      backward: (g) => {
        const em = this.emitter;
        // x' = x + 0·Σg: the same values, available only once the backward reaches this segment
        const gate = em.mul(em.sum(g, [...g.shape.keys()], false), 0);
        const xr = this.wrap(em.add(x, gate), true);
        const outer = this.tape;
        this.tape = [];
        try {
          const yr = f(xr);
          const inner = this.tape;
          // the body may only depend on x: a gradient to anything else captured from outside would be lost
          const known = new Set([xr.name, ...inner.map((e) => e.out)]);
          for (const e of inner)
            for (const i of e.inputs)
              if (i.needsGrad && !known.has(i.name))
                throw new Error(
                  "OnnxGradTracer: a checkpoint body reads a differentiable tensor other than its input",
                );
          return [this.backprop(inner, yr, g, [xr])[0]];
        } finally {
          this.tape = outer;
        }
      },
    });
    return y;
  }
}

const ONE = Float32Array.of(1);
const ZERO = Float32Array.of(0);
/** ONNX TensorProto.DataType INT64 (ScatterND indices). */
const INT64 = 7;
const NO_GRAD: GSym = { name: "", shape: [], dtype: "float32", needsGrad: false };
