/**
 * The CLI's video commands (dispatched from tools/cli.ts):
 *
 *   npm run cli -- generate a2v --audio clip.wav [--prompt "..."] [--compare]
 *   npm run cli -- generate joint --prompt "a dog barking in a park" [--compare]
 *
 * Video options: --frames N (16), --height/--width PX (512), --fps F (8), --steps N (25), --seed N,
 * --decode-chunk N (4), --negative-prompt TEXT, --no-align, --compare, --warmup F, --iterations K,
 * --optimizer adam|sgd, --prompt-tuning λ2, --pack DIR, --out DIR, --quant fp32|fp16|q4, --json,
 * --memory-budget GB [--max-buffer MB]: plan memory first (docs/memory.md) and apply its fallbacks.
 * a2v: --cfg W (7.5), --lambda λ1 (0.01), --w-audio W, --w-text W, --audio-span video|full, --audio-clip S.
 * joint: --cfg-audio W (2.5), --cfg-video W (7.5), --lambda-audio (0.1), --lambda-video (0.01),
 *   --w-tv/--w-av/--w-ta W (triangle terms), --audio-steps/--video-steps N (must equal --steps),
 *   --prompt-tuning-audio / --prompt-tuning-video (both by default when --prompt-tuning is given).
 * Writes <stem>.<run>.mp4 (generated frames + the input audio, or the generated audio for joint) and, for
 * joint, <stem>.<run>.wav.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import * as ortNode from "onnxruntime-node";
import { BadInputError, OutOfMemoryError } from "../src/engine/errors.js";
import { mux } from "../src/engine/media/mux.js";
import { decodeAudioFile, NativeFfmpegSession } from "../src/engine/media/native.js";
import { encodeWav } from "../src/engine/media/wav.js";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../src/engine/ops/tfjs.js";
import { MemoryPlanner } from "../src/engine/packs/planner.js";
import { planVideoJob } from "../src/engine/packs/planner-video.js";
import {
  type A2VRequest,
  checkA2VRequest,
  DEFAULT_A2V,
  DEFAULT_VIDEO_ALIGNER,
  runA2VTask,
} from "../src/engine/pipelines/a2v.js";
import type { PipelineEvent } from "../src/engine/pipelines/events.js";
import {
  checkJointRequest,
  DEFAULT_JOINT,
  DEFAULT_JOINT_ALIGNER,
  type JointRequest,
  runJointTask,
} from "../src/engine/pipelines/joint.js";
import { startTfjsNode } from "../src/engine/runtime/tfjs-node.js";
import { openJointEngine, openVideoEngine } from "../src/engine/session.js";
import { packFromFolder } from "../src/engine/session-node.js";
import { type Args, guidanceOf, logger, num, optimizerOf, quantOf, str } from "./cli-args.js";

type VideoTask = "a2v" | "joint";

/** RGB frames [F, H, W, 3] → RGBA for the muxer. */
function rgba(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    out[j] = rgb[i];
    out[j + 1] = rgb[i + 1];
    out[j + 2] = rgb[i + 2];
    out[j + 3] = 255;
  }
  return out;
}

