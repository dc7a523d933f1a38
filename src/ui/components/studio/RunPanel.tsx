/**
 * The run in progress (or the last one): phase, step i/n and ETA on a progress bar, the prompt it uses, live x0
 * previews per run, and the aligner's loss curve. Cancel stops it at the next step.
 */
import { useEffect, useId, useState } from "react";
import { useDispatch, useStudio } from "../../context.js";
import { etaSeconds } from "../../studio/reducers.js";
import type { StudioTaskId } from "../../studio/settings.js";
import { type PreviewView, previewKey, type RunView } from "../../studio/state.js";
import { FrameStrip, LossCurve, TimeFreqCanvas } from "./Pictures.js";

const PHASES: Readonly<Record<string, string>> = {
  starting: "Starting",
  loading: "Loading the models",
  conditions: "Encoding the conditions",
  denoising: "Denoising",
  decoding: "Decoding",
  scoring: "Scoring with ImageBind",
  muxing: "Muxing",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

const fmtS = (s: number) =>
  s < 60 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

function Progress({ run }: { run: RunView }) {
  const active = run.status === "running";
  const now = useNow(active);
  const total = run.stepsTotal ?? 0;
  const value =
    run.phase === "loading" && run.loadProgress !== null ? null : total ? run.stepsDone / total : null;
  const eta = etaSeconds(run);
  const label = `${PHASES[run.phase] ?? run.phase}${run.run && active ? ` (${run.run})` : ""}`;
  return (
    <div className="progress" data-phase={run.phase} data-status={run.status}>
      <progress
        max={1}
        value={
          run.status === "done"
            ? 1
            : (value ?? (run.phase === "loading" ? (run.loadProgress ?? undefined) : undefined))
        }
        aria-label="Generation progress"
        aria-valuetext={`${label}${run.step ? `, step ${run.step.i + 1} of ${run.step.n}` : ""}`}
      />
      <p className="progress-text" aria-live="polite">
        <strong>{label}</strong>
        {run.step && active && (
          <span data-testid="step">
            {" "}
            · step {run.step.i + 1}/{run.step.n}
          </span>
        )}
        {active && eta !== null && <span> · about {fmtS(eta)} left</span>}
        <span className="muted"> · {fmtS(((active ? now : Date.now()) - run.startedAt) / 1000)} elapsed</span>
      </p>
      {run.error && (
        <p className="job-error" role="alert">
          {run.error}
        </p>
      )}
    </div>
  );
}

const PREVIEW_KINDS = ["frames", "mel"] as const;

function PreviewPicture({ name, p }: { name: string; p: PreviewView }) {
  const label = `x0 preview of the ${name} run at step ${p.i + 1}`;
  return (
    <figure className="preview" data-run={name} data-kind={p.kind} data-step={p.i}>
      {p.kind === "mel" ? (
        <TimeFreqCanvas
          data={p.data as Float32Array}
          frames={p.shape[0] ?? 0}
          bins={p.shape[1] ?? 0}
          label={label}
        />
      ) : (
        <FrameStrip data={p.data as Uint8Array} shape={p.shape} label={label} />
      )}
      <figcaption>
        {name} · x0 at step {p.i + 1}
      </figcaption>
    </figure>
  );
}

export function RunPanel({ task }: { task: StudioTaskId }) {
  const run = useStudio((s) => s.studio.tasks[task].run);
  const dispatch = useDispatch();
  const uid = useId();
  if (!run) return null;
  const guidedLoss = run.loss.filter((l) => l.run === "guided");
  return (
    <section className="run-panel" aria-labelledby={`${uid}-h`} data-testid="run-panel">
      <div className="panel-head">
        <h3 id={`${uid}-h`}>Run</h3>
        {run.status === "running" && (
          <button type="button" onClick={() => dispatch("generate.cancel")}>
            Cancel run
          </button>
        )}
      </div>
      <Progress run={run} />
      {run.prompt && (
        <p className="prompt-used">
          Prompt{run.prompt.auto ? " (automatic)" : ""}: <q data-testid="prompt-used">{run.prompt.text}</q>
          {run.prompt.auto && run.prompt.candidates.length > 0 && (
            <span className="muted">
              {" "}
              — candidates {run.prompt.candidates.map((c) => `${c.label} ${c.score.toFixed(2)}`).join(", ")}
            </span>
          )}
          {run.promptNorm !== null && (
            <span className="muted"> · prompt moved by {run.promptNorm.toFixed(4)}</span>
          )}
        </p>
      )}
      {Object.keys(run.previews).length > 0 && (
        <div className="previews">
          {run.runs.flatMap((name) =>
            PREVIEW_KINDS.map((kind) => {
              const p = run.previews[previewKey(name, kind)];
              return p ? <PreviewPicture key={`${name}:${kind}`} name={name} p={p} /> : null;
            }),
          )}
        </div>
      )}
      {guidedLoss.length > 0 && run.status === "running" && (
        <LossCurve
          title="Aligner loss Σ w·(1 − cos) per guided step"
          steps={run.step?.n ?? guidedLoss.length}
          series={[{ name: "guided", points: guidedLoss }]}
        />
      )}
    </section>
  );
}
