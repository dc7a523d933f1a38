/**
 * The engine worker: owns the runtime (one shared GPUDevice for ORT and tfjs) and hosts engine jobs.
 * onnxruntime-web is imported here, in the worker that uses it (its proxy worker does not support WebGPU).
 */
import "./csp.js";
// tfjs-core's index registers its flags; evaluate it before any module imports register_all_gradients, whose
// dev-server pre-bundle otherwise runs first and fails with "Cannot evaluate flag 'DEBUG'".
import "@tensorflow/tfjs-core";
import { OnnxEmitter } from "../engine/ops/onnx/emitter.js";
import { TfjsOps, valueAndGrads } from "../engine/ops/tfjs.js";
import { createRuntime, type Runtime } from "../engine/runtime/runtime.js";
import { selftestGrad } from "../engine/runtime/selftest/grad.js";
import { selftestOnnx } from "../engine/runtime/selftest/onnx.js";
import { selftestSlow } from "../engine/runtime/selftest/slow.js";
import { BUNDLED_PACK_PATH, generateJobs } from "./generate-job.js";
import { hostJobs } from "./host.js";
import { enginePackJobs } from "./pack-jobs.js";
import { CrashMode } from "./protocol.js";
import { closeSelf, dedicatedWorkerScope, vendorUrl } from "./scope.js";

let runtime: Promise<Runtime> | null = null;

/** Created on first use and kept for the worker's life; a failed start is retried by the next job. */
function getRuntime(): Promise<Runtime> {
  if (!runtime) {
    const vendor = vendorUrl();
    runtime = createRuntime({
      backend: "auto",
      assets: { ortWasm: `${vendor}ort/`, tfjsWasm: `${vendor}tfjs/` },
    });
    runtime.catch(() => {
      runtime = null;
    });
  }
  return runtime;
}

hostJobs(dedicatedWorkerScope(), "engine", {
  ...enginePackJobs(getRuntime),
  ...generateJobs({
    runtime: getRuntime,
    tfjsWasm: `${vendorUrl()}tfjs/`,
    bundledUrl: new URL(`${import.meta.env.BASE_URL}${BUNDLED_PACK_PATH}`, self.location.origin).href,
  }),
  probe: async () => (await getRuntime()).report,
  "selftest-onnx": async (_params, ctx) => {
    const result = await selftestOnnx(await getRuntime(), () => new OnnxEmitter({ weights: "fp32" }), ctx);
    if (result.webgpu) ctx.transfer(result.webgpu.p.buffer as ArrayBuffer);
    ctx.transfer(result.wasm.p.buffer as ArrayBuffer);
    return result;
  },
  "selftest-grad": async (_params, ctx) => {
    const rt = await getRuntime();
    const result = await selftestGrad(
      { ops: new TfjsOps(), backend: rt.report.tfjs.backend, valueAndGrads },
      ctx,
    );
    ctx.transfer(result.grad.buffer as ArrayBuffer, result.gradReference.buffer as ArrayBuffer);
    return result;
  },
  "selftest-slow": (params, ctx) => selftestSlow(params, ctx),
  "selftest-crash": ({ mode }) => {
    if (mode === CrashMode.Throw) {
      setTimeout(() => {
        throw new Error("selftest-crash: a deliberate uncaught error");
      });
    } else if (mode === CrashMode.Close) closeSelf();
    else for (;;) {} // CrashMode.Hang: never yields, so heartbeats stop
    return new Promise(() => {});
  },
});
