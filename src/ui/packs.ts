/**
 * The Models view's model: pack state with a pure reducer, pack commands over the command layer (every pack job
 * runs in the engine worker and shows up in the job list like any other), and one-line job summaries.
 * The page asks for persistent storage here: `navigator.storage.persist()` exists only on the main thread.
 */
import { DEFAULT_PACK } from "../engine/packs/default-pack-info.js";
import type { PlanResult } from "../engine/packs/planner.js";
import type { TaskOptions } from "../engine/packs/planner-phases.js";
import type { JobParams, JobResult } from "../workers/protocol.js";
import type { Commands } from "./commands.js";

type PackJob =
  | "packs-list"
  | "packs-install"
  | "packs-convert"
  | "packs-convert-remote"
  | "packs-verify"
  | "packs-remove"
  | "packs-load"
  | "packs-estimate";

const MB = 1024 * 1024;
export const mb = (n: number) => `${(n / MB).toFixed(n < 10 * MB ? 1 : 0)} MB`;

export const packSummaries: { [J in PackJob]: (r: JobResult<J>) => string } = {
  "packs-list": (r) => `${r.packs.length} pack${r.packs.length === 1 ? "" : "s"} installed`,
  "packs-install": (r) => `${r.id}: ${r.downloaded ? `${mb(r.downloaded)} downloaded` : "already cached"}`,
  "packs-convert": (r) => `${r.id}: ${r.files} files, ${mb(r.bytes)}`,
  "packs-convert-remote": (r) => `${r.id}: ${r.files} files, ${mb(r.bytes)}`,
  "packs-verify": (r) =>
    r.bad.length
      ? `${r.bad.length} bad file(s): ${r.bad.map((b) => b.path).join(", ")}`
      : `${r.ok.length} files verified`,
  "packs-remove": () => "deleted",
  "packs-load": (r) => `${r.components.length} components loaded in ${r.ms} ms`,
  "packs-estimate": (r) =>
    r.ok
      ? `peak ${mb(r.estimate.peakBytes)} (${r.estimate.peakPhase})${r.fallbacks.length ? `; ${r.fallbacks.join("; ")}` : ""}`
      : (r.message ?? "does not fit"),
};

export type PacksList = JobResult<"packs-list">;

export interface PacksState {
  list: PacksList | null;
  /** What is running ("install", "convert", "verify default", …), or null. */
  busy: string | null;
  error: string | null;
  verify: JobResult<"packs-verify"> | null;
  estimate: PlanResult | null;
}

export type PacksAction =
  | { type: "listed"; list: PacksList }
  | { type: "busy"; what: string }
  | { type: "done" }
  | { type: "failed"; error: string }
  | { type: "verified"; report: JobResult<"packs-verify"> }
  | { type: "estimated"; result: PlanResult };

export const initialPacksState: PacksState = {
  list: null,
  busy: null,
  error: null,
  verify: null,
  estimate: null,
};

export function packsReducer(s: PacksState, a: PacksAction): PacksState {
  switch (a.type) {
    case "listed":
      return { ...s, list: a.list };
    case "busy":
      return { ...s, busy: a.what, error: null };
    case "done":
      return { ...s, busy: null };
    case "failed":
      return { ...s, busy: null, error: a.error };
    case "verified":
      return { ...s, busy: null, verify: a.report };
    case "estimated":
      return { ...s, busy: null, estimate: a.result };
  }
}

/** The picked folder's files, with their paths inside it; hidden files (".DS_Store", ".git/…") are skipped. */
export function pickedFiles(files: Iterable<File>): { path: string; file: File }[] {
  const out: { path: string; file: File }[] = [];
  for (const f of files) {
    const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    if (path.split("/").some((seg) => seg.startsWith("."))) continue;
    out.push({ path, file: f });
  }
  return out;
}

/** Ask the browser to keep the cache (page-only API); false where it refuses or cannot. */
async function persist(): Promise<boolean> {
  try {
    return (await navigator.storage?.persist?.()) ?? false;
  } catch {
    return false;
  }
}

export function packCommands(commands: Commands, dispatch: (a: PacksAction) => void) {
  const step = async <R>(what: string, f: () => Promise<R>): Promise<R | undefined> => {
    dispatch({ type: "busy", what });
    try {
      const r = await f();
      dispatch({ type: "done" });
      return r;
    } catch (e) {
      dispatch({ type: "failed", error: e instanceof Error ? e.message : String(e) });
      return undefined;
    } finally {
      const list = await commands.run("packs-list", {}, { label: "List packs" }).catch(() => null);
      if (list) dispatch({ type: "listed", list });
    }
  };
  return {
    refresh: async () => {
      const list = await commands.run("packs-list", {}, { label: "List packs" }).catch(() => null);
      if (list) dispatch({ type: "listed", list });
    },
    installBundled: (base: string) =>
      step("install", async () => {
        await persist();
        return commands.run(
          "packs-install",
          { mirrors: [new URL(DEFAULT_PACK.path, base).href], expectedId: DEFAULT_PACK.id },
          { label: "Install the bundled pack" },
        );
      }),
    convert: (p: JobParams<"packs-convert">) =>
      step("convert", async () => {
        await persist();
        return commands.run("packs-convert", p, { label: `Convert ${p.model} → ${p.id}` });
      }),
    convertRemote: (p: JobParams<"packs-convert-remote">) =>
      step("convert", async () => {
        await persist();
        return commands.run("packs-convert-remote", p, {
          label: `Download and convert ${p.model}@${p.revision ?? "main"} → ${p.id}`,
        });
      }),
    verify: (id: string) =>
      step(`verify ${id}`, async () => {
        const report = await commands.run("packs-verify", { id }, { label: `Verify ${id}` });
        dispatch({ type: "verified", report });
        return report;
      }),
    remove: (id: string) =>
      step(`delete ${id}`, () => commands.run("packs-remove", { id }, { label: `Delete ${id}` })),
    load: (id: string) =>
      step(`load ${id}`, () => commands.run("packs-load", { id }, { label: `Load ${id}` })),
    estimate: (id: string, options: TaskOptions) =>
      step(`estimate ${id}`, async () => {
        const result = await commands.run(
          "packs-estimate",
          { ids: [id], options },
          { label: `Memory estimate (${options.task})` },
        );
        dispatch({ type: "estimated", result });
        return result;
      }),
  };
}

export type PackCommands = ReturnType<typeof packCommands>;
