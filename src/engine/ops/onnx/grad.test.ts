/**
 * The emitted backward (OnnxGradTracer, run by onnxruntime-node) against tfjs autodiff on the same `Ops`
 * programs: for L = Σ y·R with a fixed random R, ∂L/∂x of every float input must agree. The programs are the
 * executor-parity set (every primitive) plus cases aimed at adjoint corner cases (broadcast operands on both
 * sides, grouped/strided/dilated convs whose floor drops input, ties in max, both matmul operands variable), and the
 * weight adjoints training needs: conv / convTranspose weights and biases, layerNorm affine and attention bias
 * passed as variables, trainable `Param`s read through `param()`/`linear()` against tfjs variableGrads, and the
 * grouped conv filter gradient (tfjs has no grouped conv) against central differences.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as ortNode from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { opCensus } from "../../../../bench/lib/onnx_census.js";
import { maxAbsDiff, randn } from "../../../../test/support/naive.js";
import { type Program, param, programs } from "../../../../test/support/op-programs.js";
import type { Ops } from "../ops.js";
import { TfjsOps } from "../tfjs.js";
import { OnnxEmitter } from "./emitter.js";
import { OnnxGradTracer } from "./grad.js";
import { createSession, type OrtModule, runSession } from "./session.js";

const ort = ortNode as unknown as OrtModule;

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const GW = param([6, 4, 3], 201);
const RW = param([4, 4, 3], 206); // resblock conv: 4 → 4 channels
const GW2 = param([4, 6, 3], 204);
const GG = param([6, 2, 3], 205); // grouped conv1d: groups 2 → 2 input channels per group
const GW4 = param([6, 2, 2, 3], 207); // grouped conv2d: groups 3 → 2 input channels per group
const CT = param([3, 4, 3, 3], 202); // convTranspose2d weight [C_in, C_out, k, k]
const LW = param([5], 203);

const gradPrograms: Program[] = [
  {
    name: "broadcast operands on both sides of every binary op",
    inputs: [
      { name: "a", shape: [2, 3, 4], data: randn(24, 21) },
      { name: "b", shape: [3, 1], data: randn(3, 22) },
    ],
    run: (ops, [a, b]) => {
      // tfjs's Maximum/Minimum gradients do not unbroadcast b, so the reference needs equal shapes there
      const pb = ops.add(ops.abs(b), 0.5);
      let y = ops.add(ops.mul(a, b), ops.sub(b, a));
      y = ops.add(y, ops.div(a, pb));
      y = ops.add(y, ops.maximum(a, ops.broadcastTo(b, [2, 3, 4])));
      return ops.add(y, ops.minimum(ops.mul(a, 0.5), ops.broadcastTo(b, [2, 3, 4])));
    },
  },
  {
    name: "ties in max, both matmul operands variable, mean over several axes",
    inputs: [
      { name: "x", shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => Math.round(i / 5)) },
      { name: "w", shape: [4, 5], data: randn(20, 23) },
    ],
    run: (ops, [x, w]) => {
      const h = ops.matmul(x, w); // [2,3,5]
      const m = ops.max(x, -1, true); // ties: every maximal entry gets the gradient
      return ops.add(ops.mul(h, m), ops.mean(ops.mul(x, x), [0, 2], true));
    },
  },
  {
    name: "grouped strided conv1d whose floor drops input, convTranspose2d, layerNorm with affine",
    inputs: [
      { name: "x", shape: [1, 4, 12], data: randn(48, 24) },
      { name: "z", shape: [1, 3, 4, 5], data: randn(60, 25) },
    ],
    run: (ops, [x, z]) => {
      // tfjs has no strided dilated conv: one strided (its floor drops input), one dilated
      const y = ops.conv(
        ops.conv(x, ops.param(GW), null, { stride: 3, padding: [[1, 0]] }),
        ops.param(GW2),
        null,
        { padding: 2, dilation: 2 },
      );
      const t = ops.convTranspose(z, ops.param(CT), null, { stride: 2, padding: 1, outputPadding: 1 });
      const ln = ops.layerNorm(ops.reshape(t, [1, 4, -1, 5]), ops.param(LW), null, 1e-5);
      return ops.add(ops.sum(ops.mul(ln, ln), [1, 2, 3]), ops.sum(ops.tanh(y), [1, 2]));
    },
  },
  {
    name: "nested checkpoints, two bodies reading the same input (HiFi-GAN resblocks), glue between them",
    inputs: [{ name: "x", shape: [1, 4, 10], data: randn(40, 29) }],
    run: (ops, [x]) => {
      const w = ops.param(RW);
      const block = (t: typeof x, d: number) =>
        ops.checkpoint(
          (u) =>
            ops.add(
              u,
              ops.checkpoint((v) => ops.conv(ops.leakyRelu(v, 0.1), w, null, { padding: d, dilation: d }), u),
            ),
          t,
        );
      const h = ops.mul(ops.add(block(x, 1), block(x, 2)), 0.5); // both read x
      return ops.tanh(ops.checkpoint((u) => ops.sigmoid(ops.mul(u, u)), ops.sub(h, 0.1)));
    },
  },
  {
    name: "gather of a variable table with repeated indices (embedding rows, CLIP's pooled token)",
    inputs: [{ name: "t", shape: [2, 5, 3], data: randn(30, 28) }],
    run: (ops, [t]) => {
      const ids = ops.constant(Int32Array.from([4, 0, 4, 2]), [2, 2]);
      const rows = ops.gather(t, ids, 1); // [2, 2, 2, 3], row 4 twice
      const flat = ops.gather(ops.reshape(t, [10, 3]), ops.constant(Int32Array.from([9, 9, 1]), [3]), 0);
      return ops.add(ops.sum(ops.mul(rows, rows), [1, 2]), ops.sum(flat, 0));
    },
  },
  {
    name: "checkpointed block, attention with distinct q/k/v, concat/pad/slice round trip",
    inputs: [
      { name: "q", shape: [1, 2, 3, 4], data: randn(24, 26) },
      { name: "kv", shape: [1, 2, 5, 4], data: randn(40, 27) },
    ],
    run: (ops, [q, kv]) => {
      const v = ops.checkpoint((t) => ops.sigmoid(ops.mul(t, 1.5)), kv);
      const a = ops.attention(q, kv, v, { scale: 0.5 });
      const c = ops.concat(
        [
          a,
          ops.pad(
            q,
            [
              [0, 0],
              [0, 0],
              [1, 0],
              [0, 0],
            ],
            0,
          ),
        ],
        2,
      ); // [1,2,7,4]
      return ops.slice(ops.exp(ops.mul(c, 0.3)), 2, 1, 6);
    },
  },
  {
    name: "conv weights and biases as variables: grouped strided 1d, padded dilated 2d, 3d patch stem",
    inputs: [
      { name: "x1", shape: [2, 4, 12], data: randn(96, 41) },
      { name: "w1", shape: [6, 4, 3], data: randn(72, 42, 0.3) },
      { name: "b1", shape: [6], data: randn(6, 43) },
      { name: "x2", shape: [2, 3, 7, 6], data: randn(252, 44) },
      { name: "w2", shape: [4, 3, 3, 3], data: randn(108, 45, 0.3) },
      { name: "b2", shape: [4], data: randn(4, 46) },
      { name: "x3", shape: [2, 3, 2, 8, 8], data: randn(768, 47) },
      { name: "w3", shape: [5, 3, 2, 4, 4], data: randn(480, 48, 0.2) },
    ],
    run: (ops, [x1, w1, b1, x2, w2, b2, x3, w3]) => {
      // tfjs has no strided dilated conv, so strides and dilations are exercised separately
      // (tfjs has no grouped conv: groups are checked against central differences below)
      const y1 = ops.conv(x1, w1, b1, { stride: 3, padding: [[1, 0]] }); // [2, 6, 4]
      const y2 = ops.conv(x2, w2, b2, { padding: 2, dilation: 2 }); // [2, 4, 7, 6]
      const y3 = ops.conv(x3, w3, null, { stride: [2, 4, 4] }); // [2, 5, 1, 2, 2]
      return ops.concat(
        [
          ops.reshape(ops.tanh(y1), [2, -1]),
          ops.reshape(ops.mul(y2, y2), [2, -1]),
          ops.reshape(ops.sigmoid(y3), [2, -1]),
        ],
        1,
      );
    },
  },
  {
    name: "strided conv2d whose floor drops input, weight variable",
    inputs: [
      { name: "x", shape: [3, 4, 9, 7], data: randn(756, 51) },
      { name: "w", shape: [6, 4, 3, 2], data: randn(144, 52, 0.3) },
      { name: "b", shape: [6], data: randn(6, 53) },
    ],
    run: (ops, [x, w, b]) => ops.tanh(ops.conv(x, w, b, { stride: [2, 3], padding: 1 })),
  },
  {
    name: "convTranspose2d weight and bias as variables",
    inputs: [
      { name: "z", shape: [1, 3, 4, 5], data: randn(60, 61) },
      { name: "ct", shape: [3, 4, 3, 3], data: randn(108, 62, 0.3) },
      { name: "cb", shape: [4], data: randn(4, 63) },
    ],
    run: (ops, [z, ct, cb]) =>
      ops.tanh(ops.convTranspose(z, ct, cb, { stride: 2, padding: 1, outputPadding: 1 })),
  },
  {
    name: "convTranspose1d weight as a variable (HiFi-GAN upsampler)",
    inputs: [
      { name: "z1", shape: [2, 3, 6], data: randn(36, 64) },
      { name: "ct1", shape: [3, 2, 8], data: randn(48, 65, 0.3) },
    ],
    run: (ops, [z1, ct1]) => ops.tanh(ops.convTranspose(z1, ct1, null, { stride: 4, padding: 2 })),
  },
  {
    name: "layerNorm affine as variables",
    inputs: [
      { name: "t", shape: [2, 4, 5], data: randn(40, 71) },
      { name: "lw", shape: [5], data: randn(5, 66) },
      { name: "lb", shape: [5], data: randn(5, 67) },
    ],
    run: (ops, [t, lw, lb]) => {
      const ln = ops.layerNorm(t, lw, lb, 1e-5);
      return ops.mul(ln, ln);
    },
  },
  {
    name: "attention bias as a variable",
    inputs: [
      { name: "q", shape: [1, 2, 3, 4], data: randn(24, 68) },
      { name: "kv", shape: [1, 2, 5, 4], data: randn(40, 69) },
      { name: "ab", shape: [1, 1, 3, 5], data: randn(15, 70) },
    ],
    run: (ops, [q, kv, ab]) => ops.attention(q, kv, ops.tanh(kv), { scale: 0.5, bias: ab }),
  },
];

interface Grads {
  y: Float32Array;
  grads: Float32Array[];
}

function floatInputs(p: Program) {
  return p.inputs.filter((i) => i.data instanceof Float32Array);
}

async function tfGrads(p: Program, r: Float32Array): Promise<Grads> {
  const ops = new TfjsOps();
  const xs = p.inputs.map((i) =>
    tf.tensor(i.data, i.shape, i.data instanceof Int32Array ? "int32" : "float32"),
  );
  const fi = p.inputs.map((i, k) => (i.data instanceof Float32Array ? k : -1)).filter((k) => k >= 0);
  const { value, grads } = tf.valueAndGrads((...vars: tf.Tensor[]) => {
    const all = xs.map((x, k) => (fi.includes(k) ? vars[fi.indexOf(k)] : x));
    const y = p.run(ops, all);
    return tf.sum(tf.mul(y, tf.tensor(r, y.shape)));
  })(fi.map((k) => xs[k]));
  const y = Float32Array.from(await value.data());
  const g = await Promise.all(grads.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose([value, ...grads, ...xs]);
  ops.dispose();
  return { y, grads: g };
}

async function onnxGrads(p: Program, r: Float32Array, recompute = false): Promise<Grads> {
  const gt = new OnnxGradTracer(new OnnxEmitter(), { recompute });
  const xs = p.inputs.map((i) =>
    gt.input(i.name, i.shape, {
      dtype: i.data instanceof Int32Array ? "int32" : "float32",
      grad: i.data instanceof Float32Array,
    }),
  );
  const out = p.run(gt, xs);
  const loss = gt.sum(gt.mul(out, gt.constant(r, out.shape)), [...out.shape.keys()]);
  const wrt = xs.filter((x) => x.needsGrad);
  const gs = gt.gradients(loss, wrt);
  gt.emitter.output("loss", loss);
  gs.forEach((g, k) => {
    gt.emitter.output(`grad${k}`, g);
  });
  const session = await createSession(ort, gt.emitter.build());
  const res = await runSession(
    ort,
    session,
    Object.fromEntries(p.inputs.map((i) => [i.name, { data: i.data, shape: i.shape }])),
  );
  await session.release();
  return {
    y: Float32Array.from(res.loss.data),
    grads: gs.map((_, k) => Float32Array.from(res[`grad${k}`].data)),
  };
}

/** Output size of a program (traced on a forward-only emitter). */
function outSize(p: Program): number {
  const em = new OnnxEmitter();
  const y = p.run(
    em,
    p.inputs.map((i) => em.input(i.name, i.shape, i.data instanceof Int32Array ? "int32" : "float32")),
  );
  return y.shape.reduce((a, b) => a * b, 1);
}

