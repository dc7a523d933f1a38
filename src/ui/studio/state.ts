/**
 * The studio slice of the store: per task tab, the form, the picked input, the run in progress and the result
 * on show; the results held in memory; and the gallery's list. Media (decoded frames, WAV blobs) stay out of
 * the persisted metadata; results hold their WAVs as Blobs and their waveforms for the spectrograms.
 */
import type { GenerateResult } from "../../workers/generate-schemas.js";
import { defaultFields, type SettingsFields, type StudioTaskId } from "./settings.js";

export type RunName = "vanilla" | "guided";
export const RUN_NAMES: readonly RunName[] = Object.freeze(["vanilla", "guided"]);

export interface InputView {
  id: string;
  kind: "video" | "image" | "audio";
  name: string;
  type: string;
  bytes: number;
  status: "decoding" | "ready" | "error";
  error: string | null;
  /** Seconds decoded (the trimmed range) and the whole file's length. */
  durationS: number | null;
  sourceDurationS: number | null;
  trimStartS: number;
  width: number | null;
  height: number | null;
  fps: number | null;
  numFrames: number | null;
  /** E.g. "scaled from 1920×1080 to fit memory". */
  note: string | null;
  /** What decoded it: "webcodecs" or "ffmpeg.wasm" (null until decoded). */
  decoder: "webcodecs" | "ffmpeg.wasm" | null;
}

export interface PreviewView {
  i: number;
  kind: "mel" | "frames";
  data: Float32Array | Uint8Array;
  shape: number[];
}

export type PreviewKey = `${RunName}:${PreviewView["kind"]}`;
export const previewKey = (run: RunName, kind: PreviewView["kind"]): PreviewKey => `${run}:${kind}`;

export interface LossPoint {
  run: RunName;
  i: number;
  loss: number;
  terms?: Record<string, number>;
}

export interface RunView {
  jobId: string | null;
  status: "running" | "done" | "failed" | "cancelled";
  phase: string;
  run: RunName | null;
  /** 0..1 while loading the pack. */
  loadProgress: number | null;
  step: { i: number; n: number } | null;
  stepsDone: number;
  /** Steps of every run of this job (n × runs), once known. */
  stepsTotal: number | null;
  runs: readonly RunName[];
  warmup: number;
  /** Recent step times by kind (aligner on or off), for the ETA. */
  stepMs: { plain: number[]; guided: number[] };
  startedAt: number;
  prompt: { text: string; auto: boolean; candidates: { label: string; score: number }[] } | null;
  /** The latest x0 preview per run and kind (joint previews both its mel and its frames): key `run:kind`. */
  previews: Partial<Record<PreviewKey, PreviewView>>;
  loss: LossPoint[];
  promptNorm: number | null;
  error: string | null;
}

/** Generated frames [F, H, W, 3] and how to play them. */
export interface FramesMeta {
  numFrames: number;
  width: number;
  height: number;
  fps: number;
}

/** What is persisted about one run (its media live in blobs). */
export interface RunMeta {
  scores: Record<string, number>;
  loss: number;
  lossCurve: { i: number; loss: number }[];
  promptNorms?: Record<string, number>;
  /** Set when the run generated audio. */
  sampleRate?: number;
  /** Set when the run generated video. */
  video?: FramesMeta;
}

/** One run's media in memory. */
export interface RunMedia {
  /** Mono PCM for spectrograms and metrics (decoded from the WAV for gallery entries). */
  waveform?: Float32Array;
  wav?: Blob;
  /** RGB frames [F, H, W, 3]. */
  frames?: Uint8Array;
}

export interface AvAlignView {
  status: "running" | "done" | "failed" | "n/a";
  byRun: Partial<Record<RunName, number | null>>;
  note: string | null;
}

/** What is persisted with a result (and enough to run it again). */
export interface ResultMeta {
  id: string;
  task: StudioTaskId;
  createdAt: number;
  title: string;
  settings: SettingsFields;
  packId: string;
  prompt: string;
  autoPrompt: boolean;
  durationS: number;
  executors: GenerateResult["executors"];
  runMs: number;
  input: {
    kind: InputView["kind"];
    name: string;
    type: string;
    trimStartS: number;
    durationS: number | null;
    width: number | null;
    height: number | null;
  } | null;
  runs: Partial<Record<RunName, RunMeta>>;
  avAlign: AvAlignView | null;
}

export interface ResultView extends ResultMeta {
  media: Partial<Record<RunName, RunMedia>>;
  /** The input as picked (kept for exports and re-runs). */
  inputFile: Blob | null;
  /** A2V: the condition audio as the model heard it (the trimmed range, WAV), played and muxed with the frames. */
  conditionWav: Blob | null;
  saved: "saving" | "saved" | "failed" | null;
  /** Why saving to the gallery failed, for the user (the result stays open in this tab). */
  saveError?: string | null;
}

export interface ExportView {
  status: "running" | "done" | "failed";
  what: string;
  error: string | null;
}

/** A world demo preset being loaded into the tab (studio/demo.ts), until the user picks another input. */
export interface DemoView {
  /** The preset's id (engine/world/demos.ts). */
  id: string;
  /** This load (a newer load or a picked file replaces it). */
  token: string;
  status: "making" | "ready" | "failed";
  error: string | null;
}

export interface TaskState {
  fields: SettingsFields;
  input: InputView | null;
  /** The demo preset whose input and prompt the tab holds, if any. */
  demo: DemoView | null;
  run: RunView | null;
  resultId: string | null;
  /** Which run the A/B toggle plays. */
  listen: RunName;
  exporting: ExportView | null;
}

export interface GalleryState {
  status: "idle" | "loading" | "ready" | "error";
  entries: ResultMeta[];
  error: string | null;
}

export interface StudioSlice {
  tasks: Record<StudioTaskId, TaskState>;
  results: Record<string, ResultView>;
  gallery: GalleryState;
  /** Complete packs installed in this browser, for the pack picker (the bundled pack is always offered). */
  packs: { id: string; name: string }[];
}

export function initialTask(t: StudioTaskId): TaskState {
  return {
    fields: defaultFields(t),
    input: null,
    demo: null,
    run: null,
    resultId: null,
    listen: "guided",
    exporting: null,
  };
}

export function initialStudio(): StudioSlice {
  return {
    tasks: {
      v2a: initialTask("v2a"),
      i2a: initialTask("i2a"),
      a2v: initialTask("a2v"),
      joint: initialTask("joint"),
    },
    results: {},
    gallery: { status: "idle", entries: [], error: null },
    packs: [],
  };
}
