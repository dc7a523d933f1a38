/**
 * The self-tests' composed function on both executors in Node — tfjs-cpu (value and gradient) and the ONNX
 * emitter on onnxruntime-node — against the float64 reference, so a browser failure points at the backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { OnnxEmitter } from "../../ops/onnx/emitter.js";
import { createSession, runSession } from "../../ops/onnx/session.js";
import { TfjsOps, valueAndGrads } from "../../ops/tfjs.js";
import {
  composed,
  composedData,
  composedReference,
  maxAbsDiff,
  referenceGrad,
  relL2,
  X_SHAPE,
} from "./composed.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("composed self-test function", () => {
  const data = composedData(3);
  const ref = composedReference(data.x, data);

  it("is a probability map per pixel and a loss in [0, 2]", () => {
    for (let s = 0; s < 36; s++) {
      let z = 0;
      for (let o = 0; o < 4; o++) z += ref.p[o * 36 + s]!;
      expect(z).toBeCloseTo(1, 12);
    }
    expect(ref.loss).toBeGreaterThanOrEqual(0);
    expect(ref.loss).toBeLessThanOrEqual(2);
  });

  it("matches the float64 reference on tfjs-cpu, value and gradient", () => {
    const ops = new TfjsOps();
    const x = ops.constant(data.x, X_SHAPE);
    const { value, grads } = valueAndGrads((xt) => composed(ops, xt, data).loss, [x]);
    expect(Math.abs(value.dataSync()[0]! - ref.loss)).toBeLessThan(1e-6);
    const fd = referenceGrad(data);
    expect(relL2(grads[0]!.dataSync() as Float32Array, fd)).toBeLessThan(1e-4);
    ops.dispose();
  });

  it("emits an ONNX graph that onnxruntime-node runs to the same values", async () => {
    const em = new OnnxEmitter({ weights: "fp32" });
    const { p, loss } = composed(em, em.input("x", X_SHAPE), data);
    em.output("p", p);
    em.output("loss", loss);
    const session = await createSession(ort, em.build());
    const out = await runSession(ort, session, { x: { data: data.x, shape: X_SHAPE } });
    expect(maxAbsDiff(out.p!.data, ref.p)).toBeLessThan(1e-6);
    expect(Math.abs(out.loss!.data[0]! - ref.loss)).toBeLessThan(1e-6);
    await session.release();
  });

  it("has a finite-difference reference accurate to O(h²)", () => {
    const coarse = referenceGrad(data, 1e-3);
    const fine = referenceGrad(data, 1e-5);
    expect(relL2(coarse, fine)).toBeLessThan(1e-4);
  });
});