/**
 * ∂L/∂x of L = Σ R·conv(x) through the emitted backward, and the central differences of the forward (exact up to
 * float32 rounding: L is linear in x), plus the op types of the backward graph.
 */
async function inputGradVsDifferences(
  conv: <T>(ops: Ops<T>, x: T) => T,
  shape: number[],
  seed: number,
): Promise<{ g: Float32Array; fd: Float32Array; ops: string[] }> {
  const n = shape.reduce((a, b) => a * b, 1);
  const x0 = randn(n, seed);
  const em = new OnnxEmitter();
  const yShape = conv(em, em.input("x", shape)).shape;
  const r = randn(
    yShape.reduce((a, b) => a * b, 1),
    seed + 1,
  );
  const lossOf = <T>(ops: Ops<T>, x: T) =>
    ops.sum(
      ops.mul(conv(ops, x), ops.constant(r, yShape)),
      yShape.map((_, i) => i),
    );

  const gt = new OnnxGradTracer(new OnnxEmitter());
  const x = gt.input("x", shape, { grad: true });
  const [gx] = gt.gradients(lossOf(gt, x), [x]);
  gt.emitter.output("g", gx);
  const built = gt.emitter.build();
  const gs = await createSession(ort, built);
  const g = (await runSession(ort, gs, { x: { data: x0, shape } })).g.data as Float32Array;
  await gs.release();

  const fwd = new OnnxEmitter();
  fwd.output("loss", lossOf(fwd, fwd.input("x", shape)));
  const fs = await createSession(ort, fwd.build());
  const at = async (v: Float32Array) => (await runSession(ort, fs, { x: { data: v, shape } })).loss.data[0];
  const fd = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = Float32Array.from(x0);
    const m = Float32Array.from(x0);
    p[i] += 0.5;
    m[i] -= 0.5;
    fd[i] = (await at(p)) - (await at(m));
  }
  await fs.release();
  return { g, fd, ops: [...opCensus(built.model).ops.keys()] };
}

