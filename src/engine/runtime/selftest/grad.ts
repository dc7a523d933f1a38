/**
 * Self-test (b): the gradient of the composed function (conv → layerNorm → softmax → cosine) computed by tfjs
 * on the runtime's backend (WebGPU on the shared device), against central finite differences of the float64
 * reference computed in the same worker.
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { z } from "zod";
import type { Ops } from "../../ops/ops.js";
import type { JobContext } from "../job.js";
import { throwIfCancelled } from "../job.js";
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

/** What the self-test needs from ops/tfjs.ts. */
export interface TfjsExecutor {
  ops: Ops<Tensor> & { dispose(): void };
  backend: string;
  valueAndGrads(f: (...xs: Tensor[]) => Tensor, xs: readonly Tensor[]): { value: Tensor; grads: Tensor[] };
}

export const FD_STEP = 1e-5;

export const GradSelftestSchema = z.object({
  backend: z.string(),
  loss: z.number(),
  lossReference: z.number(),
  grad: float32Schema(),
  gradReference: float64Schema(),
  /** ‖grad − fd‖ / ‖fd‖. */
  relL2: z.number(),
  maxAbsDiff: z.number(),
  fdStep: z.number(),
  ms: z.number(),
});
export type GradSelftestResult = z.infer<typeof GradSelftestSchema>;

export async function selftestGrad(tfx: TfjsExecutor, ctx: JobContext): Promise<GradSelftestResult> {
  const data = composedData(2);
  const t0 = performance.now();
  ctx.emit({ type: "phase", phase: "tfjs-grad" });
  const { ops } = tfx;
  let value: Tensor | null = null;
  let grads: Tensor[] = [];
  try {
    const x = ops.constant(data.x, X_SHAPE);
    ({ value, grads } = tfx.valueAndGrads((xt) => composed(ops, xt, data).loss, [x]));
    const loss = (await value.data())[0]!;
    const grad = Float32Array.from(await grads[0]!.data());
    const ms = Math.round(performance.now() - t0);
    throwIfCancelled(ctx.signal);
    ctx.emit({ type: "phase", phase: "finite-differences" });
    const gradReference = referenceGrad(data, FD_STEP);
    return {
      backend: tfx.backend,
      loss,
      lossReference: composedReference(data.x, data).loss,
      grad,
      gradReference,
      relL2: relL2(grad, gradReference),
      maxAbsDiff: maxAbsDiff(grad, gradReference),
      fdStep: FD_STEP,
      ms,
    };
  } finally {
    value?.dispose();
    for (const g of grads) g.dispose();
    ops.dispose();
  }
}
