/**
 * Exports of a result: the chosen run's WAV; MP4 (H.264/AAC) and WebM (VP8/Opus) muxed in the media worker —
 * the generated audio on the input video's range the generation used (V2A) or on the input picture (I2A); and a
 * PNG figure (input frame strip or picture above each run's spectrogram). Files are named after the input.
 */
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

export async function exportMedia(
  commands: Commands,
  r: ResultView,
  kind: "mp4" | "webm" | "wav" | "png",
  run: RunName,
): Promise<ExportedFile> {
  const stem = `${stemOf(r.input?.name ?? r.task)}.${r.task}`;
  const audio = r.runs[run] ?? r.runs.guided ?? r.runs.vanilla;
  if (!audio) throw new Error("This result has no audio to export.");
  if (kind === "wav") return { blob: audio.wav, name: `${stem}.${run}.wav` };
  if (kind === "png") return { blob: await figure(commands, r), name: `${stem}.png` };
  if (!r.inputFile || !r.input)
    throw new Error("The input of this result is not stored, so it cannot be muxed.");
  const data = new Uint8Array(await r.inputFile.arrayBuffer());
  const still = r.input.kind === "image";
  const video = still
    ? { kind: "file" as const, name: r.input.name, data, stillFps: STILL_FPS }
    : {
        kind: "file" as const,
        name: r.input.name,
        data,
        startS: r.input.trimStartS,
        durationS: Math.min(r.durationS, r.input.durationS ?? r.durationS),
      };
  const wav = new Uint8Array(await audio.wav.arrayBuffer());
  const out = await commands.run(
    "mux",
    { video, audioWav: wav, formats: [kind] },
    { label: `Export ${kind.toUpperCase()} (${run})`, transfer: [data.buffer, wav.buffer] },
  );
  const f = out.files[0]!;
  return {
    blob: new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: f.mimeType }),
    name: `${stem}.${run}.${kind}`,
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

/** Input strip (or picture) above one spectrogram row per run, as a PNG. */
async function figure(commands: Commands, r: ResultView): Promise<Blob> {
  const pictures: ImageBitmap[] = [];
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
    if (d.kind === "video") {
      const { data, width, height, numFrames } = d.frames;
      const n = Math.min(STRIP_FRAMES, numFrames);
      for (let k = 0; k < n; k++) {
        const f = Math.floor((k * numFrames) / n);
        pictures.push(await createImageBitmap(rgbToImageData(data, width, height, f * width * height * 3)));
      }
    } else if (d.kind === "image") {
      pictures.push(await createImageBitmap(rgbToImageData(d.image.data, d.image.width, d.image.height)));
    }
  }
  const runs = (["vanilla", "guided"] as const).filter((k) => r.runs[k]);
  const width = 960;
  const stripH = pictures.length ? ROW_H : 0;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = stripH + runs.length * (ROW_H + 20);
  const g = canvas.getContext("2d")!;
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  let x = 0;
  for (const p of pictures) {
    const w = Math.min(width / pictures.length, (p.width / p.height) * ROW_H);
    g.drawImage(p, x, 0, w, ROW_H);
    x += w;
  }
  let y = stripH;
  for (const run of runs) {
    g.fillStyle = "#1b1f24";
    g.font = "14px sans-serif";
    g.fillText(`${run} · ${r.prompt}`, 4, y + 15);
    const s = spectrogram(r.runs[run]!.waveform);
    const img = new ImageData(timeFreqToRgba(s.data, s.frames, s.bins), s.frames, s.bins);
    g.drawImage(await createImageBitmap(img), 0, y + 20, width, ROW_H);
    y += ROW_H + 20;
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("The PNG could not be encoded."))), "image/png"),
  );
}
