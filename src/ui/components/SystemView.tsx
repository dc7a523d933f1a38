/** System: the capability report, worker health, self-tests and the job list. */
import { actions } from "../actions.js";
import { useDispatch, useStudio } from "../context.js";
import { CapabilityReport } from "./CapabilityReport.js";
import { JobList } from "./JobList.js";
import { OfflineStatus } from "./OfflineStatus.js";

const selftests = actions.filter((a) => a.name.startsWith("selftest."));

export function SystemView() {
  const caps = useStudio((s) => s.capabilities);
  const workers = useStudio((s) => s.workers);
  const dispatch = useDispatch();
  return (
    <section className="system" aria-labelledby="system-title">
      <div className="system-head">
        <h2 id="system-title">System</h2>
        <button type="button" onClick={() => dispatch("probe")} disabled={caps.status === "running"}>
          {caps.status === "running" ? "Probing…" : "Run probe again"}
        </button>
      </div>
      {caps.status === "error" && (
        <p className="job-error" role="alert">
          The capability probe failed: {caps.error}
        </p>
      )}
      {caps.report ? <CapabilityReport report={caps.report} /> : caps.status === "running" && <p>Probing…</p>}
      <h3>Workers</h3>
      <ul className="workers">
        {Object.entries(workers).map(([name, w]) => (
          <li key={name} data-worker={name} data-state={w?.state ?? "unknown"}>
            <strong>{name}</strong>: {w?.state ?? "not started"}
            {w && w.restarts > 0 && ` · restarted ${w.restarts}× (last: ${w.lastCrash})`}
          </li>
        ))}
      </ul>
      <OfflineStatus />
      <h3>Self-tests</h3>
      <div className="buttons">
        {selftests.map((a) => (
          <button key={a.name} type="button" data-action={a.name} onClick={() => dispatch(a.name)}>
            {a.label}
          </button>
        ))}
      </div>
      <h3>Jobs</h3>
      <JobList />
    </section>
  );
}
