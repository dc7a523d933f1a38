/** Recent jobs with phase, progress, outcome, and a cancel button while running. */
import { useCancelJob, useStudio } from "../context.js";
import type { JobView } from "../store.js";

function JobRow({ job }: { job: JobView }) {
  const cancel = useCancelJob();
  const pct = job.progress === null ? null : Math.round(job.progress * 100);
  return (
    <li className={`job job-${job.status}`} data-job={job.job} data-status={job.status}>
      <div className="job-head">
        <span className="job-label">{job.label}</span>
        <span className="job-status">{job.status}</span>
      </div>
      {job.status === "running" && (
        <div className="job-progress">
          <progress max={100} value={pct ?? undefined} aria-label={`${job.label} progress`} />
          <span>{job.phase ?? "starting"}</span>
          <button type="button" onClick={() => cancel(job.id)}>
            Cancel
          </button>
        </div>
      )}
      {job.summary && <p className="job-summary">{job.summary}</p>}
      {job.error && (
        <p className="job-error" role="alert">
          {job.error.message}
        </p>
      )}
    </li>
  );
}

export function JobList() {
  const jobs = useStudio((s) => s.jobs);
  if (jobs.length === 0) return <p className="muted">No jobs yet.</p>;
  return (
    <ul className="jobs" aria-live="polite">
      {jobs.map((j) => (
        <JobRow key={j.id} job={j} />
      ))}
    </ul>
  );
}
