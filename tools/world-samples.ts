/**
 * Writes sample clips of the procedural world for inspection:
 *
 *   node tools/run.mjs tools/world-samples.ts [--split heldOut|train] [--n 8] [--first 0] [--out out/world]
 *
 * Per clip: <seed>.mp4 (frames + sound), <seed>.wav, <seed>.png (a 4×4 sheet of the 16 frames) and one line of
 * index.json (captions, event times, labels).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NativeFfmpegSession } from "../src/engine/media/native.js";
import { worldClip } from "../src/engine/world/clip.js";
import { SPLITS, type Split, splitSeed } from "../src/engine/world/spec.js";
import { mp4Bytes, wavBytes, writeContactSheet } from "./lib/media-out.js";

const argv = process.argv.slice(2);
const flag = (k: string, d: string) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : d;
};
const split = flag("split", "heldOut") as Split;
if (!(split in SPLITS)) throw new Error(`--split must be one of ${Object.keys(SPLITS).join(", ")}`);
const n = Number(flag("n", "8"));
const first = Number(flag("first", "0"));
const outDir = flag("out", "out/world");
await mkdir(outDir, { recursive: true });
const ff = new NativeFfmpegSession();
const index: unknown[] = [];
try {
  for (let i = first; i < first + n; i++) {
    const seed = splitSeed(split, i);
    const c = worldClip(seed);
    await writeFile(join(outDir, `${seed}.wav`), wavBytes(c.audio, c.sampleRate));
    await writeFile(
      join(outDir, `${seed}.mp4`),
      await mp4Bytes(ff, c.video, { samples: c.audio, sampleRate: c.sampleRate }),
    );
    await writeContactSheet(join(outDir, `${seed}.png`), c.video);
    const events = c.scene.objects.map((o) => ({ kind: o.kind, colour: o.colour, events: o.events }));
    index.push({
      seed,
      caption: c.caption,
      keyFrameCaption: c.keyFrameCaption,
      audioCaption: c.audioCaption,
      events,
    });
    process.stdout.write(`${seed}: ${c.caption}  [${c.onsets.map((t) => t.toFixed(2)).join(", ")}]\n`);
  }
} finally {
  await ff.close();
}
await writeFile(join(outDir, "index.json"), `${JSON.stringify(index, null, 1)}\n`);
