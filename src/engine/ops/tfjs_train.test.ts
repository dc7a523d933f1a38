import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { withTfjsBackend } from "../../../test/support/tfjs-backend.js";
import { ensureTfjsWasm } from "../runtime/tfjs-node.js";
import { Param } from "./param.js";
import { TfjsOps } from "./tfjs.js";
import { registerWasmTrainingKernels } from "./tfjs_train.js";

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** Gradients of a small conv / conv-transpose / embedding model with trainable params, on one backend. */
async function grads(backend: "wasm" | "cpu", fast = false): Promise<Float32Array[]> {
  return withTfjsBackend(backend, async () => {
    registerWasmTrainingKernels({ fastBackpropInput: fast, fastMatMul: fast });
    const ops = new TfjsOps({ trainable: true });
    const w = new Param([4, 3, 3, 3]);
    w.set(seeded(w.size, 1));
    const wt = new Param([4, 2, 4]);
    wt.set(seeded(wt.size, 2));
    const emb = new Param([11, 3]);
    emb.set(seeded(emb.size, 3));
    const patch = new Param([5, 2, 4, 4]); // kernel = stride: ImageBind's audio stem
    patch.set(seeded(patch.size, 5));
    const lin = new Param([8, 6]);
    lin.set(seeded(lin.size, 6));
    const x = tf.tensor(seeded(2 * 3 * 9 * 8, 4), [2, 3, 9, 8]);
    const ids = tf.tensor([1, 5, 5, 10, 0, 1], [6], "int32");
    const xp = tf.tensor(seeded(2 * 2 * 10 * 13, 7), [2, 2, 10, 13]);
    const vars = [
      ops.param(w),
      ops.param(wt),
      ops.param(emb),
      ops.param(patch),
      ops.param(lin),
    ] as tf.Variable[];
    const f = () => {
      const y = ops.conv(x, ops.param(w), null, { stride: 2, padding: 1 }); // [2, 4, 5, 4]
      const y1 = ops.reshape(y, [2, 4, 20]);
      const z = ops.convTranspose(y1, ops.param(wt), null, { stride: 2, padding: 1 }); // [2, 2, 40]
      const e = ops.gather(ops.param(emb), ids, 0); // [6, 3]
      const p = ops.conv(xp, ops.param(patch), null, { stride: 4 }); // [2, 5, 2, 3]
      const l = ops.linear(ops.reshape(p, [2, 5, 6]), lin, null); // x·Wᵀ: a transposed matmul
      return tf.addN([tf.sum(tf.square(z)), tf.sum(tf.mul(e, tf.sin(e))), tf.sum(tf.square(l))]);
    };
    const { grads: g } = tf.variableGrads(f as () => tf.Scalar, vars);
    const out: Float32Array[] = [];
    for (const v of vars) out.push((await g[v.name].data()) as Float32Array);
    tf.dispose(Object.values(g));
    ops.dispose();
    return out;
  });
}

describe("registerWasmTrainingKernels", () => {
  it("gives wasm the conv weight and gather gradients of the cpu backend", async () => {
    if (!(await ensureTfjsWasm())) return; // no wasm backend in this environment
    const ref = await grads("cpu");
    // stock Conv2DBackpropInput first, then the forward-conv lowering that replaces it
    for (const got of [await grads("wasm"), await grads("wasm", true)]) {
      expect(got.length).toBe(5);
      for (let k = 0; k < ref.length; k++) {
        let num = 0;
        let den = 0;
        for (let i = 0; i < ref[k].length; i++) {
          num += (got[k][i] - ref[k][i]) ** 2;
          den += ref[k][i] ** 2;
        }
        expect(den).toBeGreaterThan(0);
        expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
      }
    }
  });
});
