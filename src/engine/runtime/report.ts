/**
 * The capability report: what this browser/worker can run, produced once by `createRuntime` and frozen.
 * A zod schema (not just a type) because the report crosses the worker boundary and is validated there.
 */
import { z } from "zod";

export const Backend = { WebGpu: "webgpu", Wasm: "wasm" } as const;
export type BackendType = (typeof Backend)[keyof typeof Backend];

const limits = z.record(z.string(), z.number());

export const WebGpuReportSchema = z.object({
  adapter: z.object({
    vendor: z.string(),
    architecture: z.string(),
    device: z.string(),
    description: z.string(),
    isFallbackAdapter: z.boolean(),
  }),
  features: z.array(z.string()),
  shaderF16: z.boolean(),
  /** What the adapter offers. */
  adapterLimits: limits,
  /** What the shared device was granted (requested at the adapter's maximum). */
  deviceLimits: limits,
  /** True when onnxruntime-web and tfjs run on the same GPUDevice. */
  sharedDevice: z.boolean(),
});
export type WebGpuReport = z.infer<typeof WebGpuReportSchema>;

export const CapabilityReportSchema = z.object({
  backend: z.enum([Backend.WebGpu, Backend.Wasm]),
  /** Why WebGPU is not used, in words a user can act on; null when it is. */
  fallbackReason: z.string().nullable(),
  webgpu: WebGpuReportSchema.nullable(),
  crossOriginIsolated: z.boolean(),
  hardwareConcurrency: z.number().int(),
  userAgent: z.string(),
  ort: z.object({
    version: z.string(),
    executionProviders: z.array(z.string()),
    wasmThreads: z.number().int(),
  }),
  tfjs: z.object({ version: z.string(), backend: z.string() }),
  /** Milliseconds the probe and backend start-up took. */
  startupMs: z.number(),
});
export type CapabilityReport = z.infer<typeof CapabilityReportSchema>;

/** Limits the engine plans memory against; reported for both adapter and device. */
export const REPORTED_LIMITS = Object.freeze([
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
] as const);

export function pickLimits(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of REPORTED_LIMITS) out[k] = l[k];
  return out;
}
