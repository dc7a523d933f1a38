/**
 * Text/Video/Image → audio with AudioLDM and the ImageBind latent aligner (SPEC §3, §10). One composition for
 * the three tasks; they differ only in the condition:
 *   # 1. check inputs   # 2. conditions once (ImageBind vision/text, CLAP [uncond, cond])   # 3. timesteps
 *   # 4. latents from the seed   # 5. loop (vanilla and/or guided, same latent)   # 6. decode, cut   # 7. score
 */
import type { AlignTarget } from "../aligner/hook.js";
import { makeAligner } from "../aligner/hook.js";
import type { OptimizerKind } from "../aligner/optimizer.js";
import { makePromptTuningAligner } from "../aligner/prompt_tuning.js";
import { BadInputError, CancelledError } from "../errors.js";
import type { RgbImage } from "../preprocess/video/imagebind_image.js";
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import { isGuidedStep } from "../schedulers/ddim.js";
import { audioEmbedPath } from "./audio_embed.js";
import type { AudioTaskEngine } from "./audio_engine.js";
import { type AudioLDMModels, audioGeometry, predictNoiseCfg } from "./audioldm.js";
import { denoise, type StepReport } from "./denoise.js";
import type { EventSink, RunName } from "./events.js";
import { randn } from "./noise.js";
import { alignmentLoss, bindScoresOf } from "./scores.js";

export type AudioTask = "t2a" | "v2a" | "i2a";

