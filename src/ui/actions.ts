/**
 * UI actions as data (STYLE.md 20, after excalidraw's ActionManager): buttons, keyboard shortcuts and the
 * e2e hook all dispatch through `dispatch(name)`, and `perform` is the only place an action touches commands.
 */
import { CrashMode } from "../workers/protocol.js";
import type { Commands } from "./commands.js";
import type { StudioStore } from "./store.js";
import type { StudioCommands } from "./studio/commands.js";
import { PresetId, type PresetIdType } from "./studio/settings.js";
import { type TabId, tabs } from "./tabs.js";

export interface ActionContext {
  commands: Commands;
  store: StudioStore;
  /** Generation, inputs, exports and the gallery (studio/commands.ts). */
  studio: StudioCommands;
}

export interface Action {
  name: string;
  label: string;
  /** Keyboard shortcut, described for the UI. */
  shortcut?: string;
  keyTest?: (e: Pick<KeyboardEvent, "key" | "altKey" | "ctrlKey" | "metaKey" | "shiftKey">) => boolean;
  perform(ctx: ActionContext): unknown;
}

const swallow = (p: Promise<unknown>) => p.catch(() => undefined); // failures are shown from the store

const selectTab = (id: TabId, index: number): Action => ({
  name: `tab.${id}`,
  label: `Show ${tabs[index]!.label}`,
  shortcut: `Alt+${index + 1}`,
  keyTest: (e) => e.altKey && !e.ctrlKey && !e.metaKey && e.key === String(index + 1),
  perform: ({ store }) => store.setState({ tab: id }),
});

/** Applies to the task whose tab is shown; does nothing on other tabs. */
const onTask =
  (f: (studio: StudioCommands, task: NonNullable<ReturnType<StudioCommands["currentTask"]>>) => unknown) =>
  ({ studio }: ActionContext) => {
    const task = studio.currentTask();
    return task ? f(studio, task) : undefined;
  };

const preset = (id: PresetIdType, label: string): Action => ({
  name: `preset.${id}`,
  label,
  perform: onTask((studio, task) => studio.applyPreset(task, id)),
});

export const actions: readonly Action[] = Object.freeze([
  ...tabs.map((t, i) => selectTab(t.id, i)),
  {
    name: "generate.run",
    label: "Generate",
    shortcut: "Ctrl+Enter",
    keyTest: (e) => (e.ctrlKey || e.metaKey) && !e.altKey && e.key === "Enter",
    perform: onTask((studio, task) => swallow(studio.generate(task))),
  },
  {
    name: "generate.cancel",
    label: "Cancel generation",
    perform: onTask((studio, task) => studio.cancel(task)),
  },
  {
    name: "demo.load",
    label: "Load the task's demo clip",
    perform: onTask((studio, task) => swallow(studio.loadDemo(task))),
  },
  preset(PresetId.Official, "The paper's settings for this task"),
  preset(PresetId.Fast, "Fast preview"),
  {
    name: "compare.toggle",
    label: "Switch A/B (vanilla ↔ guided)",
    shortcut: "Alt+B",
    keyTest: (e) => e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "b" || e.key === "B"),
    perform: onTask((studio, task) => studio.toggleListen(task)),
  },
  {
    name: "jobs.cancelAll",
    label: "Cancel running jobs",
    shortcut: "Escape",
    keyTest: (e) => e.key === "Escape",
    perform: ({ commands }) => commands.cancelAll(),
  },
  { name: "probe", label: "Run capability probe", perform: ({ commands }) => swallow(commands.probe()) },
  {
    name: "selftest.onnx",
    label: "ONNX model: WebGPU vs wasm",
    perform: ({ commands }) =>
      swallow(commands.run("selftest-onnx", {}, { label: "Self-test: ONNX WebGPU vs wasm" })),
  },
  {
    name: "selftest.grad",
    label: "tfjs gradient vs finite differences",
    perform: ({ commands }) =>
      swallow(commands.run("selftest-grad", {}, { label: "Self-test: tfjs gradient" })),
  },
  {
    name: "selftest.onnxGrad",
    label: "ONNX gradient (emitted backward) vs finite differences",
    perform: ({ commands }) =>
      swallow(commands.run("selftest-onnx-grad", {}, { label: "Self-test: ONNX gradient" })),
  },
  {
    name: "selftest.slow",
    label: "Long cancellable job",
    perform: ({ commands }) =>
      swallow(
        commands.run("selftest-slow", { iterations: 100, delayMs: 100 }, { label: "Self-test: long job" }),
      ),
  },
  {
    name: "selftest.mux",
    label: "Mux MP4 + WebM",
    perform: ({ commands }) => swallow(commands.muxSelftest()),
  },
  {
    name: "selftest.crash",
    label: "Crash the engine worker",
    perform: ({ commands }) =>
      swallow(
        commands.run("selftest-crash", { mode: CrashMode.Throw }, { label: "Self-test: worker crash" }),
      ),
  },
]);

const byName = new Map(actions.map((a) => [a.name, a]));

export function dispatch(ctx: ActionContext, name: string): unknown {
  const action = byName.get(name);
  if (!action) throw new RangeError(`unknown action "${name}"`);
  return action.perform(ctx);
}

/** Runs the first action whose shortcut matches; returns whether one did. */
export function dispatchKey(ctx: ActionContext, e: KeyboardEvent): boolean {
  const action = actions.find((a) => a.keyTest?.(e));
  if (!action) return false;
  void action.perform(ctx);
  return true;
}
