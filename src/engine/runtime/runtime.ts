/**
 * Backend selection and the shared GPUDevice (DESIGN.md "runtime/").
 *
 * Order matters, because onnxruntime-web ignores a user-provided `env.webgpu.device`:
 *  1. request a WebGPU adapter and give it to ORT (`env.webgpu.adapter`); ORT requests the device with the
 *     adapter's maximum limits (maxStorageBufferBindingSize, maxBufferSize, …) and shader-f16 when offered;
 *  2. create a one-node ORT session (built with the ONNX emitter) on the WebGPU EP, which creates that device;
 *  3. hand `await ort.env.webgpu.device` to tfjs-webgpu, so ONE GPUDevice serves both.
 * Without WebGPU the runtime falls back to ORT's wasm EP and tfjs-backend-wasm, and says why.
 * The report is produced once and frozen (STYLE.md 14); a worker creates one runtime and reuses it.
 */
import * as ort from "onnxruntime-web";
import { DeviceLostError, UnsupportedError } from "../errors.js";
import { OnnxEmitter } from "../ops/onnx/emitter.js";
import { type GpuBufferCounter, type GpuBufferCounts, trackGpuBuffers } from "./gpu-buffers.js";
import { Backend, type BackendType, type CapabilityReport, pickLimits, type WebGpuReport } from "./report.js";
import { startTfjsWasm, startTfjsWebGpu, tfjsVersion } from "./tfjs-backend.js";

export type BackendPreference = "auto" | BackendType;

/** Same-origin URL prefixes (ending in "/") of the runtime files served under /vendor/ (see vite.config.ts). */
export interface RuntimeAssets {
  ortWasm: string;
  tfjsWasm: string;
}

export interface RuntimeOptions {
  backend?: BackendPreference;
  assets: RuntimeAssets;
}

export type ExecutionProvider = "webgpu" | "wasm";

export interface Runtime {
  readonly report: CapabilityReport;
  readonly ort: typeof ort;
  /** The device shared by ORT and tfjs; null on the wasm fallback. */
  readonly device: GPUDevice | null;
  /**
   * Settles (never rejects) with a DeviceLostError once the shared device is lost (driver reset, GPU process
   * crash, `device.destroy()`); null on the wasm fallback. Neither ORT nor tfjs can move to a new device, so
   * the owner replaces the whole runtime (the engine worker restarts itself, see engine.worker.ts).
   */
  readonly lost: Promise<DeviceLostError> | null;
  /** The GPU buffers ORT and tfjs hold on the shared device (gpu-buffers.ts); null on the wasm fallback. */
  gpuBuffers(): GpuBufferCounts | null;
  /** Creates an ORT session on the given EP (default: the runtime's backend). */
  createSession(model: Uint8Array, ep?: ExecutionProvider): Promise<ort.InferenceSession>;
}

/** y = x + x on float32[4]: the smallest graph that makes ORT create its WebGPU device. */
function bootstrapModel(): Uint8Array {
  const em = new OnnxEmitter({ graphName: "bootstrap" });
  const x = em.input("x", [4]);
  em.output("y", em.add(x, x));
  return em.build().model;
}

const NO_WEBGPU =
  "This browser does not expose WebGPU (navigator.gpu is missing): use a recent Chrome or Edge, or enable WebGPU " +
  "(on Linux: chrome://flags/#enable-unsafe-webgpu). Running on the CPU (wasm), which is much slower.";
const NO_ADAPTER =
  "WebGPU is present but no GPU adapter was found (no GPU, or the driver is blocklisted). Running on the CPU (wasm).";

