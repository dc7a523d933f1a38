/**
 * Writes the studio's demo assets (src/engine/world/demos.ts) to public/demos/world/:
 *
 *   node tools/run.mjs tools/world-demos.ts [--out public/demos/world]
 *
 * the condition the studio's "Load demo" makes in the browser (src/engine/world/demo-media.ts: v2a the clip's
 * picture without sound, i2a its middle frame as PNG, a2v its sound as WAV), and for every demo the real clip
 * with sound as <name>.reference.mp4.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mux } from "../src/engine/media/mux.js";
import { NativeFfmpegSession } from "../src/engine/media/native.js";
import { worldClip } from "../src/engine/world/clip.js";
import { demoMedia } from "../src/engine/world/demo-media.js";
import { WORLD_DEMOS } from "../src/engine/world/demos.js";
import { mp4Bytes } from "./lib/media-out.js";

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
    const input = demoMedia(d);
    if (input?.kind === "video")
      await writeFile(
        name(input.name),
        (await mux(ff, { video: input.frames, audioWav: null, format: "mp4" })).bytes,
      );
    else if (input) await writeFile(name(input.name), input.bytes);
    process.stdout.write(`${d.id}: ${c.caption}\n`);
  }
} finally {
  await ff.close();
}
