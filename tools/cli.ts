/**
 * The studio's headless CLI (same engine as the browser; onnxruntime-node + tfjs-wasm).
 *
 *   npm run cli -- generate t2a --prompt "rain on a roof" [--duration 5]
 *   npm run cli -- generate v2a --video clip.mp4 [--prompt "..."] [--compare]
 *   npm run cli -- generate i2a --image photo.jpg [--duration 5]
 *   npm run cli -- generate a2v --audio clip.wav [--prompt "..."] [--compare]      (tools/cli-video.ts)
 *   npm run cli -- generate joint --prompt "a dog barking in a park" [--compare]
 *
 * Common options: --pack DIR (default public/models/default), --out DIR (default out/), --seed N, --steps N,
 * --cfg W, --lambda λ1, --warmup F, --iterations K, --optimizer adam|sgd, --w-text W, --w-vision W,
 * --prompt-tuning λ2, --no-align, --compare, --quant fp32|fp16|q4 (ONNX weights), --guidance onnx|tfjs (where the
 * aligner's loss and gradient run; default onnx), --json (machine output).
 * Writes WAV files (and, for V2A, MP4 with the generated audio on the input video).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import * as ortNode from "onnxruntime-node";
import { BadInputError, StudioError } from "../src/engine/errors.js";
import { mux } from "../src/engine/media/mux.js";
import { decodeImageFile, decodeVideoFile, NativeFfmpegSession } from "../src/engine/media/native.js";
import { encodeWav } from "../src/engine/media/wav.js";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../src/engine/ops/tfjs.js";
import {
  type AudioRequest,
  type AudioTask,
  DEFAULT_AUDIO_ALIGNER,
  runAudioTask,
} from "../src/engine/pipelines/audio_task.js";
import type { PipelineEvent } from "../src/engine/pipelines/events.js";
import { startTfjsNode } from "../src/engine/runtime/tfjs-node.js";
import { openAudioEngine } from "../src/engine/session.js";
import { packFromFolder } from "../src/engine/session-node.js";
import { type Args, guidanceOf, logger, num, optimizerOf, parseArgs, quantOf, str } from "./cli-args.js";
import { generateVideo } from "./cli-video.js";

const USAGE = `usage: npm run cli -- generate t2a|v2a|i2a|a2v|joint [options]   (see tools/cli.ts, tools/cli-video.ts)`;

async function generate(task: AudioTask, a: Args): Promise<void> {
  const json = a.flags.has("json");
  const log = logger(a);
  const backend = await startTfjsNode("wasm");
  const packDir = str(a, "pack") ?? "public/models/default";
  const quant = quantOf(a);
  const outDir = str(a, "out") ?? "out";
  const video = task === "v2a" ? str(a, "video") : undefined;
  const image = task === "i2a" ? str(a, "image") : undefined;
  if (task === "v2a" && !video) throw new BadInputError("generate v2a needs --video FILE");
  if (task === "i2a" && !image) throw new BadInputError("generate i2a needs --image FILE");

  log(`pack ${packDir} · onnxruntime-node (${quant}) · tfjs-${backend}`);
  const t0 = performance.now();
  const engine = await openAudioEngine(await packFromFolder(packDir), {
    forward: { kind: "onnx", ort: ortNode as unknown as OrtModule, weights: quant },
    grad: new TfjsOps(),
    guidance: guidanceOf(a),
  });
  log(`models loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const decodedVideo = video ? await decodeVideoFile(video, { maxSeconds: 60 }) : undefined;
  const req: AudioRequest = {
    task,
    prompt: str(a, "prompt") ?? "",
    negativePrompt: str(a, "negative-prompt") ?? "",
    durationS: a.flags.has("duration") ? num(a, "duration", 10) : task === "v2a" ? undefined : 10,
    seed: num(a, "seed", 0),
    steps: num(a, "steps", 30),
    guidanceScale: num(a, "cfg", 2.5),
    compare: a.flags.has("compare"),
    video: decodedVideo,
    image: image ? await decodeImageFile(image) : undefined,
    aligner: {
      enabled: !a.flags.has("no-align") && task !== "t2a",
      lambda: num(a, "lambda", DEFAULT_AUDIO_ALIGNER.lambda),
      warmup: num(a, "warmup", DEFAULT_AUDIO_ALIGNER.warmup),
      iterations: num(a, "iterations", DEFAULT_AUDIO_ALIGNER.iterations),
      optimizer: optimizerOf(a),
      weights: { text: num(a, "w-text", 1), vision: num(a, "w-vision", 1) },
      promptTuning: { enabled: a.flags.has("prompt-tuning"), lambda: num(a, "prompt-tuning", 1e-3) },
    },
  };
  if (task === "t2a" && a.flags.has("align")) req.aligner.enabled = true;
  const onEvent = (e: PipelineEvent) => {
    if (e.type === "phase") log(`· ${e.phase}${e.run ? ` (${e.run})` : ""}`);
    else if (e.type === "prompt") log(`· prompt${e.auto ? " (automatic)" : ""}: "${e.prompt}"`);
    else if (e.type === "step")
      log(
        `  ${e.run} step ${e.i + 1}/${e.n} t=${e.t} ${(e.ms / 1000).toFixed(2)} s${e.loss !== undefined ? ` loss ${e.loss.toFixed(4)}` : ""}`,
      );
  };
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  const res = await runAudioTask(engine, req, { onEvent, signal: ac.signal });

  await mkdir(outDir, { recursive: true });
  const stem = video ? basename(video, extname(video)) : image ? basename(image, extname(image)) : "t2a";
  const files: string[] = [];
  const ff = new NativeFfmpegSession();
  try {
    for (const [run, r] of Object.entries(res.runs)) {
      const wav = encodeWav({ sampleRate: r.sampleRate, channels: [r.waveform] });
      const wavPath = join(outDir, `${stem}.${run}.wav`);
      await writeFile(wavPath, wav);
      files.push(wavPath);
      if (video) {
        const { readFile } = await import("node:fs/promises");
        const muxed = await mux(ff, {
          video: { kind: "file", name: basename(video), data: new Uint8Array(await readFile(video)) },
          audioWav: wav,
          format: "mp4",
        });
        const mp4 = join(outDir, `${stem}.${run}.mp4`);
        await writeFile(mp4, muxed.bytes);
        files.push(mp4);
      }
    }
  } finally {
    await ff.close();
    await engine.dispose();
  }
  const summary = {
    task,
    prompt: res.prompt,
    autoPrompt: res.autoPrompt,
    durationS: res.durationS,
    runs: Object.fromEntries(
      Object.entries(res.runs).map(([k, r]) => [k, { loss: r.loss, scores: r.scores }]),
    ),
    files,
    seconds: (performance.now() - t0) / 1000,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    for (const [k, r] of Object.entries(summary.runs))
      log(`${k}: alignment loss ${r.loss.toFixed(4)} ${JSON.stringify(r.scores)}`);
    log(`wrote ${files.join(", ")} in ${summary.seconds.toFixed(1)} s`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const a = parseArgs(argv);
  const [cmd, sub] = a._;
  if (cmd === "generate" && (sub === "t2a" || sub === "v2a" || sub === "i2a")) {
    await generate(sub, a);
    return 0;
  }
  if (cmd === "generate" && (sub === "a2v" || sub === "joint")) {
    await generateVideo(sub, a);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof StudioError) process.stderr.write(`error (${e.name}): ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
