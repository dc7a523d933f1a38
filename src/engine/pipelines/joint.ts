/**
 * Text → joint video + audio (paper Algorithm 1, SPEC §4.2; no released code): AudioLDM and AnimateDiff denoise
 * in lock-step from one prompt; after the warm-up the triangle loss updates both latents (aligner/joint.ts).
 *   # 1. check inputs   # 2. conditions once (CLAP [uncond, cond], CLIP [uncond, cond], ImageBind text)
 *   # 3. timesteps   # 4. latents from one seeded stream (video first, then audio)   # 5. lock-step loop
 *   # 6. decode both   # 7. ImageBind scores (AT, AV, VT) and the triangle loss of the outputs.
 *
 * Two schedules (SPEC §8 Q6). The backbones were tuned for different N (AudioLDM 30 in S&H, AnimateDiff 25). We
 * use ONE step count N for both, so step i of one model is step i of the other ("lock-step" is well defined and
 * the warm-up `i > int(warmup·N)` ends for both at the same i). Each model keeps its OWN scheduler config from
 * the pack (AudioLDM: scaled_linear 0.0015→0.0195; AnimateDiff: linear 0.00085→0.012), so the timestep values
 * agree (leading spacing, same N and offset) while the noise levels ᾱ_t differ. A request naming different step
 * counts per model is refused. Audio length = video duration frames/fps, rounded up to whole seconds (Q7).
 */
import type { AlignTarget } from "../aligner/hook.js";
import {
  type JointModality,
  makeJointAligner,
  TRIANGLE_TERMS,
  type TriangleWeights,
} from "../aligner/joint.js";
import type { OptimizerKind } from "../aligner/optimizer.js";
import { BadInputError, CancelledError } from "../errors.js";
import { isGuidedStep } from "../schedulers/ddim.js";
import { checkVideoOutput, DEFAULT_A2V, type VideoOutputSettings } from "./a2v.js";
import { predictNoiseCfgVideo, videoEmbed, videoEmbedPath, videoGeometry } from "./animatediff.js";
import { audioEmbed, audioEmbedPath } from "./audio_embed.js";
import type { AudioTaskEngine } from "./audio_engine.js";
import { audioGeometry, predictNoiseCfg } from "./audioldm.js";
import { bad, checkGuidanceScale, checkLatent, checkPrompt, checkSampling, checkWeights } from "./checks.js";
import { type EventSink, type RunName, runOrder } from "./events.js";
import { type JointLoopState, jointLoop } from "./joint_loop.js";
import { randn } from "./noise.js";
import { alignmentLoss, bindScoresOf } from "./scores.js";
import type { VideoTaskEngine } from "./video_engine.js";

export interface JointEngine {
  audio: AudioTaskEngine;
  video: VideoTaskEngine;
  dispose(): Promise<void>;
}

export interface JointAlignerSettings {
  enabled: boolean;
  /** λ1 per latent (SPEC §4.2: audio 0.1, video 0.01). */
  lambda: Record<JointModality, number>;
  warmup: number;
  iterations: number;
  optimizer: Extract<OptimizerKind, "adam" | "sgd">;
  /** Triangle-term weights; 0 switches a term off. */
  weights: TriangleWeights;
  /** Guided prompt tuning of each model's conditional embedding (CLAP [1, D], CLIP [1, 77, D]); λ2 shared. */
  promptTuning: { audio: boolean; video: boolean; lambda: number };
}

export interface JointRequest extends VideoOutputSettings {
  prompt: string;
  negativePrompt?: string;
  seed: number;
  /** One N for both models (SPEC §8 Q6). */
  steps: number;
  /** Optional per-model counts, accepted only when equal to `steps` (a mismatch is refused). */
  audioSteps?: number;
  videoSteps?: number;
  guidanceScale: Record<JointModality, number>;
  aligner: JointAlignerSettings;
  compare: boolean;
  initLatents?: Partial<Record<JointModality, Float32Array>>;
  previewEvery?: number;
}

export interface JointRunResult {
  frames: Uint8Array;
  waveform: Float32Array;
  scores: Record<string, number>;
  /** The triangle loss of the outputs with the request's weights. */
  loss: number;
  lossCurve: { i: number; loss: number }[];
  promptNorms: Partial<Record<JointModality, number>>;
}

export interface JointResult {
  prompt: string;
  geometry: ReturnType<typeof videoGeometry>;
  durationS: number;
  sampleRate: number;
  latentShapes: Record<JointModality, number[]>;
  runs: Partial<Record<RunName, JointRunResult>>;
}

/** SPEC §8 Q6: one N = AnimateDiff's 25; CFG per model (AudioLDM 2.5, AnimateDiff 7.5; SPEC §2.4, §4.1). */
export const DEFAULT_JOINT = Object.freeze({
  ...DEFAULT_A2V,
  steps: 25,
  guidanceScale: { audio: 2.5, video: 7.5 },
});