export async function generateVideo(task: VideoTask, a: Args): Promise<void> {
  const log = logger(a);
  const backend = await startTfjsNode("wasm");
  const packDir = str(a, "pack") ?? "public/models/default";
  const quant = quantOf(a);
  const outDir = str(a, "out") ?? "out";
  const audioFile = task === "a2v" ? str(a, "audio") : undefined;
  if (task === "a2v" && !audioFile) throw new BadInputError("generate a2v needs --audio FILE");
  const prompt = str(a, "prompt") ?? "";
  if (task === "joint" && !prompt.trim()) throw new BadInputError('generate joint needs --prompt "…"');
  const shape = {
    frames: num(a, "frames", DEFAULT_A2V.frames),
    height: num(a, "height", DEFAULT_A2V.height),
    width: num(a, "width", DEFAULT_A2V.width),
    fps: num(a, "fps", DEFAULT_A2V.fps),
    decodeChunk: num(a, "decode-chunk", DEFAULT_A2V.decodeChunk),
  };
  const ptFlag = a.flags.has("prompt-tuning");
  const ptLambda = num(a, "prompt-tuning", 1e-3);
  const align = !a.flags.has("no-align");
  const pack = await packFromFolder(packDir);
  let weights = quant;

  // memory plan first (docs/memory.md): fallbacks are applied to the request, a refusal stops here
  let promptTuning = ptFlag;
  if (a.flags.has("memory-budget")) {
    const budgetBytes = num(a, "memory-budget", 8) * 1024 ** 3;
    const maxBufferSize = num(a, "max-buffer", 2048) * 1024 ** 2;
    const plan = planVideoJob(
      new MemoryPlanner(pack.manifest),
      {
        task,
        ...shape,
        guidance: align,
        promptTuning: ptFlag,
        onnxWeights: quant,
        guidanceExecutor: guidanceOf(a),
      },
      { budgetBytes, maxBufferSize },
    );
    if (!plan.ok) throw new OutOfMemoryError(plan.message ?? "not enough memory for this run");
    for (const f of plan.fallbacks) log(`· memory plan: ${f}`);
    Object.assign(shape, {
      frames: plan.request.frames,
      height: plan.request.height,
      width: plan.request.width,
    });
    promptTuning = plan.request.promptTuning;
    weights = plan.request.onnxWeights ?? quant;
    log(
      `· memory plan: peak ≈ ${Math.ceil(plan.estimate.peakBytes / 1024 ** 2)} MB in the ${plan.estimate.peakPhase} phase`,
    );
  }

  log(`pack ${packDir} · onnxruntime-node (${weights}) · tfjs-${backend}`);
  const t0 = performance.now();
  const exec = {
    forward: { kind: "onnx", ort: ortNode as unknown as OrtModule, weights } as const,
    grad: new TfjsOps(),
    guidance: guidanceOf(a),
  };
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
  const common = {
    ...shape,
    prompt,
    negativePrompt: str(a, "negative-prompt") ?? "",
    seed: num(a, "seed", 0),
    steps: num(a, "steps", DEFAULT_A2V.steps),
    compare: a.flags.has("compare"),
  };

  const runs: {
    run: string;
    frames: Uint8Array;
    wav: Uint8Array;
    loss: number;
    scores: Record<string, number>;
  }[] = [];
  let summary: Record<string, unknown>;
  let stem: string;
  if (task === "a2v") {
    const audio = await decodeAudioFile(audioFile!);
    const req: A2VRequest = {
      ...common,
      audio,
      guidanceScale: num(a, "cfg", DEFAULT_A2V.guidanceScale),
      audioSpan: (str(a, "audio-span") ?? "video") === "full" ? "full" : "video",
      audioClipDuration: num(a, "audio-clip", 1),
      aligner: {
        enabled: align,
        lambda: num(a, "lambda", DEFAULT_VIDEO_ALIGNER.lambda),
        warmup: num(a, "warmup", DEFAULT_VIDEO_ALIGNER.warmup),
        iterations: num(a, "iterations", DEFAULT_VIDEO_ALIGNER.iterations),
        optimizer: optimizerOf(a),
        weights: { audio: num(a, "w-audio", 1), text: num(a, "w-text", 1) },
        promptTuning: { enabled: promptTuning, lambda: ptLambda },
      },
    };
    checkA2VRequest(req); // before any weights load
    const engine = await openVideoEngine(pack, exec);
    log(`models loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    try {
      const res = await runA2VTask(engine, req, { onEvent, signal: ac.signal });
      // the input audio, cut to the video's duration, at its own rate
      const n = Math.min(audio.channels[0].length, Math.ceil(res.geometry.durationS * audio.sampleRate));
      const wav = encodeWav({
        sampleRate: audio.sampleRate,
        channels: audio.channels.map((c) => c.subarray(0, n)),
      });
      for (const [run, r] of Object.entries(res.runs))
        runs.push({ run, frames: r.frames, wav, loss: r.loss, scores: r.scores });
      stem = basename(audioFile!, extname(audioFile!));
      summary = { task, prompt: res.prompt, autoPrompt: res.autoPrompt, geometry: res.geometry };
    } finally {
      await engine.dispose();
    }
  } else {
    const any = a.flags.has("prompt-tuning-audio") || a.flags.has("prompt-tuning-video");
    const req: JointRequest = {
      ...common,
      audioSteps: a.flags.has("audio-steps") ? num(a, "audio-steps", 0) : undefined,
      videoSteps: a.flags.has("video-steps") ? num(a, "video-steps", 0) : undefined,
      guidanceScale: {
        audio: num(a, "cfg-audio", DEFAULT_JOINT.guidanceScale.audio),
        video: num(a, "cfg-video", DEFAULT_JOINT.guidanceScale.video),
      },
      aligner: {
        enabled: align,
        lambda: {
          audio: num(a, "lambda-audio", DEFAULT_JOINT_ALIGNER.lambda.audio),
          video: num(a, "lambda-video", DEFAULT_JOINT_ALIGNER.lambda.video),
        },
        warmup: num(a, "warmup", DEFAULT_JOINT_ALIGNER.warmup),
        iterations: num(a, "iterations", DEFAULT_JOINT_ALIGNER.iterations),
        optimizer: optimizerOf(a),
        weights: {
          "text-video": num(a, "w-tv", 1),
          "audio-video": num(a, "w-av", 1),
          "text-audio": num(a, "w-ta", 1),
        },
        promptTuning: {
          audio: promptTuning && (!any || a.flags.has("prompt-tuning-audio")),
          video: promptTuning && (!any || a.flags.has("prompt-tuning-video")),
          lambda: ptLambda,
        },
      },
    };
    checkJointRequest(req); // before any weights load
    const engine = await openJointEngine(pack, exec);
    log(`models loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    try {
      const res = await runJointTask(engine, req, { onEvent, signal: ac.signal });
      for (const [run, r] of Object.entries(res.runs))
        runs.push({
          run,
          frames: r.frames,
          wav: encodeWav({ sampleRate: res.sampleRate, channels: [r.waveform] }),
          loss: r.loss,
          scores: r.scores,
        });
      stem = "joint";
      summary = { task, prompt: res.prompt, durationS: res.durationS, geometry: res.geometry };
    } finally {
      await engine.dispose();
    }
  }

  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const ff = new NativeFfmpegSession();
  try {
    for (const r of runs) {
      if (task === "joint") {
        const wavPath = join(outDir, `${stem}.${r.run}.wav`);
        await writeFile(wavPath, r.wav);
        files.push(wavPath);
      }
      const muxed = await mux(ff, {
        video: {
          kind: "frames",
          width: shape.width,
          height: shape.height,
          fps: shape.fps,
          data: rgba(r.frames),
        },
        audioWav: r.wav,
        format: "mp4",
      });
      const mp4 = join(outDir, `${stem}.${r.run}.mp4`);
      await writeFile(mp4, muxed.bytes);
      files.push(mp4);
    }
  } finally {
    await ff.close();
  }
  const out = {
    ...summary,
    runs: Object.fromEntries(runs.map((r) => [r.run, { loss: r.loss, scores: r.scores }])),
    files,
    seconds: (performance.now() - t0) / 1000,
  };
  if (a.flags.has("json")) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    for (const r of runs) log(`${r.run}: alignment loss ${r.loss.toFixed(4)} ${JSON.stringify(r.scores)}`);
    log(`wrote ${files.join(", ")} in ${out.seconds.toFixed(1)} s`);
  }
}
