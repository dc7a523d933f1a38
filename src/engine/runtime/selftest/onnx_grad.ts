/**
 * Self-test (c): the gradient of the composed function (conv → layerNorm → softmax → cosine) through the emitted
 * backward (ops/onnx/grad.ts, the aligner's default gradient path), run by onnxruntime-web on the WebGPU EP and the
 * wasm EP, against central finite differences of the float64 reference.
 */
import { z } from "zod";
import type { GSym } from "../../ops/onnx/grad.js";
import { runSession } from "../../ops/onnx/session.js";
import type { Ops, Shape } from "../../ops/ops.js";
import type { JobContext } from "../job.js";
import { throwIfCancelled } from "../job.js";
import type { ExecutionProvider, Runtime } from "../runtime.js";
import { float32Schema, float64Schema } from "../schema.js";
import {
  composed,
  composedData,
  composedReference,
  maxAbsDiff,
  referenceGrad,
  relL2,
  X_SHAPE,
} from "./composed.js";
import { FD_STEP } from "./grad.js";

/** The parts of `OnnxGradTracer` (over an `OnnxEmitter`) the self-test uses. */
export interface GradGraph extends Ops<GSym> {
  input(name: string, shape: Shape, opts: { grad?: boolean }): GSym;
  gradients(y: GSym, wrt: readonly GSym[]): { name: string }[];
  emitter: { output(name: string, x: { name: string }): void; build(): { model: Uint8Array } };
}

const epOutput = z.object({ grad: float32Schema(), loss: z.number(), relL2: z.number(), ms: z.number() });

export const OnnxGradSelftestSchema = z.object({
  /** null when the runtime has no WebGPU device. */
  webgpu: epOutput.nullable(),
  wasm: epOutput,
  gradReference: float64Schema(),
  lossReference: z.number(),
  /** max |∂webgpu − ∂wasm|; null without WebGPU. */
  maxAbsDiff: z.number().nullable(),
  fdStep: z.number(),
});
export type OnnxGradSelftestResult = z.infer<typeof OnnxGradSelftestSchema>;

export async function selftestOnnxGrad(
  rt: Runtime,
  makeGraph: () => GradGraph,
  ctx: JobContext,
): Promise<OnnxGradSelftestResult> {
  const data = composedData(2);
  const gt = makeGraph();
  const x = gt.input("x", X_SHAPE, { grad: true });
  const { loss } = composed(gt, x, data);
  const [grad] = gt.gradients(loss, [x]);
  gt.emitter.output("loss", loss);
  gt.emitter.output("grad", grad!);
  const { model } = gt.emitter.build();
  ctx.emit({ type: "phase", phase: "finite-differences" });
  const gradReference = referenceGrad(data, FD_STEP);

  const runOn = async (ep: ExecutionProvider) => {
    throwIfCancelled(ctx.signal);
    ctx.emit({ type: "phase", phase: `onnx-grad-${ep}` });
    const t0 = performance.now();
    const session = await rt.createSession(model, ep);
    try {
      const out = await runSession(rt.ort, session, { x: { data: data.x.slice(), shape: X_SHAPE } });
      const g = out.grad?.data;
      const l = out.loss?.data;
      if (!(g instanceof Float32Array) || !(l instanceof Float32Array))
        throw new Error(`the ${ep} session did not return float32 outputs "grad" and "loss"`);
      return {
        grad: g.slice(),
        loss: l[0]!,
        relL2: relL2(g, gradReference),
        ms: Math.round(performance.now() - t0),
      };
    } finally {
      await session.release();
    }
  };

  const webgpu = rt.device ? await runOn("webgpu") : null;
  const wasm = await runOn("wasm");
  return {
    webgpu,
    wasm,
    gradReference,
    lossReference: composedReference(data.x, data).loss,
    maxAbsDiff: webgpu ? maxAbsDiff(webgpu.grad, wasm.grad) : null,
    fdStep: FD_STEP,
  };
}
