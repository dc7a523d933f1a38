/**
 * Results between the worker, the store and the gallery: a "generate" result → a ResultView (WAV blobs encoded
 * here), a ResultView ↔ the gallery's metadata + blobs, and the inputs of AV-align for each task.
 */
import { decodeWav, encodeWav } from "../../engine/media/wav.js";
import type { GenerateResult, VideoFramesMsg } from "../../workers/generate-schemas.js";
import type { AvAlignParams, DecodeResult } from "../../workers/media-schemas.js";
import { stemOf } from "./exports.js";
import type { SettingsFields, StudioTaskId } from "./settings.js";
import {
  type InputView,
  type ResultMeta,
  type ResultView,
  RUN_NAMES,
  type RunMedia,
  type RunMeta,
  type RunName,
} from "./state.js";

let seq = 0;
export const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(++seq).toString(36)}`;

const wavBlob = (sampleRate: number, channels: Float32Array[]) =>
  new Blob([encodeWav({ sampleRate, channels }) as Uint8Array<ArrayBuffer>], { type: "audio/wav" });

/** The mono mix of decoded channels (what a spectrogram or onset detector of "the audio" looks at). */
export function mono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const n = channels[0]!.length;
  const out = new Float32Array(n);
  for (const c of channels) for (let i = 0; i < n; i++) out[i]! += c[i]! / channels.length;
  return out;
}

export function resultFrom(
  task: StudioTaskId,
  fields: SettingsFields,
  input: InputView | null,
  file: Blob | null,
  decoded: DecodeResult | null,
  r: GenerateResult,
): ResultView {
  const runs: ResultView["runs"] = {};
  const media: ResultView["media"] = {};
  for (const name of RUN_NAMES) {
    const run = r.runs[name];
    if (!run) continue;
    const meta: RunMeta = { scores: run.scores, loss: run.loss, lossCurve: run.lossCurve };
    const m: RunMedia = {};
    if (run.promptNorms) meta.promptNorms = run.promptNorms;
    if (run.waveform && run.sampleRate) {
      meta.sampleRate = run.sampleRate;
      m.waveform = run.waveform;
      m.wav = wavBlob(run.sampleRate, [run.waveform]);
    }
    if (run.frames) {
      const { data, ...shape } = run.frames;
      meta.video = shape;
      m.frames = data;
    }
    runs[name] = meta;
    media[name] = m;
  }
  const conditionWav = decoded?.kind === "audio" ? wavBlob(decoded.sampleRate, decoded.channels) : null;
  const title = input ? `${stemOf(input.name)} · ${r.prompt}` : r.prompt;
  return {
    id: newId("r"),
    task,
    createdAt: Date.now(),
    title,
    settings: fields,
    packId: r.packId,
    prompt: r.prompt,
    autoPrompt: r.autoPrompt,
    durationS: r.durationS,
    executors: r.executors,
    runMs: r.runMs,
    input: input && {
      kind: input.kind,
      name: input.name,
      type: input.type,
      trimStartS: input.trimStartS,
      durationS: input.durationS,
      width: input.width,
      height: input.height,
    },
    runs,
    avAlign:
      task === "i2a"
        ? { status: "n/a", byRun: {}, note: null }
        : { status: "running", byRun: {}, note: null },
    media,
    inputFile: file,
    conditionWav,
    saved: null,
  };
}

export function metaOf(r: ResultView): ResultMeta {
  const { media: _media, inputFile: _file, conditionWav: _cond, saved: _saved, saveError: _err, ...meta } = r;
  return meta;
}

/** The gallery's blobs of a result: the input, the condition WAV, and each run's WAV and raw RGB frames. */
export function blobsOf(r: ResultView): Record<string, Blob> {
  const blobs: Record<string, Blob> = {};
  for (const name of RUN_NAMES) {
    const m = r.media[name];
    if (m?.wav) blobs[`${name}.wav`] = m.wav;
    if (m?.frames) blobs[`${name}.rgb`] = new Blob([m.frames as Uint8Array<ArrayBuffer>]);
  }
  if (r.inputFile) blobs.input = r.inputFile;
  if (r.conditionWav) blobs["condition.wav"] = r.conditionWav;
  return blobs;
}

export async function resultFromGallery(meta: ResultMeta, blobs: Record<string, Blob>): Promise<ResultView> {
  const media: ResultView["media"] = {};
  for (const name of RUN_NAMES) {
    if (!meta.runs[name]) continue;
    const m: RunMedia = {};
    const wav = blobs[`${name}.wav`];
    if (wav) {
      m.wav = wav;
      m.waveform = mono(decodeWav(new Uint8Array(await wav.arrayBuffer())).channels);
    }
    const rgb = blobs[`${name}.rgb`];
    if (rgb) m.frames = new Uint8Array(await rgb.arrayBuffer());
    media[name] = m;
  }
  return {
    ...meta,
    media,
    inputFile: blobs.input ?? null,
    conditionWav: blobs["condition.wav"] ?? null,
    saved: "saved",
  };
}

/**
 * AV-align's pairs for a result: V2A the input video against each run's audio; A2V each run's frames against
 * the condition audio; joint each run's frames against its own audio. Null where it does not apply (I2A).
 */
export function avAlignParams(r: ResultView, decoded: DecodeResult | null): AvAlignParams | null {
  const framesOf = (name: RunName): VideoFramesMsg | undefined => {
    const v = r.runs[name]?.video;
    const data = r.media[name]?.frames;
    return v && data ? { data, ...v } : undefined;
  };
  const audios: AvAlignParams["audios"] = [];
  for (const name of RUN_NAMES) {
    const meta = r.runs[name];
    if (!meta) continue;
    if (r.task === "v2a" || r.task === "joint") {
      const waveform = r.media[name]?.waveform;
      if (!waveform || !meta.sampleRate) continue;
      audios.push({
        name,
        waveform,
        sampleRate: meta.sampleRate,
        video: r.task === "joint" ? framesOf(name) : undefined,
      });
    } else if (r.task === "a2v" && decoded?.kind === "audio") {
      audios.push({
        name,
        waveform: mono(decoded.channels),
        sampleRate: decoded.sampleRate,
        video: framesOf(name),
      });
    }
  }
  if (audios.length === 0) return null;
  if (r.task === "v2a") return decoded?.kind === "video" ? { video: decoded.frames, audios } : null;
  return audios.every((a) => a.video) ? { audios } : null;
}

/**
 * What to tell the user when a result could not be stored in the gallery. A full origin quota (IndexedDB's
 * QuotaExceededError, also reported as a DOMException code 22) gets a message that says what to do; the result
 * itself stays open in the tab, so nothing is lost until it is closed.
 */
export function saveFailureMessage(e: unknown): string {
  const name = (e as { name?: unknown } | null)?.name;
  const code = (e as { code?: unknown } | null)?.code;
  const text = e instanceof Error ? e.message : String(e);
  if (name === "QuotaExceededError" || code === 22 || /quota/i.test(text))
    return "Not saved: this browser's storage for the studio is full. Export the result now (it stays open in this tab), then delete gallery entries or installed packs to make room and press Save again.";
  return `Not saved to the gallery (${text}). The result stays open in this tab: export it to keep it, or press Save again.`;
}
