/**
 * The tfjs-backend-wasm Linear fast path (tfjs_wasm.ts) against a float64 reference and tf.matMul(x, W, false,
 * true): value and input gradient, through `TfjsOps.linear` with a frozen weight (rank-3 input, bias), on wasm.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { describe, expect, it } from "vitest";
import { maxAbsDiff, randn } from "../../../test/support/naive.js";
import { withTfjsBackend } from "../../../test/support/tfjs-backend.js";
import { Param } from "./param.js";
import { TfjsOps, valueAndGrads } from "./tfjs.js";

describe("TfjsOps.linear on tfjs-backend-wasm (XNNPACK path)", () => {
  it("matches x·Wᵀ + b and its input gradient in float64", async () => {
    await withTfjsBackend("wasm", async () => {
      expect(tf.getBackend()).toBe("wasm"); // the path under test exists only there
      const ops = new TfjsOps();
      for (const [lead, k, n] of [
        [[2, 5], 7, 3],
        [[1, 33], 64, 48],
      ] as [number[], number, number][]) {
        const rows = lead.reduce((a, b) => a * b, 1);
        const xv = randn(rows * k, 1);
        const wv = randn(n * k, 2, 0.3);
        const bv = randn(n, 3, 0.1);
        const probe = randn(rows * n, 4);
        const w = new Param([n, k]);
        const b = new Param([n]);
        w.name = "w";
        b.name = "b";
        w.set(wv);
        b.set(bv);
        const x = tf.tensor(xv, [...lead, k]);
        const f = (xi: tf.Tensor) => tf.sum(tf.mul(ops.linear(xi, w, b), tf.tensor(probe, [...lead, n])));
        const y = ops.linear(x, w, b);
        expect(y.shape).toEqual([...lead, n]);
        const ref = new Float64Array(rows * n);
        const dx = new Float64Array(rows * k);
        for (let r = 0; r < rows; r++)
          for (let o = 0; o < n; o++) {
            let acc = bv[o];
            for (let i = 0; i < k; i++) {
              acc += xv[r * k + i] * wv[o * k + i];
              dx[r * k + i] += probe[r * n + o] * wv[o * k + i];
            }
            ref[r * n + o] = acc;
          }
        expect(maxAbsDiff(y.dataSync(), ref)).toBeLessThan(1e-5);
        // and the stock transposed product it replaces
        const stock = tf.add(
          tf.matMul(tf.reshape(x, [rows, k]), tf.tensor2d(wv, [n, k]), false, true),
          tf.tensor1d(bv),
        );
        expect(maxAbsDiff(y.dataSync(), stock.dataSync())).toBeLessThan(1e-5);
        const { grads } = valueAndGrads(f, [x]);
        expect(maxAbsDiff(grads[0].dataSync(), dx)).toBeLessThan(1e-5);
      }
      ops.dispose();
    });
  });
});
