/**
 * Exports of a result: the chosen run's WAV; MP4 (H.264/AAC) and WebM (VP8/Opus) muxed in the media worker —
 * the generated audio on the input video's range the generation used (V2A) or on the input picture (I2A); and a
 * PNG figure (input frame strip or picture above each run's spectrogram). Files are named after the input.
 */
import type { JobParams } from "../../workers/protocol.js";
import type { Commands } from "../commands.js";
import { spectrogram, timeFreqToRgba } from "./spectrogram.js";
import type { ResultView, RunName } from "./state.js";

export interface ExportedFile {
  blob: Blob;
  name: string;
}

export const stemOf = (name: string) => name.replace(/\.[A-Za-z0-9]{1,8}$/, "") || "studio";

/** Hands a file to the browser's download (an `<a download>` click on an object URL). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const STILL_FPS = 4;

/** RGB frames [F, H, W, 3] → RGBA for the muxer, cropped to even sizes (4:2:0 chroma). */
export function rgbaEven(rgb: Uint8Array, width: number, height: number, frames: number) {
  const w = width - (width % 2);
  const h = height - (height % 2);
  const out = new Uint8Array(frames * w * h * 4);
  let o = 0;
  for (let f = 0; f < frames; f++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = ((f * height + y) * width + x) * 3;
        out[o++] = rgb[i]!;
        out[o++] = rgb[i + 1]!;
        out[o++] = rgb[i + 2]!;
        out[o++] = 255;
      }
  return { data: out, width: w, height: h };
}

export async function exportMedia(
  commands: Commands,
  r: ResultView,
  kind: "mp4" | "webm" | "wav" | "png",
  run: RunName,
): Promise<ExportedFile> {
  const stem = `${stemOf(r.input?.name ?? r.prompt.slice(0, 40).replace(/[^A-Za-z0-9]+/g, "-") ?? r.task)}.${r.task}`;
  const pick = r.media[run] ? run : r.media.guided ? "guided" : "vanilla";
  const media = r.media[pick];
  const meta = r.runs[pick];
  if (!media || !meta) throw new Error("This result has no run to export.");
  if (kind === "png") return { blob: await figure(commands, r), name: `${stem}.png` };
  // the sound of this run: its own (audio tasks, joint) or the condition it was made for (A2V)
  const wavBlob = media.wav ?? r.conditionWav;
  if (kind === "wav") {
    if (!wavBlob) throw new Error("This result has no audio.");
    return { blob: wavBlob, name: `${stem}.${pick}.wav` };
  }
  const wav = wavBlob ? new Uint8Array(await wavBlob.arrayBuffer()) : null;
  let video: JobParams<"mux">["video"];
  if (media.frames && meta.video) {
    const even = rgbaEven(media.frames, meta.video.width, meta.video.height, meta.video.numFrames);
    video = { kind: "frames", fps: meta.video.fps, ...even };
  } else {
    if (!r.inputFile || !r.input)
      throw new Error("The input of this result is not stored, so it cannot be muxed.");
    const data = new Uint8Array(await r.inputFile.arrayBuffer());
    video =
      r.input.kind === "image"
        ? { kind: "file", name: r.input.name, data, stillFps: STILL_FPS }
        : {
            kind: "file",
            name: r.input.name,
            data,
            startS: r.input.trimStartS,
            durationS: Math.min(r.durationS, r.input.durationS ?? r.durationS),
          };
  }
  const out = await commands.run(
    "mux",
    { video, audioWav: wav, formats: [kind] },
    {
      label: `Export ${kind.toUpperCase()} (${pick})`,
      transfer: [video.data.buffer, ...(wav ? [wav.buffer] : [])],
    },
  );
  const f = out.files[0]!;
  return {
    blob: new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: f.mimeType }),
    name: `${stem}.${pick}.${kind}`,
  };
}

const STRIP_FRAMES = 8;
const ROW_H = 96;

function rgbToImageData(rgb: Uint8Array, width: number, height: number, offset = 0): ImageData {
  const img = new ImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    img.data[p * 4] = rgb[offset + p * 3]!;
    img.data[p * 4 + 1] = rgb[offset + p * 3 + 1]!;
    img.data[p * 4 + 2] = rgb[offset + p * 3 + 2]!;
    img.data[p * 4 + 3] = 255;
  }
  return img;
}

async function stripOf(
  data: Uint8Array,
  width: number,
  height: number,
  numFrames: number,
): Promise<ImageBitmap[]> {
  const n = Math.min(STRIP_FRAMES, numFrames);
  const out: ImageBitmap[] = [];
  for (let k = 0; k < n; k++) {
    const f = Math.floor((k * numFrames) / n);
    out.push(await createImageBitmap(rgbToImageData(data, width, height, f * width * height * 3)));
  }
  return out;
}

/** The input's strip (or picture), then per run its generated frames and/or spectrogram, as a PNG. */
async function figure(commands: Commands, r: ResultView): Promise<Blob> {
  let input: ImageBitmap[] = [];
  if (r.inputFile && r.input && r.input.kind !== "audio") {
    const d = await commands.run(
      "decode",
      {
        kind: r.input.kind,
        name: r.input.name,
        file: r.inputFile,
        ...(r.input.kind === "video" ? { startS: r.input.trimStartS, durationS: r.durationS } : {}),
      },
      { label: "Decode for the PNG figure" },
    );
    if (d.kind === "video")
      input = await stripOf(d.frames.data, d.frames.width, d.frames.height, d.frames.numFrames);
    else if (d.kind === "image")
      input = [await createImageBitmap(rgbToImageData(d.image.data, d.image.width, d.image.height))];
  }
  const rows: { label: string; pictures: ImageBitmap[] }[] = [];
  if (input.length) rows.push({ label: `input · ${r.input?.name ?? ""}`, pictures: input });
  for (const run of ["vanilla", "guided"] as const) {
    const m = r.media[run];
    const v = r.runs[run]?.video;
    if (m?.frames && v)
      rows.push({
        label: `${run} · frames`,
        pictures: await stripOf(m.frames, v.width, v.height, v.numFrames),
      });
    if (m?.waveform) {
      const s = spectrogram(m.waveform);
      const img = new ImageData(timeFreqToRgba(s.data, s.frames, s.bins), s.frames, s.bins);
      rows.push({ label: `${run} · spectrogram`, pictures: [await createImageBitmap(img)] });
    }
  }
  const width = 960;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = rows.length * (ROW_H + 20) + 24;
  const g = canvas.getContext("2d")!;
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#1b1f24";
  g.font = "14px sans-serif";
  g.fillText(`${r.task.toUpperCase()} · ${r.prompt} · seed ${r.settings.seed}`, 4, 16);
  let y = 24;
  for (const row of rows) {
    g.fillStyle = "#1b1f24";
    g.fillText(row.label, 4, y + 15);
    const spectro = row.label.endsWith("spectrogram");
    let x = 0;
    for (const p of row.pictures) {
      const w = spectro ? width : Math.min(width / row.pictures.length, (p.width / p.height) * ROW_H);
      g.drawImage(p, x, y + 20, w, ROW_H);
      x += w;
    }
    y += ROW_H + 20;
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("The PNG could not be encoded."))), "image/png"),
  );
}