async function startWebGpu(
  adapter: GPUAdapter,
): Promise<{ device: GPUDevice; buffers: GpuBufferCounter; tfjsBackend: string; report: WebGpuReport }> {
  ort.env.webgpu.adapter = adapter;
  const session = await ort.InferenceSession.create(bootstrapModel(), {
    executionProviders: ["webgpu"],
    logSeverityLevel: 3,
  });
  try {
    const x = new ort.Tensor("float32", new Float32Array([1, 2, 3, 4]), [4]);
    const { y } = await session.run({ x });
    const got = y?.data as Float32Array | undefined;
    if (got?.[3] !== 8) throw new Error("the WebGPU execution provider returned a wrong result for x + x");
  } finally {
    await session.release();
  }
  const device = await ort.env.webgpu.device;
  // counted from here on: every buffer of the jobs' sessions and of tfjs (before tfjs starts on the device)
  const buffers = trackGpuBuffers(device);
  const info = adapter.info;
  const tfjsBackend = await startTfjsWebGpu(device, info);
  const features = [...adapter.features].sort();
  const report: WebGpuReport = {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    },
    features,
    shaderF16: device.features.has("shader-f16"),
    adapterLimits: pickLimits(adapter.limits),
    deviceLimits: pickLimits(device.limits),
    sharedDevice: true,
  };
  return { device, buffers, tfjsBackend, report };
}

export async function createRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const t0 = performance.now();
  const preference = opts.backend ?? "auto";
  ort.env.wasm.wasmPaths = opts.assets.ortWasm;
  ort.env.logLevel = "error";

  let fallbackReason: string | null = null;
  let adapter: GPUAdapter | null = null;
  if (preference === Backend.Wasm) fallbackReason = "WebGPU is turned off in the settings (backend: wasm).";
  else if (typeof navigator === "undefined" || !navigator.gpu) fallbackReason = NO_WEBGPU;
  else {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) fallbackReason = NO_ADAPTER;
  }

  let gpu: Awaited<ReturnType<typeof startWebGpu>> | null = null;
  if (adapter) {
    try {
      gpu = await startWebGpu(adapter);
    } catch (err) {
      fallbackReason = `WebGPU start-up failed (${err instanceof Error ? err.message : String(err)}). Running on the CPU (wasm).`;
    }
  }
  if (!gpu && preference === Backend.WebGpu) {
    throw new UnsupportedError(
      `${fallbackReason ?? "WebGPU is unavailable."} Set the backend to "auto" or "wasm".`,
    );
  }
  const tfjsBackend = gpu ? gpu.tfjsBackend : await startTfjsWasm(opts.assets.tfjsWasm);
  const backend: BackendType = gpu ? Backend.WebGpu : Backend.Wasm;
  const report: CapabilityReport = deepFreeze({
    backend,
    fallbackReason,
    webgpu: gpu?.report ?? null,
    crossOriginIsolated: Boolean(globalThis.crossOriginIsolated),
    hardwareConcurrency: typeof navigator === "undefined" ? 1 : navigator.hardwareConcurrency,
    userAgent: typeof navigator === "undefined" ? "" : navigator.userAgent,
    ort: {
      version: ort.env.versions.web ?? ort.env.versions.common,
      executionProviders: gpu ? ["webgpu", "wasm"] : ["wasm"],
      wasmThreads: ort.env.wasm.numThreads ?? 1,
    },
    tfjs: { version: tfjsVersion, backend: tfjsBackend },
    startupMs: Math.round(performance.now() - t0),
  });
  const device = gpu?.device ?? null;
  const lost = device ? device.lost.then(deviceLostError) : null;
  return Object.freeze({
    report,
    ort,
    device,
    lost,
    gpuBuffers: () => gpu?.buffers.counts() ?? null,
    createSession: (model: Uint8Array, ep: ExecutionProvider = backend) => {
      if (ep === "webgpu" && !device) {
        return Promise.reject(
          new UnsupportedError(`No WebGPU device: ${fallbackReason ?? "unknown reason"}`),
        );
      }
      // Severity 3 (errors only): ORT's warning that shape ops run on the CPU is expected and noisy.
      return ort.InferenceSession.create(model, { executionProviders: [ep], logSeverityLevel: 3 });
    },
  });
}

/** The error every job that was using a lost device fails with; the message says what happens and what to do. */
export function deviceLostError(info: { reason: string; message: string }): DeviceLostError {
  const why = info.message.trim() ? `${info.reason}: ${info.message.trim()}` : info.reason;
  return new DeviceLostError(
    `The GPU device was lost (${why}). The engine is restarting on a new device: run the job again. ` +
      "If this keeps happening, close other GPU-heavy tabs, lower the resolution or frame count, or set the " +
      'backend to "wasm".',
    { reason: info.reason },
  );
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