export const DEFAULT_JOINT_ALIGNER: Readonly<JointAlignerSettings> = Object.freeze({
  enabled: true,
  lambda: Object.freeze({ audio: 0.1, video: 0.01 }),
  warmup: 0.2,
  iterations: 1,
  optimizer: "adam",
  weights: Object.freeze({ "text-video": 1, "audio-video": 1, "text-audio": 1 }),
  promptTuning: Object.freeze({ audio: false, video: false, lambda: 1e-3 }),
});

/** # 1. reject impossible requests before any model runs. */
export function checkJointRequest(r: JointRequest): void {
  checkPrompt(r.prompt);
  if (r.negativePrompt !== undefined) checkPrompt(r.negativePrompt, "The negative prompt");
  if (!r.prompt.trim()) bad("Joint generation needs a prompt: describe the scene and its sound.");
  for (const [m, n] of [
    ["audio", r.audioSteps],
    ["video", r.videoSteps],
  ] as const)
    if (n !== undefined && n !== r.steps)
      bad(
        `Joint generation steps AudioLDM and AnimateDiff in lock-step with ONE step count (SPEC §8 Q6): ` +
          `got ${m} steps ${n} but steps ${r.steps}. Give both models the same number of steps.`,
      );
  checkSampling({ steps: r.steps, guidanceScale: r.guidanceScale.video, seed: r.seed });
  checkGuidanceScale(r.guidanceScale.audio, "Audio CFG scale");
  checkVideoOutput(r);
  const a = r.aligner;
  if (a.enabled) {
    for (const m of ["audio", "video"] as const)
      if (!(a.lambda[m] > 0 && a.lambda[m] <= 10)) bad(`${m} λ1 must be in (0, 10] (got ${a.lambda[m]}).`);
    if (!(a.warmup >= 0 && a.warmup < 1)) bad(`Warm-up must be in [0, 1) (got ${a.warmup}).`);
    if (!Number.isInteger(a.iterations) || a.iterations < 1 || a.iterations > 20)
      bad(`Inner iterations must be 1–20 (got ${a.iterations}).`);
    if (a.optimizer !== "adam" && a.optimizer !== "sgd")
      bad(`Aligner optimizer must be "adam" or "sgd" (got "${String(a.optimizer)}").`);
    checkWeights(a.weights, TRIANGLE_TERMS);
    if (
      (a.promptTuning.audio || a.promptTuning.video) &&
      !(a.promptTuning.lambda > 0 && a.promptTuning.lambda <= 1)
    )
      bad(`Prompt-tuning λ2 must be in (0, 1] (got ${a.promptTuning.lambda}).`);
  }
  checkLatent(r.initLatents?.audio);
  checkLatent(r.initLatents?.video);
}

export interface RunJointOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
}