export interface AlignerSettings {
  enabled: boolean;
  /** λ1: Adam learning rate (official) or plain gradient step. Official V2A: 0.1. */
  lambda: number;
  /** Guided iff i > int(warmup · steps). Official: 0.2. */
  warmup: number;
  /** Inner iterations K. Official: 1. */
  iterations: number;
  optimizer: Extract<OptimizerKind, "adam" | "sgd">;
  /** Loss-term weights by condition ("text", "vision"); 0 switches a term off. */
  weights: { text: number; vision: number };
  promptTuning: { enabled: boolean; lambda: number };
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
  const bad = (m: string) => {
    throw new BadInputError(m);
  };
  if (r.task === "v2a" && !r.video) bad("Video→audio needs a video: pick or drop a video file.");
  if (r.task === "i2a" && !r.image) bad("Image→audio needs an image: pick or drop an image file.");
  if (r.task === "t2a" && !r.prompt.trim()) bad("Text→audio needs a prompt: describe the sound to generate.");
  if (!Number.isInteger(r.steps) || r.steps < 1 || r.steps > 1000)
    bad(`Steps must be an integer from 1 to 1000 (got ${r.steps}).`);
  if (!(r.guidanceScale >= 0 && r.guidanceScale <= 50))
    bad(`CFG scale must be between 0 and 50 (got ${r.guidanceScale}).`);
  if (!Number.isSafeInteger(r.seed) || r.seed < 0)
    bad(`Seed must be a non-negative integer (got ${r.seed}).`);
  if (r.durationS !== undefined && !(r.durationS > 0 && r.durationS <= 60))
    bad(`Duration must be between 0 and 60 seconds (got ${r.durationS}).`);
  const a = r.aligner;
  if (a.enabled) {
    if (!(a.lambda > 0 && a.lambda <= 10)) bad(`Aligner λ must be in (0, 10] (got ${a.lambda}).`);
    if (!(a.warmup >= 0 && a.warmup < 1)) bad(`Warm-up must be in [0, 1) (got ${a.warmup}).`);
    if (!Number.isInteger(a.iterations) || a.iterations < 1 || a.iterations > 20)
      bad(`Inner iterations must be 1–20 (got ${a.iterations}).`);
    if (!(a.weights.text >= 0 && a.weights.vision >= 0)) bad("Loss-term weights must be ≥ 0.");
    const hasVision = r.task !== "t2a" && a.weights.vision > 0;
    if (!hasVision && !(a.weights.text > 0))
      bad(
        "Every aligner loss term is switched off: give the text or vision term a weight above 0, or turn the aligner off.",
      );
    if (a.promptTuning.enabled && !(a.promptTuning.lambda > 0 && a.promptTuning.lambda <= 1)) {
      bad(`Prompt-tuning λ2 must be in (0, 1] (got ${a.promptTuning.lambda}).`);
    }
  }
  if (r.initLatent?.some((v) => !Number.isFinite(v))) bad("The initial latent contains non-finite values.");
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
  const order: RunName[] = req.aligner.enabled
    ? req.compare
      ? ["vanilla", "guided"]
      : ["guided"]
    : ["vanilla"];
  for (const run of order) {
    check();
    const guided = run === "guided";
    emit({ type: "phase", phase: "denoising", run });
    const lossCurve: { i: number; loss: number }[] = [];
    const previews: Promise<void>[] = [];
    const cond = Float32Array.from(promptEmbeds.data); // [uncond; cond], the cond row may be tuned
    const d = promptEmbeds.shape[1];
    let lastUncond: Float32Array | null = null;
    let promptNorm: number | undefined;
    const align = guided ? makeAlign() : undefined;
    // (defined as a function so the closures see this run's state)
    function makeAlign() {
      const embed = audioEmbedPath(engine.grad, m, engine.imagebind, clips);
      const latentOptimizer = { kind: req.aligner.optimizer, lr: req.aligner.lambda } as const;
      if (!req.aligner.promptTuning.enabled) {
        return makeAligner({
          ops: engine.grad,
          embed,
          targets,
          optimizer: latentOptimizer,
          iterations: req.aligner.iterations,
          latentShape: geo.latentShape,
        });
      }
      const y = { value: cond.subarray(d, 2 * d), shape: [1, d] as const };
      const y0 = Float32Array.from(y.value);
      return makePromptTuningAligner({
        ops: engine.grad,
        embed,
        targets,
        latentOptimizer,
        promptOptimizer: { kind: "adam-persistent", lr: req.aligner.promptTuning.lambda },
        iterations: req.aligner.iterations,
        latentShape: geo.latentShape,
        prompt: y,
        epsCond: (ops, z, t, yy) => engine.unetEpsTfjs(ops, z, t, yy),
        guidanceScale: req.guidanceScale,
        epsUncond: () => (req.guidanceScale > 1 ? lastUncond : null),
        onPrompt: (v, norm) => {
          let dist = 0;
          for (let k = 0; k < v.length; k++) dist += (v[k] - y0[k]) ** 2;
          promptNorm = Math.sqrt(dist);
          emit({ type: "prompt-update", run, i: -1, norm });
        },
      });
    }
    const final = await denoise({
      scheduler: engine.scheduler(),
      steps: req.steps,
      latent: Float32Array.from(latent0),
      predictEps: async (z, t) => {
        const r = await predictNoiseCfg(
          engine.unet,
          z,
          geo.latentShape,
          t,
          { data: cond, shape: promptEmbeds.shape },
          req.guidanceScale,
        );
        lastUncond = r.uncond ? Float32Array.from(r.uncond) : null;
        return r.eps;
      },
      align,
      guided: (i) => isGuidedStep(i, req.steps, req.aligner.warmup),
      signal,
      onStep: (s: StepReport) => {
        if (s.loss !== undefined) lossCurve.push({ i: s.i, loss: s.loss });
        const every = req.previewEvery ?? 0;
        const wantPreview = every > 0 && (s.i % every === every - 1 || s.i === s.n - 1);
        emit({
          type: "step",
          run,
          i: s.i,
          n: s.n,
          t: s.t,
          guided: s.guided,
          loss: s.loss,
          terms: s.terms,
          innerLosses: s.innerLosses,
          ms: s.ms,
        });
        if (wantPreview)
          previews.push(
            engine
              .previewMel(s.x0, geo.latentShape)
              .then((preview) => emit({ type: "preview", run, i: s.i, preview })),
          );
      },
    });
    await Promise.all(previews);
    check();
    // # 6. decode and cut to the requested length
    emit({ type: "phase", phase: "decoding", run });
    const full = await engine.decode(final, geo.latentShape);
    const waveform = full.subarray(0, geo.outputLength).slice();
    // # 7. ImageBind scores of the output against the conditions
    emit({ type: "phase", phase: "scoring", run });
    const eAudio = await engine.embedAudio(waveform, clips);
    const scores = bindScoresOf({ audio: eAudio, text: eText, vision: eVision });
    const loss = alignmentLoss(targets, eAudio);
    runs[run] = { waveform, sampleRate: geo.samplingRate, scores, loss, lossCurve, promptNorm };
  }
  return { task: req.task, prompt, autoPrompt, durationS, clips, latentShape: geo.latentShape, runs };
}
