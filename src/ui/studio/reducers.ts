/**
 * Pure reducers of the studio slice (STYLE.md 20): the command layer applies them to worker events; components
 * only read. Each returns a new slice and leaves untouched parts shared.
 */
import type { JobEvent } from "../../engine/runtime/job.js";
import { type PresetIdType, presetsFor, type SettingsFields, type StudioTaskId } from "./settings.js";
import {
  type AvAlignView,
  type DemoView,
  type ExportView,
  type GalleryState,
  type InputView,
  previewKey,
  type ResultMeta,
  type ResultView,
  type RunName,
  type RunView,
  type StudioSlice,
  type TaskState,
} from "./state.js";

const STEP_WINDOW = 8;

export function patchTask(
  s: StudioSlice,
  task: StudioTaskId,
  patch: (t: TaskState) => Partial<TaskState>,
): StudioSlice {
  const t = s.tasks[task];
  return { ...s, tasks: { ...s.tasks, [task]: { ...t, ...patch(t) } } };
}

export function setFields(s: StudioSlice, task: StudioTaskId, fields: Partial<SettingsFields>): StudioSlice {
  return patchTask(s, task, (t) => ({ fields: { ...t.fields, ...fields } }));
}

export function applyPreset(s: StudioSlice, task: StudioTaskId, preset: PresetIdType): StudioSlice {
  return setFields(s, task, presetsFor(task)[preset].fields);
}

export function setInput(s: StudioSlice, task: StudioTaskId, input: InputView | null): StudioSlice {
  return patchTask(s, task, () => ({ input }));
}

export function patchInput(
  s: StudioSlice,
  task: StudioTaskId,
  id: string,
  patch: Partial<InputView>,
): StudioSlice {
  return patchTask(s, task, (t) => (t.input?.id === id ? { input: { ...t.input, ...patch } } : {}));
}

export function setDemo(s: StudioSlice, task: StudioTaskId, demo: DemoView | null): StudioSlice {
  return patchTask(s, task, () => ({ demo }));
}

/** Updates the demo load `token` only: a newer load, or a file the user picked, has replaced it otherwise. */
export function patchDemo(
  s: StudioSlice,
  task: StudioTaskId,
  token: string,
  patch: Partial<Omit<DemoView, "id" | "token">>,
): StudioSlice {
  return patchTask(s, task, (t) => (t.demo?.token === token ? { demo: { ...t.demo, ...patch } } : {}));
}

export function runStarted(
  s: StudioSlice,
  task: StudioTaskId,
  opts: { jobId: string | null; runs: readonly RunName[]; steps: number; warmup: number; now: number },
): StudioSlice {
  const run: RunView = {
    jobId: opts.jobId,
    status: "running",
    phase: "starting",
    run: null,
    loadProgress: null,
    step: null,
    stepsDone: 0,
    stepsTotal: opts.steps * opts.runs.length,
    runs: opts.runs,
    warmup: opts.warmup,
    stepMs: { plain: [], guided: [] },
    startedAt: opts.now,
    prompt: null,
    previews: {},
    loss: [],
    promptNorm: null,
    error: null,
  };
  return patchTask(s, task, () => ({ run }));
}

const push = (xs: number[], x: number) => [...xs, x].slice(-STEP_WINDOW);

function runEvent(r: RunView, e: JobEvent): Partial<RunView> {
  switch (e.type) {
    case "phase":
      return {
        phase: e.phase,
        run: e.run ?? r.run,
        loadProgress: e.phase === "loading" ? 0 : r.loadProgress,
      };
    case "progress":
      return e.phase === "loading" ? { loadProgress: Math.min(1, e.done / e.total) } : {};
    case "prompt":
      return { prompt: { text: e.prompt, auto: e.auto, candidates: e.candidates ?? [] } };
    case "step": {
      const run = e.run ?? r.run ?? "guided";
      const out: Partial<RunView> = {
        run,
        step: { i: e.i, n: e.n },
        stepsDone: r.stepsDone + 1,
        stepsTotal: e.n * r.runs.length,
      };
      if (e.ms !== undefined)
        out.stepMs = e.guided
          ? { ...r.stepMs, guided: push(r.stepMs.guided, e.ms) }
          : { ...r.stepMs, plain: push(r.stepMs.plain, e.ms) };
      if (e.loss !== undefined) out.loss = [...r.loss, { run, i: e.i, loss: e.loss, terms: e.terms }];
      return out;
    }
    case "preview":
      return {
        previews: { ...r.previews, [previewKey(e.run, e.preview.kind)]: { i: e.i, ...e.preview } },
      };
    case "prompt-update":
      return { promptNorm: e.norm };
    case "log":
      return {};
  }
}

