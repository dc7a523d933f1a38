/**
 * The engine worker: owns the runtime (one shared GPUDevice for ORT and tfjs) and hosts engine jobs.
 * onnxruntime-web is imported here, in the worker that uses it (its proxy worker does not support WebGPU).
 */
import "./csp.js";
// tfjs-core's index registers its flags; evaluate it before any module imports register_all_gradients, whose
// dev-server pre-bundle otherwise runs first and fails with "Cannot evaluate flag 'DEBUG'".
import "@tensorflow/tfjs-core";
import { OnnxEmitter } from "../engine/ops/onnx/emitter.js";
import { OnnxGradTracer } from "../engine/ops/onnx/grad.js";
import { TfjsOps, valueAndGrads } from "../engine/ops/tfjs.js";
import { opfsCache } from "../engine/packs/cache-opfs.js";
import { packFromCache, packFromUrl } from "../engine/packs/loader.js";
import { createRuntime, type Runtime } from "../engine/runtime/runtime.js";
import { selftestGrad } from "../engine/runtime/selftest/grad.js";
import { selftestOnnx } from "../engine/runtime/selftest/onnx.js";
import { selftestOnnxGrad } from "../engine/runtime/selftest/onnx_grad.js";
import { selftestSlow } from "../engine/runtime/selftest/slow.js";
import { BUNDLED_PACK_PATH, generateJobs } from "./generate-job.js";
import { type Host, hostJobs, type WorkerScope } from "./host.js";
import { generateOomAdvice } from "./oom-advice.js";
import { enginePackJobs } from "./pack-jobs.js";
import { CrashMode } from "./protocol.js";
import { closeSelf, dedicatedWorkerScope, vendorUrl } from "./scope.js";

let runtime: Promise<Runtime> | null = null;
let host: Host | null = null;

/**
 * Created on first use and kept for the worker's life; a failed start is retried by the next job. When the shared
 * GPU device is lost, every job fails with DeviceLostError and the worker asks the client to replace it: ORT's
 * WebGPU backend and tfjs-webgpu are bound to their device for the life of the wasm heap, so a fresh worker is
 * how the engine gets a new device.
 */
function getRuntime(): Promise<Runtime> {
  if (!runtime) {
    const vendor = vendorUrl();
    runtime = createRuntime({
      backend: "auto",
      assets: { ortWasm: `${vendor}ort/`, tfjsWasm: `${vendor}tfjs/` },
    });
    runtime.then(
      (rt) =>
        rt.lost?.then((err) => {
          host?.failAll(err);
          host?.restart(err.message);
        }),
      () => {
        runtime = null;
      },
    );
  }
  return runtime;
}

/**
 * Fault injection for the reliability e2e test (e2e/reliability.e2e.ts): a same-origin page posts
 * {fault: "destroy-device"} on this channel to destroy the shared device mid-job, as a GPU reset would.
 * It can do nothing a page script could not already do (terminate the worker).
 */
new BroadcastChannel("studio-faults").onmessage = (e: MessageEvent<unknown>) => {
  const fault = (e.data as { fault?: unknown } | null)?.fault;
  if (fault === "destroy-device") void runtime?.then((rt) => rt.device?.destroy());
};

/** True when the runtime's device is lost now or within `waitMs` (its `lost` promise settles a task later). */
async function deviceLostSoon(waitMs: number): Promise<boolean> {
  const rt = await runtime?.catch(() => null);
  if (!rt?.lost) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), waitMs);
  });
  const lost = await Promise.race([rt.lost.then(() => true as const), late]);
  clearTimeout(timer);
  return lost;
}

/**
 * A destroyed device makes ORT's and tfjs's pending buffer maps reject where no job awaits them ("mapAsync …
 * Buffer was unmapped"), before `device.lost` settles. Such a rejection is part of the device loss (handled
 * above: DeviceLostError, then a restart), not a crash of its own; any other is reported as fatal as before.
 */
function deviceAwareScope(scope: WorkerScope): WorkerScope {
  return {
    postMessage: scope.postMessage,
    onMessage: scope.onMessage,
    onUnhandled: (handler) =>
      scope.onUnhandled((reason) => {
        void deviceLostSoon(1000).then((lost) => {
          if (!lost) handler(reason);
        });
      }),
  };
}

const bundledUrl = new URL(`${import.meta.env.BASE_URL}${BUNDLED_PACK_PATH}`, self.location.origin).href;

/** The planner's advice for a generate job that ran out of memory, over the manifest of the pack it used. */
async function outOfMemoryAdvice(job: string, params: unknown): Promise<string | null> {
  if (job !== "generate") return null;
  const pack = (params as { pack?: { kind?: unknown; id?: unknown } }).pack;
  const source =
    pack?.kind === "installed" && typeof pack.id === "string"
      ? await packFromCache(await opfsCache(), pack.id)
      : await packFromUrl(bundledUrl);
  return generateOomAdvice(params, source.manifest);
}

host = hostJobs(
  deviceAwareScope(dedicatedWorkerScope()),
  "engine",
  {
    ...enginePackJobs(getRuntime),
    ...generateJobs({
      runtime: getRuntime,
      tfjsWasm: `${vendorUrl()}tfjs/`,
      bundledUrl,
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
    "selftest-onnx-grad": async (_params, ctx) => {
      const rt = await getRuntime();
      const result = await selftestOnnxGrad(
        rt,
        () => new OnnxGradTracer(new OnnxEmitter({ weights: "fp32" }), { recompute: true }),
        ctx,
      );
      if (result.webgpu) ctx.transfer(result.webgpu.grad.buffer as ArrayBuffer);
      ctx.transfer(result.wasm.grad.buffer as ArrayBuffer, result.gradReference.buffer as ArrayBuffer);
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
  },
  { outOfMemoryAdvice },
);
