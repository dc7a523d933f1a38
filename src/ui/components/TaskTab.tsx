/**
 * A generation task's tab, rendered entirely from its `TaskDescriptor` (tabs.ts). While the descriptor has no
 * pipeline the form is shown disabled with the descriptor's note, so the layout is final before the engine is.
 */
import { useId } from "react";
import type { TaskDescriptor } from "../tabs.js";

export function TaskTab({ task }: { task: TaskDescriptor }) {
  const uid = useId();
  const disabled = task.pipeline === null;
  return (
    <section className="task" aria-labelledby={`${uid}-title`}>
      <header className="task-header">
        <h2 id={`${uid}-title`}>{task.title}</h2>
        <p>{task.summary}</p>
        <p className="models">
          Models: {task.models.join(" · ")} — produces {task.produces.join(" + ")}
        </p>
      </header>
      {disabled && (
        <p className="notice" role="note">
          {task.pendingNote}
        </p>
      )}
      <form className="task-form" onSubmit={(e) => e.preventDefault()} aria-disabled={disabled}>
        <fieldset disabled={disabled}>
          <legend>Inputs</legend>
          {task.inputs.map((input) => (
            <label key={input.kind} className="field">
              <span>{input.label}</span>
              <input type="file" accept={input.accept} />
            </label>
          ))}
          <label className="field">
            <span>Prompt (optional)</span>
            <textarea rows={2} placeholder="e.g. waves crashing on a rocky shore" />
          </label>
          <div className="row">
            <label className="field">
              <span>Seed</span>
              <input type="number" defaultValue={0} min={0} step={1} />
            </label>
            <label className="field">
              <span>Steps</span>
              <input type="number" defaultValue={30} min={1} max={200} step={1} />
            </label>
            <label className="field">
              <span>Guidance λ</span>
              <input type="number" defaultValue={0.1} min={0} step={0.01} />
            </label>
          </div>
          <button type="submit" className="primary">
            Generate
          </button>
        </fieldset>
      </form>
    </section>
  );
}
