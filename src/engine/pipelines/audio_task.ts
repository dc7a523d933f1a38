/**
 * Text/Video/Image → audio with AudioLDM and the ImageBind latent aligner (SPEC §3, §10). One composition for
 * the three tasks; they differ only in the condition:
 *   # 1. check inputs   # 2. conditions once (ImageBind vision/text, CLAP [uncond, cond])   # 3. timesteps
 *   # 4. latents from the seed   # 5. loop (vanilla and/or guided, same latent)   # 6. decode, cut   # 7. score
 */
import type { AlignTarget } from "../aligner/hook.js";
import { BadInputError, CancelledError } from "../errors.js";
import type { RgbImage } from "../preprocess/video/imagebind_image.js";
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import { audioEmbedPath } from "./audio_embed.js";
import type { AudioTaskEngine } from "./audio_engine.js";
import { type AudioLDMModels, audioGeometry, predictNoiseCfg } from "./audioldm.js";
import {
  bad,
  checkAlignerCore,
  checkImageInput,
  checkLatent,
  checkPrompt,
  checkSampling,
  checkVideoFrames,
  checkWeights,
} from "./checks.js";
import { type EventSink, type RunName, runOrder } from "./events.js";
import { type AlignerCore, guidedRun } from "./guided_run.js";
import { randn } from "./noise.js";
import { alignmentLoss, bindScoresOf } from "./scores.js";

export type AudioTask = "t2a" | "v2a" | "i2a";

export interface AlignerSettings extends AlignerCore {
  /** Loss-term weights by condition ("text", "vision"); 0 switches a term off. */
  weights: { text: number; vision: number };
}

export interface AudioRequest {
  task: AudioTask;
  /** Empty: the automatic prompt (top ImageBind labels of the condition). */
  prompt: string;
  negativePrompt?: string;
  /** Seconds of audio (V2A: ceil(video duration) when omitted). */
  durationS?: number;
  seed: number;
  steps: number;
  guidanceScale: number;
  aligner: AlignerSettings;
  /** Also run vanilla (same seed and latent). */
  compare: boolean;
  video?: VideoFrames;
  image?: RgbImage;
  /** Override the seeded initial latent (tests). */
  initLatent?: Float32Array;
  /** Emit an x0 mel preview every N steps (0: never). */
  previewEvery?: number;
}

export interface AudioRunResult {
  waveform: Float32Array;
  sampleRate: number;
  /** ImageBind alignment of the output: cosines with each condition and the aligner's loss on them. */
  scores: Record<string, number>;
  loss: number;
  /** Per guided step: loss before the update. */
  lossCurve: { i: number; loss: number }[];
  promptNorm?: number;
}

export interface AudioResult {
  task: AudioTask;
  prompt: string;
  autoPrompt: boolean;
  durationS: number;
  clips: number;
  latentShape: number[];
  runs: Partial<Record<RunName, AudioRunResult>>;
}

export const DEFAULT_AUDIO_ALIGNER: Readonly<AlignerSettings> = Object.freeze({
  enabled: true,
  lambda: 0.1,
  warmup: 0.2,
  iterations: 1,
  optimizer: "adam",
  weights: { text: 1, vision: 1 },
  promptTuning: { enabled: false, lambda: 1e-3 },
});

/** # 1. reject impossible requests before any model runs (diffusers `check_inputs`). */
export function checkAudioRequest(r: AudioRequest): void {
  checkPrompt(r.prompt);
  if (r.negativePrompt !== undefined) checkPrompt(r.negativePrompt, "The negative prompt");
  if (r.task === "v2a" && !r.video) bad("Video→audio needs a video: pick or drop a video file.");
  if (r.task === "i2a" && !r.image) bad("Image→audio needs an image: pick or drop an image file.");
  if (r.task === "t2a" && !r.prompt.trim()) bad("Text→audio needs a prompt: describe the sound to generate.");
  if (r.task === "v2a" && r.video) checkVideoFrames(r.video, "The condition video");
  if (r.task === "i2a" && r.image) checkImageInput(r.image, "The condition image");
  checkSampling(r);
  if (r.durationS !== undefined && !(r.durationS > 0 && r.durationS <= 60))
    bad(`Duration must be between 0 and 60 seconds (got ${r.durationS}).`);
  const a = r.aligner;
  checkAlignerCore(a);
  if (a.enabled) {
    if (!(a.weights.text >= 0 && a.weights.vision >= 0)) bad("Loss-term weights must be ≥ 0.");
    checkWeights(a.weights, r.task === "t2a" ? ["text"] : ["text", "vision"]);
  }
  checkLatent(r.initLatent);
}

