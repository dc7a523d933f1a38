/** React access to the store and the action dispatcher; components never see the workers (STYLE.md 20). */
import { createContext, type ReactNode, useContext } from "react";
import { useStore } from "zustand";
import { type ActionContext, dispatch } from "./actions.js";
import type { Commands } from "./commands.js";
import type { StudioState } from "./store.js";
import type { StudioCommands } from "./studio/commands.js";

const Ctx = createContext<ActionContext | null>(null);

export function StudioProvider({ value, children }: { value: ActionContext; children: ReactNode }) {
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

function useActionContext(): ActionContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("StudioProvider is missing");
  return ctx;
}

export function useStudio<T>(selector: (s: StudioState) => T): T {
  return useStore(useActionContext().store, selector);
}

export function useDispatch(): (name: string) => void {
  const ctx = useActionContext();
  return (name) => void dispatch(ctx, name);
}

/** Cancelling one job is parameterised, so it is a command rather than a named action. */
export function useCancelJob(): (id: string) => void {
  const ctx = useActionContext();
  return (id) => ctx.commands.cancel(id);
}

/** The studio's commands, for views whose actions take parameters (a file, a field, a result id). */
export function useStudioCommands(): StudioCommands {
  return useActionContext().studio;
}

/** The command layer, for views whose actions take parameters (the Models view's pack commands). */
export function useCommands(): Commands {
  return useActionContext().commands;
}
