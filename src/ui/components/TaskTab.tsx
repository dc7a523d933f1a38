/**
 * A generation task's tab, rendered from its `TaskDescriptor` (tabs.ts): the input and the settings on the left,
 * the run and the compare view on the right (stacked on a narrow window). Until a descriptor has a pipeline the
 * form is shown disabled with the descriptor's note. Each tab offers its world demo preset above the input.
 */
import { useId } from "react";
import { useStudio } from "../context.js";
import type { TaskDescriptor } from "../tabs.js";
import { CompareView } from "./studio/CompareView.js";
import { DemoPanel } from "./studio/DemoPanel.js";
import { InputPanel } from "./studio/InputPanel.js";
import { RunPanel } from "./studio/RunPanel.js";
import { SettingsForm } from "./studio/SettingsForm.js";
import "./studio/studio.css";

export function TaskTab({ task }: { task: TaskDescriptor }) {
  const uid = useId();
  const disabled = task.pipeline === null;
  const empty = useStudio((s) => !s.studio.tasks[task.id].run && !s.studio.tasks[task.id].resultId);
  return (
    <section className="task" aria-labelledby={`${uid}-title`} data-task={task.id}>
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
      <div className="task-grid">
        <div className="task-left">
          <DemoPanel task={task.id} disabled={disabled} />
          {task.inputs.map((input) => (
            <InputPanel key={input.kind} task={task.id} spec={input} disabled={disabled} />
          ))}
          <SettingsForm task={task.id} disabled={disabled} />
        </div>
        <div className="task-right">
          {empty && (
            <p className="placeholder">
              {disabled
                ? "Results will appear here once this task is wired."
                : `${task.inputs.length ? "Pick an input" : "Write a prompt"} and press Generate (Ctrl+Enter). Progress, live x0 previews, the aligner's loss and the vanilla-vs-guided comparison appear here.`}
            </p>
          )}
          <RunPanel task={task.id} />
          <CompareView task={task.id} />
        </div>
      </div>
    </section>
  );
}
