/**
 * Self-test (a): build a small ONNX model in code with the project's emitter (the `composed` function), run it
 * on onnxruntime-web's WebGPU EP and wasm EP, and compare both with each other and with the float64 reference.
 */
import { z } from "zod";
import { runSession } from "../../ops/onnx/session.js";
import type { Ops, Shape } from "../../ops/ops.js";
import type { JobContext } from "../job.js";
import { throwIfCancelled } from "../job.js";
import type { ExecutionProvider, Runtime } from "../runtime.js";
import { float32Schema } from "../schema.js";
import { composed, composedData, composedReference, maxAbsDiff, X_SHAPE, Y_SHAPE } from "./composed.js";

/** The parts of `OnnxEmitter` (ops/onnx/emitter.ts) the self-test uses. */
export interface GraphEmitter<S> extends Ops<S> {
  input(name: string, shape: Shape): S;
  output(name: string, x: S): void;
  build(): { model: Uint8Array };
}

const epOutput = z.object({ p: float32Schema(), loss: z.number(), ms: z.number() });

export const OnnxSelftestSchema = z.object({
  shape: z.array(z.number().int()),
  modelBytes: z.number().int(),
  /** null when the runtime has no WebGPU device. */
  webgpu: epOutput.nullable(),
  wasm: epOutput,
  /** max |webgpu − wasm| over the softmax map; null without WebGPU. */
  maxAbsDiff: z.number().nullable(),
  /** max |EP − float64 reference| over the softmax map, worst of the EPs that ran. */
  maxAbsDiffVsReference: z.number(),
});
export type OnnxSelftestResult = z.infer<typeof OnnxSelftestSchema>;

export async function selftestOnnx<S>(
  rt: Runtime,
  makeEmitter: () => GraphEmitter<S>,
  ctx: JobContext,
): Promise<OnnxSelftestResult> {
  const data = composedData(1);
  const em = makeEmitter();
  const { p, loss } = composed(em, em.input("x", X_SHAPE), data);
  em.output("p", p);
  em.output("loss", loss);
  const { model } = em.build();

  const runOn = async (ep: ExecutionProvider) => {
    throwIfCancelled(ctx.signal);
    ctx.emit({ type: "phase", phase: `onnx-${ep}` });
    const t0 = performance.now();
    const session = await rt.createSession(model, ep);
    try {
      const out = await runSession(rt.ort, session, { x: { data: data.x.slice(), shape: X_SHAPE } });
      const pOut = out.p?.data;
      const lossOut = out.loss?.data;
      if (!(pOut instanceof Float32Array) || !(lossOut instanceof Float32Array)) {
        throw new Error(`the ${ep} session did not return float32 outputs "p" and "loss"`);
      }
      return { p: pOut.slice(), loss: lossOut[0]!, ms: Math.round(performance.now() - t0) };
    } finally {
      await session.release();
    }
  };

  const webgpu = rt.device ? await runOn("webgpu") : null;
  const wasm = await runOn("wasm");
  const ref = composedReference(data.x, data).p;
  return {
    shape: [...Y_SHAPE],
    modelBytes: model.byteLength,
    webgpu,
    wasm,
    maxAbsDiff: webgpu ? maxAbsDiff(webgpu.p, wasm.p) : null,
    maxAbsDiffVsReference: Math.max(maxAbsDiff(wasm.p, ref), webgpu ? maxAbsDiff(webgpu.p, ref) : 0),
  };
}
