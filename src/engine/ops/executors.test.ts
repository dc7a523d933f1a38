/**
 * Executor parity: every Ops primitive is exercised by a small program written once against `Ops<T>`, run
 * eagerly by the tfjs executor and as an emitted ONNX graph by onnxruntime-node (CPU) and onnxruntime-web
 * (wasm). Outputs must agree (fp32) — and fp16 / q4 storage must stay within their expected error.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { maxAbsDiff, randn } from "../../../test/support/naive.js";
import { B1, type Program, programs, W1 } from "../../../test/support/op-programs.js";
import { OnnxEmitter, type Sym, type WeightFormat } from "./onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "./onnx/session.js";
import { TfjsOps } from "./tfjs.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
  ortWeb.env.wasm.numThreads = 1;
});

async function runTf(p: Program): Promise<{ data: Float32Array; shape: number[] }> {
  const ops = new TfjsOps();
  const y = tf.tidy(() =>
    p.run(
      ops,
      p.inputs.map((i) => tf.tensor(i.data, i.shape, i.data instanceof Int32Array ? "int32" : "float32")),
    ),
  );
  const data = Float32Array.from(await y.data());
  const shape = [...y.shape];
  y.dispose();
  ops.dispose();
  return { data, shape };
}

async function runOnnx(p: Program, ort: OrtModule, weights: WeightFormat = "fp32", external = false) {
  const em = new OnnxEmitter({ weights, q4BlockSize: 16 });
  const xs = p.inputs.map((i) =>
    em.input(i.name, i.shape, i.data instanceof Int32Array ? "int32" : "float32"),
  );
  const y = p.run<Sym>(em, xs);
  em.output("y", y);
  const built = em.build(external ? { externalData: { path: "weights.bin", threshold: 16 } } : {});
  const session = await createSession(ort, built);
  const out = await runSession(
    ort,
    session,
    Object.fromEntries(p.inputs.map((i) => [i.name, { data: i.data, shape: i.shape }])),
  );
  await session.release();
  return { data: Float32Array.from(out.y.data), shape: out.y.shape, symShape: y.shape, built };
}

describe("executor parity (tfjs vs ONNX Runtime)", () => {
  for (const p of programs) {
    it(`${p.name}: onnxruntime-node and onnxruntime-web (wasm) equal tfjs`, async () => {
      const ref = await runTf(p);
      const node = await runOnnx(p, ortNode as unknown as OrtModule);
      expect(node.shape).toEqual(ref.shape);
      expect([...node.symShape]).toEqual(ref.shape);
      expect(maxAbsDiff(node.data, ref.data)).toBeLessThan(2e-5);
      const web = await runOnnx(p, ortWeb as unknown as OrtModule, "fp32", true);
      expect(web.built.externalData).not.toBeNull();
      expect(maxAbsDiff(web.data, ref.data)).toBeLessThan(2e-5);
    });
  }

  it("fp16 and q4 storage stay close to fp32 and shrink the weights", async () => {
    const p = programs[programs.length - 1];
    const ref = await runTf(p);
    const f32 = await runOnnx(p, ortNode as unknown as OrtModule, "fp32");
    const f16 = await runOnnx(p, ortNode as unknown as OrtModule, "fp16");
    const q4 = await runOnnx(p, ortNode as unknown as OrtModule, "q4");
    const scale = Math.max(...ref.data.map(Math.abs));
    expect(maxAbsDiff(f16.data, ref.data) / scale).toBeLessThan(2e-3);
    // 4-bit symmetric blocks: error bounded by half a quantization step per weight; ~10% relative is generous
    const q4err = maxAbsDiff(q4.data, ref.data) / scale;
    expect(q4err).toBeLessThan(0.15);
    expect(q4err).toBeGreaterThan(1e-4); // it really is quantized
    expect(f16.built.stats.bytes).toBeLessThan(f32.built.stats.bytes * 0.6);
    expect(q4.built.stats.bytes).toBeLessThan(f32.built.stats.bytes * 0.25);
  });
});

describe("checkpoint is the identity on every executor", () => {
  it("tfjs and onnxruntime agree through a checkpointed block", async () => {
    const p: Program = {
      name: "checkpointed tanh-linear",
      inputs: [{ name: "x", shape: [2, 4], data: randn(8, 50) }],
      run: (ops, [x]) => ops.checkpoint((v) => ops.tanh(ops.linear(v, W1, B1)), x),
    };
    const ref = await runTf(p);
    const node = await runOnnx(p, ortNode as unknown as OrtModule);
    expect(maxAbsDiff(node.data, ref.data)).toBeLessThan(2e-6);
  });
});
