/** The probe's capability report: backend, adapter, features and limits (adapter maximum vs device granted). */
import type { CapabilityReport as Report } from "../../engine/runtime/report.js";

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
const fmtLimit = (k: string, v: number) =>
  /Size$/.test(k) && v >= 2 ** 20 ? mib(v) : v.toLocaleString("en-US");

export function CapabilityReport({ report }: { report: Report }) {
  const gpu = report.webgpu;
  return (
    <div className="report" data-testid="capability-report" data-backend={report.backend}>
      <dl className="facts">
        <dt>Backend</dt>
        <dd>
          {report.backend === "webgpu" ? "WebGPU (shared by onnxruntime-web and tfjs)" : "WebAssembly (CPU)"}
        </dd>
        {report.fallbackReason && (
          <>
            <dt>Why not WebGPU</dt>
            <dd>{report.fallbackReason}</dd>
          </>
        )}
        {gpu && (
          <>
            <dt>Adapter</dt>
            <dd data-testid="adapter">
              {[gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.device, gpu.adapter.description]
                .filter(Boolean)
                .join(" · ") || "(the browser hides adapter details)"}
              {gpu.adapter.isFallbackAdapter && " (software fallback adapter)"}
            </dd>
            <dt>shader-f16</dt>
            <dd>{gpu.shaderF16 ? "yes" : "no"}</dd>
          </>
        )}
        <dt>Cross-origin isolated</dt>
        <dd>{report.crossOriginIsolated ? "yes (wasm threads available)" : "no"}</dd>
        <dt>onnxruntime-web</dt>
        <dd>
          {report.ort.version} · EPs {report.ort.executionProviders.join(", ")} · {report.ort.wasmThreads}{" "}
          wasm threads
        </dd>
        <dt>tfjs</dt>
        <dd>
          {report.tfjs.version} · backend {report.tfjs.backend}
        </dd>
        <dt>Start-up</dt>
        <dd>{report.startupMs} ms</dd>
      </dl>
      {gpu && (
        <>
          <h3>Features</h3>
          <ul className="chips">
            {gpu.features.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
          <h3>Limits</h3>
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Limit</th>
                  <th scope="col">Adapter max</th>
                  <th scope="col">Device</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(gpu.adapterLimits).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{fmtLimit(k, v)}</td>
                    <td>{fmtLimit(k, gpu.deviceLimits[k] ?? 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
