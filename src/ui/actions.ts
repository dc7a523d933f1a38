/**
 * UI actions as data (STYLE.md 20, after excalidraw's ActionManager): buttons, keyboard shortcuts and the
 * e2e hook all dispatch through `dispatch(name)`, and `perform` is the only place an action touches commands.
 */
import { CrashMode } from "../workers/protocol.js";
import type { Commands } from "./commands.js";
import type { StudioStore } from "./store.js";
import { type TabId, tabs } from "./tabs.js";

export interface ActionContext {
  commands: Commands;
  store: StudioStore;
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

export const actions: readonly Action[] = Object.freeze([
  ...tabs.map((t, i) => selectTab(t.id, i)),
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
