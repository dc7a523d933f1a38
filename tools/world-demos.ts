/**
 * Writes the studio's demo assets (src/engine/world/demos.ts) to public/demos/world/:
 *
 *   node tools/run.mjs tools/world-demos.ts [--out public/demos/world]
 *
 * v2a: the clip's picture without sound (the condition); i2a: its middle frame as PNG; a2v: its sound as WAV;
 * every demo: the real clip with sound as <name>.reference.mp4.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NativeFfmpegSession } from "../src/engine/media/native.js";
import { keyFrame, worldClip } from "../src/engine/world/clip.js";
import { WORLD_DEMOS } from "../src/engine/world/demos.js";
import { mp4Bytes, wavBytes, writeContactSheet } from "./lib/media-out.js";

const argv = process.argv.slice(2);
const i = argv.indexOf("--out");
const out = i >= 0 ? argv[i + 1] : "public/demos/world";
await mkdir(out, { recursive: true });
const ff = new NativeFfmpegSession();
try {
  for (const d of WORLD_DEMOS) {
    const c = worldClip(d.clipSeed);
    if (c.caption !== d.caption)
      throw new Error(`${d.id}: clip ${d.clipSeed} is "${c.caption}", not "${d.caption}"`);
    const name = (p: string) => join(out, p.split("/").pop()!);
    const sound = { samples: c.audio, sampleRate: c.sampleRate };
    await writeFile(name(d.reference), await mp4Bytes(ff, c.video, sound));
    if (d.input?.kind === "video") await writeFile(name(d.input.path), await mp4Bytes(ff, c.video, null));
    if (d.input?.kind === "audio") await writeFile(name(d.input.path), wavBytes(c.audio, c.sampleRate));
    if (d.input?.kind === "image") {
      const k = keyFrame(c);
      await writeContactSheet(
        name(d.input.path),
        { data: k.data, numFrames: 1, width: k.width, height: k.height, fps: 1 },
        1,
        1,
      );
    }
    process.stdout.write(`${d.id}: ${c.caption}\n`);
  }
} finally {
  await ff.close();
}