export interface RunAudioOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
}

export async function runAudioTask(
  engine: AudioTaskEngine,
  req: AudioRequest,
  opts: RunAudioOptions = {},
): Promise<AudioResult> {
  checkAudioRequest(req);
  const emit = opts.onEvent ?? (() => {});
  const signal = opts.signal;
  const check = () => {
    if (signal?.aborted) throw new CancelledError();
  };
  const m: AudioLDMModels = engine.audioldm;

  // # 2. conditions, once per job
  emit({ type: "phase", phase: "conditions" });
  const durationS =
    req.durationS ?? (req.video ? Math.max(1, Math.ceil(req.video.numFrames / req.video.fps)) : 10);
  const clips = Math.max(1, Math.ceil(durationS));
  const eVision =
    req.task === "v2a"
      ? await engine.embedVideo(req.video!, clips)
      : req.task === "i2a"
        ? await engine.embedImage(req.image!)
        : null;
  check();
  let prompt = req.prompt.trim();
  let autoPrompt = false;
  if (!prompt) {
    const ranked = await engine.autoPrompt(eVision!);
    prompt = ranked.prompt;
    autoPrompt = true;
    emit({ type: "prompt", prompt, auto: true, candidates: ranked.candidates });
  } else emit({ type: "prompt", prompt, auto: false });
  const eText = await engine.embedText(prompt);
  const promptEmbeds = await engine.encodePrompt(prompt, req.negativePrompt ?? "");
  check();

  // # 3–4. geometry and the shared initial latent
  const geo = audioGeometry(m, durationS);
  const size = geo.latentShape.reduce((a, b) => a * b, 1);
  const latent0 = req.initLatent ?? randn(size, req.seed);
  if (latent0.length !== size)
    throw new BadInputError(
      `initial latent has ${latent0.length} values, expected ${size} for [${geo.latentShape}]`,
    );

  const targets: AlignTarget[] = [];
  if (req.aligner.weights.text > 0)
    targets.push({ name: "text-audio", embedding: eText, weight: req.aligner.weights.text });
  if (eVision && req.aligner.weights.vision > 0)
    targets.push({ name: "vision-audio", embedding: eVision, weight: req.aligner.weights.vision });

  const runs: AudioResult["runs"] = {};
  const order = runOrder(req.aligner.enabled, req.compare);
  for (const run of order) {
    check();
    emit({ type: "phase", phase: "denoising", run });
    const {
      latent: final,
      lossCurve,
      promptNorm,
    } = await guidedRun({
      run,
      scheduler: engine.scheduler(),
      steps: req.steps,
      latent0,
      latentShape: geo.latentShape,
      cond: promptEmbeds,
      guidanceScale: req.guidanceScale,
      predict: (z, t, cond) => predictNoiseCfg(engine.unet, z, geo.latentShape, t, cond, req.guidanceScale),
      aligner: run === "guided" ? req.aligner : null,
      grad: engine.grad,
      embed: audioEmbedPath(engine.grad, m, engine.imagebind, clips),
      onnxGuidance: engine.onnxGuidance(clips),
      targets,
      epsCondTfjs: (ops, z, t, y) => engine.unetEpsTfjs(ops, z, t, y),
      preview: (x0) => engine.previewMel(x0, geo.latentShape),
      previewEvery: req.previewEvery,
      emit,
      signal,
    });
    check();
    // # 6. decode and cut to the requested length
    emit({ type: "phase", phase: "decoding", run });
    const full = await engine.decode(final, geo.latentShape);
    check(); // a cancel during the last phases ends the job too (tests: test/reliability/cancel-memory.test.ts)
    const waveform = full.subarray(0, geo.outputLength).slice();
    // # 7. ImageBind scores of the output against the conditions
    emit({ type: "phase", phase: "scoring", run });
    const eAudio = await engine.embedAudio(waveform, clips);
    check();
    const scores = bindScoresOf({ audio: eAudio, text: eText, vision: eVision });
    const loss = alignmentLoss(targets, eAudio);
    runs[run] = { waveform, sampleRate: geo.samplingRate, scores, loss, lossCurve, promptNorm };
  }
  return { task: req.task, prompt, autoPrompt, durationS, clips, latentShape: geo.latentShape, runs };
}
