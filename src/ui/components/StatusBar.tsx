/** A one-line footer: which backend runs, and whether the workers are healthy. */
import { useStudio } from "../context.js";

export function StatusBar() {
  const caps = useStudio((s) => s.capabilities);
  const workers = useStudio((s) => s.workers);
  const running = useStudio((s) => s.jobs.filter((j) => j.status === "running").length);
  const backend =
    caps.report?.backend === "webgpu"
      ? `WebGPU${caps.report.webgpu?.shaderF16 ? " · f16" : ""}`
      : caps.report
        ? "CPU (wasm)"
        : caps.status === "error"
          ? "probe failed"
          : "probing…";
  const unhealthy = Object.values(workers).filter((w) => w && w.state !== "ready");
  return (
    <footer className="statusbar">
      <span>Backend: {backend}</span>
      <span>{running > 0 ? `${running} job${running > 1 ? "s" : ""} running (Esc cancels)` : "idle"}</span>
      <span>
        {unhealthy.length
          ? `workers: ${unhealthy.map((w) => `${w?.worker} ${w?.state}`).join(", ")}`
          : "workers ready"}
      </span>
    </footer>
  );
}
