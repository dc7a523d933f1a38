/**
 * Real-media mode of the harness: the same metrics on a folder of files.
 *
 *   npm run eval -- --media DIR [--reference DIR] [--pack public/models/default]
 *
 * DIR holds X.mp4 files; each pair's audio is X.wav when present, else the mp4's own audio track; X.txt (optional)
 * is its caption (for AT/VT-align_bind). Per pair: AV-align, AV-align_bind (and AT/VT with a caption), and the
 * independent evaluators' outputs; with --reference (same file names: the real counterparts) the distribution
 * metrics FD / FVD / KVD / KL / ISc are computed against it. One table row named after DIR.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  buildTable,
  type PairResult,
  type ReferenceResult,
  tableMarkdown,
} from "../../src/engine/eval/table.js";
import { decodeAudioFile, decodeVideoFile } from "../../src/engine/media/native.js";
import { resample } from "../../src/engine/metrics/index.js";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import type { PackSource } from "../../src/engine/packs/loader.js";
import { bindScoresOf } from "../../src/engine/pipelines/scores.js";
import { openAudioEngine } from "../../src/engine/session.js";
import type { Evaluators } from "./evaluators.js";
import { avAlignOf, evaluate } from "./pair.js";
import type { Media } from "./tasks.js";

async function exists(p: string): Promise<boolean> {
  return readFile(p).then(
    () => true,
    () => false,
  );
}

async function loadPair(dir: string, stem: string): Promise<Media> {
  const mp4 = join(dir, `${stem}.mp4`);
  const wav = join(dir, `${stem}.wav`);
  const v = await decodeVideoFile(mp4, { maxSeconds: 60 });
  const a = await decodeAudioFile((await exists(wav)) ? wav : mp4);
  const n = a.channels[0].length;
  const mono = new Float32Array(n);
  for (const c of a.channels) for (let i = 0; i < n; i++) mono[i] += c[i] / a.channels.length;
  return {
    audio: { samples: mono, sampleRate: a.sampleRate },
    video: {
      data: v.data as Uint8Array,
      numFrames: v.numFrames,
      height: v.height,
      width: v.width,
      fps: v.fps,
    },
  };
}

export async function evaluateMediaFolder(
  dir: string,
  referenceDir: string,
  pack: PackSource,
  evaluators: Evaluators,
  outDir: string,
): Promise<void> {
  if (!dir) throw new Error("--media needs a folder of mp4 (+ wav) files");
  const stems = (await readdir(dir))
    .filter((x) => x.endsWith(".mp4"))
    .map((x) => x.slice(0, -4))
    .sort();
  if (!stems.length) throw new Error(`${dir} has no .mp4 files`);
  const ortNode = await import("onnxruntime-node");
  const engine = await openAudioEngine(pack, {
    forward: { kind: "onnx", ort: ortNode as unknown as OrtModule, weights: "fp32" },
    grad: new TfjsOps(),
  });
  const pairs: PairResult[] = [];
  const reference: ReferenceResult[] = [];
  try {
    for (const [i, stem] of stems.entries()) {
      const m = await loadPair(dir, stem);
      const seconds = m.video.numFrames / m.video.fps;
      const clips = Math.max(1, Math.ceil(seconds));
      const wav16 =
        m.audio.sampleRate === 16000 ? m.audio.samples : resample(m.audio.samples, m.audio.sampleRate, 16000);
      const caption = (await readFile(join(dir, `${stem}.txt`), "utf8").catch(() => "")).trim();
      const scores = bindScoresOf({
        audio: await engine.embedAudio(wav16.slice(0, Math.round(seconds * 16000)), clips),
        vision: await engine.embedVideo(m.video, clips),
        text: caption ? await engine.embedText(caption) : null,
      });
      pairs.push({
        index: i,
        seed: 0,
        avAlign: avAlignOf(m),
        bind: scores,
        ...(await evaluate(evaluators, m, { audio: true, video: true })),
      });
      const ref = referenceDir && (await exists(join(referenceDir, `${stem}.mp4`)));
      reference.push({
        index: i,
        ...(ref
          ? await evaluate(evaluators, await loadPair(referenceDir, stem), { audio: true, video: true })
          : {}),
      });
      process.stderr.write(`  ${stem}: AV-align ${pairs[i].avAlign?.toFixed(3)} ${JSON.stringify(scores)}\n`);
    }
  } finally {
    await engine.dispose();
  }
  const name = basename(dir.replace(/\/+$/, ""));
  const complete = reference.every((r) => r.audio);
  const table = buildTable(
    "media",
    { [name]: pairs },
    complete ? reference : reference.map((r) => ({ index: r.index })),
  );
  const md = tableMarkdown(table, `Media folder ${dir} (${pairs.length} pairs)`);
  process.stdout.write(`${md}\n`);
  const { mkdir, writeFile } = await import("node:fs/promises");
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, `media-${name}.md`), `${md}\n`);
  await writeFile(
    join(outDir, `media-${name}.json`),
    `${JSON.stringify({ dir, referenceDir, table }, null, 2)}\n`,
  );
}