export async function runJointTask(
  engine: JointEngine,
  req: JointRequest,
  opts: RunJointOptions = {},
): Promise<JointResult> {
  checkJointRequest(req);
  const { audio: ae, video: ve } = engine;
  const geo = videoGeometry(ve.animatediff, req);
  const durationS = Math.max(1, Math.ceil(geo.durationS - 1e-9)); // SPEC §8 Q7
  const ageo = audioGeometry(ae.audioldm, durationS);
  const emit = opts.onEvent ?? (() => {});
  const signal = opts.signal;
  const check = () => {
    if (signal?.aborted) throw new CancelledError();
  };

  // # 2. conditions, once per job
  emit({ type: "phase", phase: "conditions" });
  const prompt = req.prompt.trim();
  emit({ type: "prompt", prompt, auto: false });
  const eText = await ve.encoders.embedText(prompt);
  const neg = req.negativePrompt ?? "";
  const clap = await ae.encodePrompt(prompt, neg);
  const clip = await ve.encodePrompt(prompt, neg);
  check();

  // # 4. one seeded stream: the video latent first (so it equals A2V's for the seed), then the audio latent
  const sizeV = geo.latentShape.reduce((a, b) => a * b, 1);
  const sizeA = ageo.latentShape.reduce((a, b) => a * b, 1);
  const noise = randn(sizeV + sizeA, req.seed);
  const latent0 = {
    video: req.initLatents?.video ?? noise.subarray(0, sizeV),
    audio: req.initLatents?.audio ?? noise.subarray(sizeV),
  };
  if (latent0.video.length !== sizeV || latent0.audio.length !== sizeA)
    throw new BadInputError(`initial latents must have ${sizeV} (video) and ${sizeA} (audio) values`);

  const w = req.aligner.weights;
  const runs: JointResult["runs"] = {};
  const order = runOrder(req.aligner.enabled, req.compare);
  for (const run of order) {
    check();
    emit({ type: "phase", phase: "denoising", run });
    const state: JointLoopState = {
      audio: { latent: Float32Array.from(latent0.audio), cond: Float32Array.from(clap.data), uncond: null },
      video: { latent: Float32Array.from(latent0.video), cond: Float32Array.from(clip.data), uncond: null },
    };
    const a = req.aligner;
    const guided = run === "guided";
    const pt = (m: JointModality) => guided && a.promptTuning[m];
    const condRow = (m: JointModality, shape: readonly number[]) => {
      const c = state[m].cond;
      return { value: c.subarray(c.length / 2), shape: [1, ...shape.slice(1)] };
    };
    const y0 = {
      audio: Float32Array.from(condRow("audio", clap.shape).value),
      video: Float32Array.from(condRow("video", clip.shape).value),
    };
    const branch = (m: JointModality) => ({
      latentOptimizer: { kind: a.optimizer, lr: a.lambda[m] } as const,
      promptTuning: pt(m)
        ? {
            prompt: condRow(m, m === "audio" ? clap.shape : clip.shape),
            optimizer: { kind: "adam-persistent", lr: a.promptTuning.lambda } as const,
            epsCond: m === "audio" ? ae.unetEpsTfjs.bind(ae) : ve.unetEpsTfjs.bind(ve),
            guidanceScale: req.guidanceScale[m],
            epsUncond: () => (req.guidanceScale[m] > 1 ? state[m].uncond : null),
          }
        : undefined,
    });
    const align = guided
      ? makeJointAligner({
          ops: ve.grad,
          text: eText,
          weights: w,
          iterations: a.iterations,
          audio: {
            ...branch("audio"),
            embed: audioEmbedPath(ae.grad, ae.audioldm, ae.imagebind, durationS),
            latentShape: ageo.latentShape,
          },
          video: {
            ...branch("video"),
            embed: videoEmbedPath(ve.grad, ve.animatediff, ve.imagebind, geo),
            latentShape: geo.latentShape,
          },
          onnx: ve.onnxJointGuidance(
            `joint-${durationS}-${geo.clips}-${geo.sampledFrames.join(".")}`,
            () => ({
              audio: audioEmbed(ae.audioldm, ae.imagebind, durationS),
              video: videoEmbed(ve.animatediff, ve.imagebind, geo),
            }),
            w,
          ),
          signal,
        })
      : undefined;
    const lossCurve = await jointLoop({
      run,
      steps: req.steps,
      state,
      schedulers: { audio: ae.scheduler(), video: ve.scheduler() },
      predict: {
        audio: (z, t, c) =>
          predictNoiseCfg(
            ae.unet,
            z,
            ageo.latentShape,
            t,
            { data: c, shape: clap.shape },
            req.guidanceScale.audio,
          ),
        video: (z, t, c) =>
          predictNoiseCfgVideo(
            ve.unet,
            z,
            geo.latentShape,
            t,
            { data: c, shape: clip.shape },
            req.guidanceScale.video,
          ),
      },
      align,
      guided: (i) => isGuidedStep(i, req.steps, a.warmup),
      previews: {
        audio: (x0) => ae.previewMel(x0, ageo.latentShape),
        video: (x0) => ve.previewFrames(x0, geo.latentShape),
      },
      previewEvery: req.previewEvery ?? 0,
      emit,
      signal,
    });
    check();
    // # 6. decode both
    emit({ type: "phase", phase: "decoding", run });
    const video = await ve.decode(
      state.video.latent,
      geo.latentShape,
      req.decodeChunk ?? DEFAULT_A2V.decodeChunk,
    );
    const waveform = (await ae.decode(state.audio.latent, ageo.latentShape))
      .subarray(0, ageo.outputLength)
      .slice();
    check(); // a cancel during the last phases ends the job too (test/reliability/cancel-memory.test.ts)
    // # 7. scores and the triangle loss of the outputs
    emit({ type: "phase", phase: "scoring", run });
    const eVideo = await ve.encoders.embedVideo({ ...video, fps: geo.fps }, geo.clips);
    const eAudio = await ae.encoders.embedAudio(waveform, durationS);
    check();
    const scores = bindScoresOf({ audio: eAudio, vision: eVideo, text: eText });
    const loss = triangleLoss(w, eText, eAudio, eVideo);
    const promptNorms: JointRunResult["promptNorms"] = {};
    for (const m of ["audio", "video"] as const)
      if (pt(m)) promptNorms[m] = distance(condRow(m, m === "audio" ? clap.shape : clip.shape).value, y0[m]);
    runs[run] = { frames: video.data, waveform, scores, loss, lossCurve, promptNorms };
  }
  return {
    prompt,
    geometry: geo,
    durationS,
    sampleRate: ageo.samplingRate,
    latentShapes: { audio: ageo.latentShape, video: geo.latentShape },
    runs,
  };
}

/** Σ w·(1 − cos) over the active triangle terms, on final embeddings. */
export function triangleLoss(
  w: TriangleWeights,
  text: Float32Array,
  audio: Float32Array,
  video: Float32Array,
): number {
  const t = (e: Float32Array, name: string, weight: number): AlignTarget => ({ name, embedding: e, weight });
  return (
    alignmentLoss(
      [t(text, "text-video", w["text-video"]), t(audio, "audio-video", w["audio-video"])],
      video,
    ) + alignmentLoss([t(text, "text-audio", w["text-audio"])], audio)
  );
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return Math.sqrt(s);
}
