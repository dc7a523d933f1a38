/**
 * Small programs written once against `Ops<T>` that together exercise every primitive: run by the executor
 * parity tests (tfjs vs ONNX Runtime forward) and the ONNX gradient tests (tfjs autodiff vs the emitted
 * backward).
 */

import type { Ops } from "../../src/engine/ops/ops.js";
import { Param } from "../../src/engine/ops/param.js";
import { randn } from "./naive.js";

export interface Input {
  name: string;
  shape: number[];
  data: Float32Array | Int32Array;
}
export interface Program {
  name: string;
  inputs: Input[];
  run: <T>(ops: Ops<T>, xs: T[]) => T;
}

export function param(shape: number[], seed: number, scale = 0.3): Param {
  const p = new Param(shape);
  p.name = `p${seed}`;
  p.set(
    randn(
      shape.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
  );
  return p;
}

export const W1 = param([6, 4], 101);
export const B1 = param([6], 102);
const CW = param([5, 3, 3, 3], 103);
const CB = param([5], 104);
const TW = param([4, 2, 4], 105);
const LNW = param([8], 106);
const LNB = param([8], 107);
const WQ = param([40, 64], 108, 0.1); // a q4-sized linear
const IDS = Int32Array.from([3, 0, 7, 7, 2, 5]);
const TABLE = randn(9 * 4, 109);

export const programs: Program[] = [
  {
    name: "elementwise chain",
    inputs: [
      { name: "a", shape: [2, 3, 4], data: randn(24, 1) },
      { name: "b", shape: [3, 1], data: randn(3, 2) },
    ],
    run: (ops, [a, b]) => {
      let y = ops.add(ops.mul(a, b), 0.5);
      y = ops.sub(ops.div(y, ops.add(ops.abs(b), 1)), ops.neg(ops.tanh(a)));
      y = ops.add(ops.sigmoid(y), ops.relu(ops.leakyRelu(a, 0.1)));
      y = ops.add(ops.mul(ops.erf(y), ops.sin(a)), ops.cos(b));
      y = ops.maximum(ops.minimum(y, 0.9), -0.8);
      y = ops.add(ops.exp(ops.mul(y, 0.5)), ops.log(ops.add(ops.pow(a, 2), 1)));
      return ops.add(ops.sqrt(ops.add(ops.abs(y), 1e-3)), ops.pow(ops.abs(a), 1.5));
    },
  },
  {
    name: "reductions and softmax",
    inputs: [{ name: "x", shape: [2, 5, 3], data: randn(30, 3) }],
    run: (ops, [x]) => {
      const s = ops.softmax(x, 1);
      const m = ops.mean(x, [1, 2], true);
      const mx = ops.max(x, -1, true);
      return ops.add(ops.add(ops.sum(s, 2, true), m), ops.mul(mx, ops.softmax(x, -1)));
    },
  },
  {
    name: "linear, matmul (batched, broadcast), layerNorm, attention with bias",
    inputs: [{ name: "x", shape: [2, 3, 4], data: randn(24, 4) }],
    run: (ops, [x]) => {
      const h = ops.linear(x, W1, B1); // [2,3,6]
      const g = ops.matmul(h, ops.transpose(h, [0, 2, 1])); // [2,3,3]
      const g2 = ops.matmul(g, ops.slice(ops.param(W1), 0, 0, 3)); // [2,3,3] @ [3,4]: broadcast batch
      const ln = ops.layerNorm(
        ops.concat([h, ops.slice(h, 2, 0, 2)], 2),
        ops.param(LNW),
        ops.param(LNB),
        1e-5,
      );
      const q = ops.reshape(ln, [2, 3, 2, 4]);
      const qh = ops.transpose(q, [0, 2, 1, 3]);
      const bias = ops.constant(Float32Array.from([0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0]), [1, 1, 3, 3]);
      const att = ops.attention(qh, qh, qh, { scale: 0.5, bias });
      const out = ops.add(ops.reshape(ops.transpose(att, [0, 2, 1, 3]), [2, 3, 8]), ops.sum(g, -1, true));
      return ops.add(out, ops.mean(g2, -1, true));
    },
  },
  {
    name: "conv2d + groupnorm-style layerNorm without affine + pad + broadcastTo",
    inputs: [{ name: "x", shape: [1, 3, 6, 5], data: randn(90, 5) }],
    run: (ops, [x]) => {
      const y = ops.conv(
        ops.pad(
          x,
          [
            [0, 0],
            [0, 0],
            [0, 1],
            [0, 1],
          ],
          0,
        ),
        ops.param(CW),
        ops.param(CB),
        { stride: 2, padding: 1 },
      );
      const g = ops.reshape(y, [1, 5, -1]);
      const n = ops.reshape(ops.layerNorm(g, null, null, 1e-6, 2), ops.shape(y));
      return ops.add(n, ops.broadcastTo(ops.reshape(ops.param(CB), [1, 5, 1, 1]), ops.shape(n)));
    },
  },
  {
    name: "conv1d dilated + convTranspose1d (HiFiGAN shapes)",
    inputs: [{ name: "x", shape: [1, 4, 9], data: randn(36, 6) }],
    run: (ops, [x]) => {
      const w = ops.constant(randn(4 * 4 * 3, 7, 0.3), [4, 4, 3]);
      const y = ops.conv(ops.leakyRelu(x, 0.1), w, null, { padding: 3, dilation: 3 });
      return ops.convTranspose(y, ops.param(TW), null, { stride: 2, padding: 1 });
    },
  },
  {
    name: "gather, argmax, int arithmetic, cast",
    inputs: [{ name: "ids", shape: [2, 3], data: IDS }],
    run: (ops, [ids]) => {
      const table = ops.constant(TABLE, [9, 4]);
      const emb = ops.gather(table, ids, 0); // [2,3,4]
      const am = ops.argmax(ops.cast(ids, "float32"), -1); // [2]
      const rowStart = ops.constant(Int32Array.from([0, 3]), [2]);
      const flat = ops.reshape(emb, [6, 4]);
      const picked = ops.gather(flat, ops.add(ops.mul(am, 1), rowStart), 0); // [2,4]
      return ops.add(picked, ops.cast(ops.reshape(am, [2, 1]), "float32"));
    },
  },
  {
    name: "wide conv1d, strided conv2d (the tfjs cpu backend lowers both to im2col + matMul)",
    inputs: [
      { name: "x", shape: [1, 96, 20], data: randn(96 * 20, 16) },
      { name: "z", shape: [2, 3, 9, 8], data: randn(2 * 3 * 9 * 8, 17) },
    ],
    run: (ops, [x, z]) => {
      const w = ops.constant(randn(8 * 96 * 7, 18, 0.05), [8, 96, 7]);
      const y = ops.conv(x, w, null, { padding: 6, dilation: 2 }); // [1, 8, 20]
      const c = ops.conv(z, ops.param(CW), ops.param(CB), {
        stride: 2,
        padding: [
          [0, 1],
          [1, 0],
        ],
      }); // [2, 5, 4, 4]
      return ops.add(ops.sum(y, [1, 2], true), ops.reshape(ops.mean(c, [0, 1]), [1, 1, 16]));
    },
  },
  {
    name: "q4-sized linear",
    inputs: [{ name: "x", shape: [3, 64], data: randn(192, 8) }],
    run: (ops, [x]) => ops.linear(x, WQ, null),
  },
];
