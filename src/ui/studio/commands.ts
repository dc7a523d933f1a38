/**
 * The studio's commands: the only UI code that starts generation, decoding, metric and export jobs (through the
 * command layer, so every job also shows in the System view's job list) and feeds their events into the studio
 * slice through the reducers. Decoded inputs live in a registry here, not in the store.
 */
import { ErrorCode, StudioError } from "../../engine/errors.js";
import type { GenerateParams } from "../../workers/generate-schemas.js";
import type { DecodeResult } from "../../workers/media-schemas.js";
import type { Commands } from "../commands.js";
import type { StudioState, StudioStore } from "../store.js";
import { demoFields, demoFile, demoFor } from "./demo.js";
import { exportMedia, saveBlob } from "./exports.js";
import type { GalleryDb } from "./gallery-db.js";
import * as R from "./reducers.js";
import {
  avAlignParams,
  blobsOf,
  metaOf,
  newId,
  resultFrom,
  resultFromGallery,
  saveFailureMessage,
} from "./results.js";
import {
  type InputSummary,
  type PresetIdType,
  type RequestWithoutMedia,
  type SettingsFields,
  type StudioTaskId,
  validate,
} from "./settings.js";
import type { InputView, ResultView, RunName } from "./state.js";

export type ExportKind = "mp4" | "webm" | "wav" | "png";

export interface StudioCommands {
  setFields(task: StudioTaskId, fields: Partial<SettingsFields>): void;
  applyPreset(task: StudioTaskId, preset: PresetIdType): void;
  pickInput(
    task: StudioTaskId,
    file: File | Blob,
    opts?: { name?: string; trimStartS?: number },
  ): Promise<void>;
  setTrim(task: StudioTaskId, startS: number): Promise<void>;
  /**
   * The task's world demo preset (studio/demo.ts): its prompt, seed and shape into the form, and its input, made
   * from the clip's seed, into the input slot as a picked file.
   */
  loadDemo(task: StudioTaskId): Promise<void>;
  generate(task: StudioTaskId): Promise<void>;
  cancel(task: StudioTaskId): void;
  listen(task: StudioTaskId, run: RunName): void;
  toggleListen(task: StudioTaskId): void;
  exportResult(resultId: string, kind: ExportKind, run?: RunName): Promise<void>;
  /** Stores an open result in the gallery again (after a failed save, e.g. once storage has room). */
  saveResult(resultId: string): Promise<void>;
  loadGallery(): Promise<void>;
  openEntry(id: string): Promise<void>;
  deleteEntry(id: string): Promise<void>;
  rerun(id: string): Promise<void>;
  /** An object URL of the picked input (for its preview), or null. */
  inputUrl(inputId: string): string | null;
  refreshPacks(): Promise<void>;
  /** The task whose tab is shown (null on Models/System/Gallery). */
  currentTask(): StudioTaskId | null;
}

