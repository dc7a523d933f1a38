/**
 * The task's world demo preset (studio/demo.ts): one button that makes a held-out clip's input from its seed and
 * puts it in the input slot as a picked file, with the prompt, seed and shape it was evaluated with; then what the
 * guided run should show. Joint has no input: its button fills the prompt. Below it, what the evaluation measured
 * for the task on the bundled pack (vanilla vs guided over held-out world pairs, docs/eval.md).
 */
import { useId } from "react";
import { formatDelta, formatValue, type TaskEvalSummary, verdict } from "../../../engine/eval/summary.js";
import { useDispatch, useStudio } from "../../context.js";
import { demoEvalFor, demoFor, demoSummary } from "../../studio/demo.js";
import type { StudioTaskId } from "../../studio/settings.js";

export function DemoPanel({ task, disabled }: { task: StudioTaskId; disabled: boolean }) {
  const dispatch = useDispatch();
  const uid = useId();
  const state = useStudio((s) => s.studio.tasks[task].demo);
  const demo = demoFor(task);
  if (!demo) return null;
  const making = state?.status === "making";
  return (
    <div className="demo-panel" data-demo={demo.id} data-status={state?.status ?? "idle"}>
      <button
        type="button"
        disabled={disabled || making}
        aria-describedby={`${uid}-about`}
        onClick={() => dispatch("demo.load")}
      >
        {demo.input ? "Load demo clip" : "Load demo prompt"}
      </button>
      <small id={`${uid}-about`} className="muted">
        {demoSummary(demo)}
      </small>
      <p className="demo-status" aria-live="polite">
        {making && (demo.input ? `Making the demo ${demo.input.kind}…` : "Loading the demo…")}
        {state?.status === "ready" && `Loaded: ${demo.title}. With the aligner, expect ${demo.expect}.`}
      </p>
      {state?.status === "failed" && (
        <p className="job-error" role="alert">
          The demo could not be made: {state.error}
        </p>
      )}
      <DemoEval summary={demoEvalFor(task)} />
    </div>
  );
}

const VERDICT = {
  better: "guidance helps",
  worse: "guidance hurts",
  unclear: "no clear difference",
} as const;

/** The evaluation's vanilla-vs-guided numbers for the task, folded under a one-line headline (AV-align). */
function DemoEval({ summary }: { summary: TaskEvalSummary | null }) {
  if (!summary) return null;
  const av = summary.metrics.find((m) => m.key === "AV-align");
  return (
    <details className="demo-eval" data-testid="demo-eval">
      <summary>
        Measured on {summary.n} held-out world pairs with the bundled pack
        {av &&
          `: AV-align ${formatValue(av.vanilla[0])} → ${formatValue(av.guided[0])}, Δ ${formatDelta(av.delta)}`}
      </summary>
      <div className="table-scroll">
        <table className="scores">
          <caption className="sr-only">Vanilla and guided runs on held-out world pairs</caption>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Vanilla</th>
              <th scope="col">Guided</th>
              <th scope="col">Δ guided − vanilla [95% CI]</th>
            </tr>
          </thead>
          <tbody>
            {summary.metrics.map((m) => {
              const v = verdict(m);
              return (
                <tr key={m.key} data-metric={m.key}>
                  <th scope="row" title={m.source}>
                    {m.label} {m.better === "higher" ? "↑" : "↓"}
                  </th>
                  <td>{formatValue(m.vanilla[0])}</td>
                  <td>{formatValue(m.guided[0])}</td>
                  <td className={v === "unclear" ? undefined : v} data-verdict={v} title={VERDICT[v]}>
                    {formatDelta(m.delta)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <small className="muted">
        {summary.steps} DDIM steps, the same seed for both runs of a pair; from {summary.source}. The
        evaluator columns come from networks trained apart from the guide; AV-align_bind is the guiding
        ImageBind's own score. docs/eval.md has the full tables.
      </small>
    </details>
  );
}
