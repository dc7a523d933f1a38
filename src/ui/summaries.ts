/** One-line, human-readable summaries of job results for the job list (no tensors reach the store). */
import type { JobResult, JobType } from "../workers/protocol.js";
import { packSummaries } from "./packs.js";
import { studioSummaries } from "./studio/summaries.js";

const sci = (x: number) => x.toExponential(1);

type Summarizers = { [J in JobType]: (r: JobResult<J>) => string };

const summarizers: Summarizers = {
  probe: (r) => {
    const a = r.webgpu?.adapter;
    const name =
      [a?.vendor, a?.architecture, a?.description].filter(Boolean).join(" ") || "adapter details hidden";
    return r.backend === "webgpu" ? `WebGPU (${name})` : `wasm fallback: ${r.fallbackReason}`;
  },
  "selftest-onnx": (r) =>
    r.maxAbsDiff === null
      ? `wasm only (no WebGPU); max |wasm − ref| ${sci(r.maxAbsDiffVsReference)}`
      : `max |webgpu − wasm| ${sci(r.maxAbsDiff)}, vs float64 ${sci(r.maxAbsDiffVsReference)}`,
  "selftest-grad": (r) => `${r.backend}: rel. L2 vs finite differences ${sci(r.relL2)}`,
  "selftest-onnx-grad": (r) =>
    `${r.webgpu ? `WebGPU EP rel. L2 ${sci(r.webgpu.relL2)}, ` : ""}wasm EP rel. L2 ${sci(r.wasm.relL2)} vs finite differences`,
  "selftest-slow": (r) => `${r.completed} iterations`,
  "selftest-crash": () => "the worker survived (unexpected)",
  mux: (r) => r.files.map((f) => `${f.format} ${(f.bytes.byteLength / 1024).toFixed(1)} KiB`).join(", "),
  ...packSummaries,
  ...studioSummaries,
};

export function summarize<J extends JobType>(job: J, result: JobResult<J>): string {
  return (summarizers[job] as (r: JobResult<J>) => string)(result);
}