export function runProgress(s: StudioSlice, task: StudioTaskId, jobId: string, e: JobEvent): StudioSlice {
  return patchTask(s, task, (t) =>
    t.run && t.run.jobId === jobId ? { run: { ...t.run, ...runEvent(t.run, e) } } : {},
  );
}

export function runJobId(s: StudioSlice, task: StudioTaskId, jobId: string): StudioSlice {
  return patchTask(s, task, (t) => (t.run && t.run.jobId === null ? { run: { ...t.run, jobId } } : {}));
}

export function runSettled(
  s: StudioSlice,
  task: StudioTaskId,
  jobId: string | null,
  outcome: { status: "done" | "failed" | "cancelled"; error?: string },
): StudioSlice {
  return patchTask(s, task, (t) =>
    t.run && (jobId === null || t.run.jobId === jobId || t.run.jobId === null)
      ? { run: { ...t.run, status: outcome.status, error: outcome.error ?? null, phase: outcome.status } }
      : {},
  );
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/**
 * Seconds left in a run: every remaining step costs the recent mean of its kind (aligner on or off). Runs go
 * vanilla then guided; in the guided run the aligner acts from step int(warm-up · n) + 1 on (SPEC §10).
 */
export function etaSeconds(r: RunView): number | null {
  if (r.status !== "running" || !r.step) return null;
  const plain = mean(r.stepMs.plain);
  const guided = mean(r.stepMs.guided);
  const costPlain = plain ?? guided;
  const costGuided = guided ?? (plain === null ? null : plain * 4);
  if (costPlain === null || costGuided === null) return null;
  const { i, n } = r.step;
  const current = r.run ?? "guided";
  const firstGuided = Math.floor(r.warmup * n) + 1;
  const stepCost = (run: RunName, k: number) =>
    run === "guided" && k >= firstGuided ? costGuided : costPlain;
  let ms = 0;
  const order = r.runs.slice(r.runs.indexOf(current));
  for (const run of order) {
    const from = run === current ? i + 1 : 0;
    for (let k = from; k < n; k++) ms += stepCost(run, k);
  }
  return ms / 1000;
}

export function addResult(s: StudioSlice, result: ResultView, show: boolean): StudioSlice {
  const next = { ...s, results: { ...s.results, [result.id]: result } };
  return show ? patchTask(next, result.task, () => ({ resultId: result.id })) : next;
}

export function patchResult(s: StudioSlice, id: string, patch: Partial<ResultView>): StudioSlice {
  const r = s.results[id];
  return r ? { ...s, results: { ...s.results, [id]: { ...r, ...patch } } } : s;
}

export function setAvAlign(s: StudioSlice, id: string, avAlign: AvAlignView): StudioSlice {
  const next = patchResult(s, id, { avAlign });
  return {
    ...next,
    gallery: {
      ...next.gallery,
      entries: next.gallery.entries.map((e) => (e.id === id ? { ...e, avAlign } : e)),
    },
  };
}

export function showResult(s: StudioSlice, task: StudioTaskId, id: string | null): StudioSlice {
  return patchTask(s, task, () => ({ resultId: id }));
}

export function setListen(s: StudioSlice, task: StudioTaskId, listen: RunName): StudioSlice {
  return patchTask(s, task, () => ({ listen }));
}

export function setExport(s: StudioSlice, task: StudioTaskId, exporting: ExportView | null): StudioSlice {
  return patchTask(s, task, () => ({ exporting }));
}

export function setGallery(s: StudioSlice, patch: Partial<GalleryState>): StudioSlice {
  return { ...s, gallery: { ...s.gallery, ...patch } };
}

/** Newest first; an entry saved again replaces its old row. */
export function galleryUpsert(s: StudioSlice, meta: ResultMeta): StudioSlice {
  const entries = [meta, ...s.gallery.entries.filter((e) => e.id !== meta.id)].sort(
    (a, b) => b.createdAt - a.createdAt,
  );
  return setGallery(s, { entries });
}

export function galleryRemove(s: StudioSlice, id: string): StudioSlice {
  const next = setGallery(s, { entries: s.gallery.entries.filter((e) => e.id !== id) });
  const { [id]: _gone, ...results } = next.results;
  let out: StudioSlice = { ...next, results };
  for (const task of Object.keys(out.tasks) as StudioTaskId[])
    if (out.tasks[task].resultId === id) out = showResult(out, task, null);
  return out;
}
