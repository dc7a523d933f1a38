/**
 * The task's world demo preset (studio/demo.ts): one button that makes a held-out clip's input from its seed and
 * puts it in the input slot as a picked file, with the prompt, seed and shape it was evaluated with; then what the
 * guided run should show. Joint has no input: its button fills the prompt.
 */
import { useId } from "react";
import { useDispatch, useStudio } from "../../context.js";
import { demoFor, demoSummary } from "../../studio/demo.js";
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
    </div>
  );
}