interface DecodedInput {
  file: Blob;
  decoded: DecodeResult | null;
  url: string | null;
  /** The window (s) the last decode asked for; a form change that needs another window decodes again. */
  windowS: number | null;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const isCancel = (e: unknown) => e instanceof StudioError && e.code === ErrorCode.Cancelled;
const TASKS: readonly StudioTaskId[] = ["v2a", "i2a", "a2v", "joint"];
const inputKind = (task: StudioTaskId): InputView["kind"] =>
  task === "i2a" ? "image" : task === "a2v" ? "audio" : "video";

/** The condition window when the form does not set one: AudioLDM's 10 s; for A2V the video's frames / fps. */
function windowOf(task: StudioTaskId, f: SettingsFields): number {
  if (task === "a2v") return Number(f.frames) / Number(f.fps) || 2;
  return Number(f.durationS) || 10;
}

export function summaryOf(input: InputView | null): InputSummary | null {
  return input ? { kind: input.kind, ready: input.status === "ready", durationS: input.durationS } : null;
}

/** The request with its media attached (the condition the task needs). */
function withMedia(request: RequestWithoutMedia, decoded: DecodeResult | null): GenerateParams | null {
  if (request.task === "joint") return request;
  if (request.task === "a2v")
    return decoded?.kind === "audio"
      ? { ...request, audio: { channels: decoded.channels, sampleRate: decoded.sampleRate } }
      : null;
  if (decoded?.kind === "video") return { ...request, video: decoded.frames };
  if (decoded?.kind === "image") return { ...request, image: decoded.image };
  return null;
}

export function createStudioCommands(commands: Commands, store: StudioStore, db: GalleryDb): StudioCommands {
  const inputs = new Map<string, DecodedInput>();
  const aborts = new Map<StudioTaskId, AbortController>();
  const apply = (f: (s: StudioState["studio"]) => StudioState["studio"]) =>
    store.setState((s) => ({ studio: f(s.studio) }));
  const task = (t: StudioTaskId) => store.getState().studio.tasks[t];
  const result = (id: string): ResultView | undefined => store.getState().studio.results[id];

  async function decode(t: StudioTaskId, id: string, startS: number): Promise<void> {
    const entry = inputs.get(id);
    const input = task(t).input;
    if (!entry || !input) return;
    apply((s) => R.patchInput(s, t, id, { status: "decoding", error: null, trimStartS: startS }));
    const windowS = input.kind === "image" ? null : windowOf(t, task(t).fields);
    entry.windowS = windowS;
    try {
      const r = await commands.run(
        "decode",
        {
          kind: input.kind,
          name: input.name,
          file: entry.file,
          ...(windowS === null ? {} : { startS, durationS: windowS }),
        },
        { label: `Decode ${input.name}` },
      );
      entry.decoded = r;
      const patch: Partial<InputView> =
        r.kind === "video"
          ? {
              durationS: r.durationS,
              sourceDurationS: r.sourceDurationS,
              width: r.frames.width,
              height: r.frames.height,
              fps: r.frames.fps,
              numFrames: r.frames.numFrames,
              note: r.scaledFrom
                ? `decoded at ${r.frames.width}×${r.frames.height} (from ${r.scaledFrom.width}×${r.scaledFrom.height}) to fit memory`
                : null,
            }
          : r.kind === "image"
            ? { width: r.image.width, height: r.image.height, note: r.info.fallback ?? null }
            : { durationS: r.durationS, sourceDurationS: r.sourceDurationS };
      apply((s) => R.patchInput(s, t, id, { ...patch, decoder: r.info.decoder, status: "ready" }));
    } catch (e) {
      entry.decoded = null;
      apply((s) => R.patchInput(s, t, id, { status: "error", error: message(e) }));
    }
  }

  async function saveToGallery(r: ResultView): Promise<void> {
    apply((s) => R.patchResult(s, r.id, { saved: "saving", saveError: null }));
    try {
      await db.save(metaOf(r), blobsOf(r));
      apply((s) => R.galleryUpsert(R.patchResult(s, r.id, { saved: "saved" }), metaOf(r)));
    } catch (e) {
      apply((s) => R.patchResult(s, r.id, { saved: "failed", saveError: saveFailureMessage(e) }));
    }
  }

  /** AV-align of the result's video/audio pairs; stored with the result (and its gallery entry) when done. */
  async function avAlign(id: string, decoded: DecodeResult | null): Promise<void> {
    const r = result(id);
    const params = r ? avAlignParams(r, decoded) : null;
    if (!r || !params) {
      apply((s) => R.setAvAlign(s, id, { status: "n/a", byRun: {}, note: null }));
      return;
    }
    try {
      const out = await commands.run("av-align", params, { label: "AV-align" });
      const byRun = Object.fromEntries(out.results.map((x) => [x.name, x.iou]));
      apply((s) => R.setAvAlign(s, id, { status: "done", byRun, note: out.fidelity }));
    } catch (e) {
      apply((s) => R.setAvAlign(s, id, { status: "failed", byRun: {}, note: message(e) }));
    }
    const after = result(id);
    if (after?.saved === "saved") await db.updateMeta(metaOf(after)).catch(() => false);
  }

  /** A file into the input slot of `t` (picked, dropped, a re-run's or a demo's), then its decode. */
  async function pick(
    t: StudioTaskId,
    file: File | Blob,
    opts: { name?: string; trimStartS?: number } = {},
  ): Promise<void> {
    const name = opts.name ?? (file instanceof File ? file.name : "input");
    const old = task(t).input;
    if (old) {
      const url = inputs.get(old.id)?.url;
      if (url) URL.revokeObjectURL(url);
      inputs.delete(old.id);
    }
    const id = newId("in");
    inputs.set(id, { file, decoded: null, url: null, windowS: null });
    const view: InputView = {
      id,
      kind: inputKind(t),
      name,
      type: file.type,
      bytes: file.size,
      status: "decoding",
      error: null,
      durationS: null,
      sourceDurationS: null,
      trimStartS: opts.trimStartS ?? 0,
      width: null,
      height: null,
      fps: null,
      numFrames: null,
      note: null,
      decoder: null,
    };
    apply((s) => R.setInput(s, t, view));
    await decode(t, id, view.trimStartS);
  }

  const self: StudioCommands = {
    setFields: (t, fields) => apply((s) => R.setFields(s, t, fields)),
    applyPreset: (t, preset) => apply((s) => R.applyPreset(s, t, preset)),
    listen: (t, run) => apply((s) => R.setListen(s, t, run)),
    toggleListen: (t) =>
      apply((s) => R.setListen(s, t, s.tasks[t].listen === "guided" ? "vanilla" : "guided")),
    currentTask: () => {
      const tab = store.getState().tab;
      return (TASKS as readonly string[]).includes(tab) ? (tab as StudioTaskId) : null;
    },
    inputUrl: (id) => {
      const e = inputs.get(id);
      if (!e) return null;
      e.url ??= URL.createObjectURL(e.file);
      return e.url;
    },
    refreshPacks: async () => {
      const list = await commands.run("packs-list", {}, { label: "List packs" }).catch(() => null);
      if (list)
        apply((s) => ({
          ...s,
          packs: list.packs.filter((p) => p.complete).map((p) => ({ id: p.id, name: p.name })),
        }));
    },

    pickInput: async (t, file, opts) => {
      apply((s) => R.setDemo(s, t, null)); // the user's own file: no demo any more
      await pick(t, file, opts);
    },

    loadDemo: async (t) => {
      const demo = demoFor(t);
      if (!demo) return;
      const token = newId("demo");
      apply((s) =>
        R.setFields(
          R.setDemo(s, t, { id: demo.id, token, status: "making", error: null }),
          t,
          demoFields(demo),
        ),
      );
      try {
        const made = await demoFile(commands, demo);
        if (task(t).demo?.token !== token) return; // the user picked a file (or loaded again) meanwhile
        if (made) await pick(t, made.file, { name: made.name });
        apply((s) => R.patchDemo(s, t, token, { status: "ready" }));
      } catch (e) {
        apply((s) => R.patchDemo(s, t, token, { status: "failed", error: message(e) }));
      }
    },

    setTrim: async (t, startS) => {
      const input = task(t).input;
      if (input && Math.abs(input.trimStartS - startS) > 1e-6) await decode(t, input.id, Math.max(0, startS));
    },

    generate: async (t) => {
      if (task(t).run?.status === "running") return;
      // the form asks for another window than the input was decoded for (A2V frames / fps, V2A length): decode again
      const before = task(t).input;
      const was = before ? inputs.get(before.id) : undefined;
      if (before && was && before.kind !== "image" && before.status === "ready") {
        const want = windowOf(t, task(t).fields);
        if (was.windowS === null || Math.abs(was.windowS - want) > 1e-6)
          await decode(t, before.id, before.trimStartS);
      }
      const state = task(t);
      if (state.run?.status === "running") return;
      const { request } = validate(t, state.fields, summaryOf(state.input));
      const input = state.input;
      const entry = input ? inputs.get(input.id) : undefined;
      const decoded = entry?.decoded ?? null;
      const params = request ? withMedia(request, decoded) : null;
      if (!request || !params) return;
      const abort = new AbortController();
      aborts.set(t, abort);
      const token = newId("run");
      const runs: RunName[] = request.compare ? ["vanilla", "guided"] : ["guided"];
      apply((s) =>
        R.runStarted(s, t, {
          jobId: token,
          runs,
          steps: request.steps,
          warmup: request.aligner.warmup,
          now: Date.now(),
        }),
      );
      try {
        const r = await commands.run("generate", params, {
          label: `Generate ${t.toUpperCase()} (${request.compare ? "vanilla + guided" : "guided"})`,
          signal: abort.signal,
          onEvent: (e) => apply((s) => R.runProgress(s, t, token, e)),
        });
        const view = resultFrom(t, state.fields, input, entry?.file ?? null, decoded, r);
        apply((s) => R.addResult(R.runSettled(s, t, token, { status: "done" }), view, true));
        await saveToGallery(view);
        await avAlign(view.id, decoded);
      } catch (e) {
        apply((s) =>
          R.runSettled(
            s,
            t,
            token,
            isCancel(e) ? { status: "cancelled" } : { status: "failed", error: message(e) },
          ),
        );
      } finally {
        if (aborts.get(t) === abort) aborts.delete(t);
      }
    },

    cancel: (t) => aborts.get(t)?.abort(),

    exportResult: async (resultId, kind, run) => {
      const r = result(resultId);
      if (!r) return;
      const which = run ?? task(r.task).listen;
      apply((s) => R.setExport(s, r.task, { status: "running", what: kind, error: null }));
      try {
        const file = await exportMedia(commands, r, kind, which);
        saveBlob(file.blob, file.name);
        apply((s) => R.setExport(s, r.task, { status: "done", what: `${kind}: ${file.name}`, error: null }));
      } catch (e) {
        apply((s) => R.setExport(s, r.task, { status: "failed", what: kind, error: message(e) }));
      }
    },

    saveResult: async (resultId) => {
      const r = result(resultId);
      if (r && r.saved !== "saving") await saveToGallery(r);
    },

    loadGallery: async () => {
      apply((s) => R.setGallery(s, { status: "loading", error: null }));
      try {
        const entries = await db.list();
        apply((s) => R.setGallery(s, { status: "ready", entries }));
      } catch (e) {
        apply((s) => R.setGallery(s, { status: "error", error: message(e) }));
      }
    },

    openEntry: async (id) => {
      const meta = store.getState().studio.gallery.entries.find((e) => e.id === id);
      if (!meta) return;
      if (!result(id)) {
        const view = await resultFromGallery(meta, await db.blobs(id));
        apply((s) => R.addResult(s, view, false));
      }
      store.setState({ tab: meta.task });
      apply((s) => R.showResult(s, meta.task, id));
    },

    deleteEntry: async (id) => {
      await db.remove(id);
      apply((s) => R.galleryRemove(s, id));
    },

    rerun: async (id) => {
      const meta = result(id) ?? store.getState().studio.gallery.entries.find((e) => e.id === id);
      if (!meta) return;
      const file = result(id)?.inputFile ?? (await db.blobs(id)).input ?? null;
      store.setState({ tab: meta.task });
      apply((s) => R.setFields(s, meta.task, meta.settings));
      if (file && meta.input)
        await self.pickInput(meta.task, file, { name: meta.input.name, trimStartS: meta.input.trimStartS });
      await self.generate(meta.task);
    },
  };
  return self;
}