describe("ONNX backward (OnnxGradTracer) equals tfjs autodiff", () => {
  const all = [...programs, ...gradPrograms].filter((p) => floatInputs(p).length > 0);
  for (const [n, p] of all.entries()) {
    it(p.name, async () => {
      const r = randn(outSize(p), 900 + n);
      const ref = await tfGrads(p, r);
      // without and with in-graph recompute of checkpointed bodies: the same gradients
      for (const recompute of [false, true]) {
        const got = await onnxGrads(p, r, recompute);
        expect(Math.abs(got.y[0] - ref.y[0])).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.y[0])));
        expect(got.grads.length).toBe(ref.grads.length);
        for (let k = 0; k < ref.grads.length; k++) {
          const scale = Math.max(1e-3, ...ref.grads[k].map(Math.abs));
          expect(maxAbsDiff(got.grads[k], ref.grads[k]) / scale).toBeLessThan(1e-5);
          expect(scale).toBeGreaterThan(1e-3); // the gradient is not trivially zero
        }
      }
    });
  }

  it("grouped strided dilated conv (no tfjs reference): equals central differences of the forward", async () => {
    const conv = <T>(ops: Ops<T>, x: T) =>
      ops.conv(x, ops.param(GG), null, { stride: 2, padding: [[2, 0]], dilation: 2, groups: 2 });
    const { g, fd } = await inputGradVsDifferences(conv, [1, 4, 14], 31);
    expect(maxAbsDiff(g, fd)).toBeLessThan(1e-4);
    expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(0.1);
    // the stride-2 floor drops the last input column: its gradient is exactly zero on both sides
    for (let c = 0; c < 4; c++) {
      expect(fd[c * 14 + 13]).toBe(0);
      expect(g[c * 14 + 13]).toBe(0);
    }
  });

  it("stride-1 convs (grouped, dilated, asymmetric pads; 1-d and 2-d) differentiate as a Conv with the flipped weight, no ConvTranspose", async () => {
    const cases: [<T>(ops: Ops<T>, x: T) => T, number[]][] = [
      [
        (ops, x) => ops.conv(x, ops.param(GG), null, { padding: [[3, 1]], dilation: 2, groups: 2 }),
        [1, 4, 11],
      ],
      [(ops, x) => ops.conv(x, ops.param(RW), null, { padding: 3, dilation: 3 }), [2, 4, 9]], // HiFiGAN resblock
      [
        (ops, x) =>
          ops.conv(x, ops.param(GW4), null, {
            padding: [
              [1, 0],
              [2, 2],
            ],
            groups: 3,
          }),
        [1, 6, 5, 7],
      ],
    ];
    for (const [k, [conv, shape]] of cases.entries()) {
      const { g, fd, ops } = await inputGradVsDifferences(conv, shape, 40 + k);
      expect(ops).toContain("Conv");
      expect(ops).not.toContain("ConvTranspose");
      expect(maxAbsDiff(g, fd)).toBeLessThan(1e-4);
      expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(0.1);
    }
  });

  it("recompute refuses a checkpoint body that reads a differentiable tensor besides its input", () => {
    const gt = new OnnxGradTracer(new OnnxEmitter(), { recompute: true });
    const x = gt.input("x", [3], { grad: true });
    const b = gt.input("b", [3], { grad: true });
    const y = gt.checkpoint((u) => gt.mul(u, b), x); // b is captured: its gradient would be lost
    expect(() => gt.gradients(gt.sum(y, 0), [x, b])).toThrow(/other than its input/);
  });

  it("trainable params are graph inputs named by their key; their gradients equal tfjs variableGrads", async () => {
    // linear weight/bias, a gathered embedding table, a layerNorm affine, a conv weight/bias and a bare param,
    // all read through `param(p)` as model code reads them
    const lin = param([6, 4], 301);
    const linB = param([6], 302);
    const table = param([9, 4], 303);
    const lnW = param([6], 304);
    const lnB = param([6], 305);
    const cw = param([3, 2, 3], 306);
    const cb = param([3], 307);
    const scale = param([1], 308);
    const frozenW = param([6, 6], 309); // not in the trainable set: an initializer
    const trainable = [lin, linB, table, lnW, lnB, cw, cb, scale];
    const ids = Int32Array.from([3, 0, 3, 8, 1, 5]);
    const x0 = randn(2 * 3 * 4, 310);
    const r = randn(2 * 3 * 6 + 2 * 3 * 5, 311);
    const program = <T>(ops: Ops<T>, x: T, idx: T): T => {
      const e = ops.add(x, ops.gather(ops.param(table), idx, 0)); // [2, 3, 4]
      let h = ops.linear(ops.tanh(e), lin, linB); // [2, 3, 6]
      h = ops.layerNorm(h, ops.param(lnW), ops.param(lnB), 1e-5);
      h = ops.linear(h, frozenW, null);
      const c = ops.conv(ops.reshape(h, [2, 2, 9]), ops.param(cw), ops.param(cb), { stride: 2, padding: 1 });
      const y = ops.concat(
        [ops.reshape(ops.mul(h, ops.param(scale)), [-1]), ops.reshape(ops.tanh(c), [-1])],
        0,
      );
      return ops.sum(ops.mul(y, ops.constant(r, [r.length])), 0);
    };

    const tops = new TfjsOps({ trainable: true });
    const vars = trainable.map((p) => tops.param(p) as tf.Variable);
    const xT = tf.tensor(x0, [2, 3, 4]);
    const idT = tf.tensor(ids, [2, 3], "int32");
    const { value, grads } = tf.variableGrads(() => program(tops, xT, idT) as tf.Scalar, vars);
    const refLoss = (await value.data())[0];
    const ref = await Promise.all(vars.map(async (v) => Float32Array.from(await grads[v.name].data())));
    tf.dispose([value, ...Object.values(grads), xT, idT]);
    tops.dispose();

    const gt = new OnnxGradTracer(new OnnxEmitter(), { params: new Set(trainable) });
    const loss = program(gt, gt.input("x", [2, 3, 4]), gt.input("ids", [2, 3], { dtype: "int32" }));
    const seen = gt.paramInputs();
    expect(seen.map(([p]) => p).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...trainable].sort((a, b) => a.name.localeCompare(b.name)),
    );
    const gs = gt.gradients(
      loss,
      trainable.map((p) => gt.param(p)),
    );
    gt.emitter.output("loss", loss);
    gs.forEach((g, k) => {
      gt.emitter.output(`grad${k}`, g);
    });
    const session = await createSession(ort, gt.emitter.build());
    const feeds: Record<string, { data: Float32Array | Int32Array; shape: readonly number[] }> = {
      x: { data: x0, shape: [2, 3, 4] },
      ids: { data: ids, shape: [2, 3] },
    };
    for (const p of trainable) feeds[p.name] = { data: p.values(), shape: p.shape };
    expect(session.inputNames).not.toContain(frozenW.name);
    const res = await runSession(ort, session, feeds);
    await session.release();
    expect(Math.abs(res.loss.data[0] - refLoss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(refLoss)));
    for (let k = 0; k < trainable.length; k++) {
      const scale = Math.max(1e-3, ...ref[k].map(Math.abs));
      expect(maxAbsDiff(res[`grad${k}`].data as Float32Array, ref[k]) / scale).toBeLessThan(1e-5);
      expect(scale).toBeGreaterThan(1e-3);
    }
  });

  it("conv filter gradient (strided, padded, grouped) equals central differences of the forward", async () => {
    // L = Σ R·conv(x, W) is linear in W, so a central difference is exact up to float32 rounding.
    const x0 = randn(2 * 4 * 11, 33);
    const w0 = randn(6 * 2 * 3, 34, 0.3);
    const opts = { stride: 2, padding: [[2, 0]] as [number, number][], groups: 2 };
    const em = new OnnxEmitter();
    const yShape = em.conv(em.input("x", [2, 4, 11]), em.input("w", [6, 2, 3]), null, opts).shape;
    const r = randn(
      yShape.reduce((a, b) => a * b, 1),
      35,
    );
    const lossOf = <T>(ops: Ops<T>, x: T, w: T) =>
      ops.sum(ops.mul(ops.conv(x, w, null, opts), ops.constant(r, yShape)), [0, 1, 2]);
    const gt = new OnnxGradTracer(new OnnxEmitter());
    const x = gt.input("x", [2, 4, 11]);
    const w = gt.input("w", [6, 2, 3], { grad: true });
    const loss = lossOf(gt, x, w);
    const [gw] = gt.gradients(loss, [w]);
    gt.emitter.output("g", gw);
    gt.emitter.output("loss", loss);
    const s = await createSession(ort, gt.emitter.build());
    const at = async (v: Float32Array) =>
      runSession(ort, s, { x: { data: x0, shape: [2, 4, 11] }, w: { data: v, shape: [6, 2, 3] } });
    const g = (await at(w0)).g.data;
    const fd = new Float32Array(w0.length);
    for (let i = 0; i < w0.length; i++) {
      const p = Float32Array.from(w0);
      const m = Float32Array.from(w0);
      p[i] += 0.5;
      m[i] -= 0.5;
      fd[i] = (await at(p)).loss.data[0] - (await at(m)).loss.data[0];
    }
    await s.release();
    expect(maxAbsDiff(g, fd)).toBeLessThan(1e-4);
    expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it("inputs the loss does not depend on get zero gradients", async () => {
    const gt = new OnnxGradTracer(new OnnxEmitter());
    const a = gt.input("a", [3], { grad: true });
    const b = gt.input("b", [3], { grad: true });
    const loss = gt.sum(gt.mul(a, a), 0);
    const [ga, gb] = gt.gradients(loss, [a, b]);
    gt.emitter.output("ga", ga);
    gt.emitter.output("gb", gb);
    gt.emitter.output("loss", loss);
    const s = await createSession(ort, gt.emitter.build());
    const res = await runSession(ort, s, {
      a: { data: Float32Array.of(1, -2, 3), shape: [3] },
      b: { data: Float32Array.of(5, 5, 5), shape: [3] },
    });
    await s.release();
    expect([...res.ga.data]).toEqual([2, -4, 6]);
    expect([...res.gb.data]).toEqual([0, 0, 0]);
  });
});
