/**
 * Audio → video with AnimateDiff and the ImageBind latent aligner (SPEC §4.1; no released code):
 *   # 1. check inputs   # 2. conditions once (audio → 16 kHz → ImageBind audio; prompt → ImageBind text and CLIP
 *   [uncond, cond])   # 3–4. geometry and the seeded latent [1, 4, F, H/8, W/8]   # 5. loop (vanilla and/or
 *   guided, same latent; loss (1 − cos(e_v, e_a))·w_a + (1 − cos(e_v, e_p))·w_p, optional prompt tuning on the
 *   CLIP states [1, 77, D])   # 6. chunked decode   # 7. ImageBind scores.
 */
import type { AlignTarget } from "../aligner/hook.js";
import { BadInputError, CancelledError } from "../errors.js";
import { resampleChannels } from "../preprocess/audio/resample.js";
import { predictNoiseCfgVideo, type VideoGeometry, videoEmbedPath, videoGeometry } from "./animatediff.js";
import {
  bad,
  checkAlignerCore,
  checkAudioInput,
  checkLatent,
  checkPrompt,
  checkSampling,
  checkWeights,
} from "./checks.js";
import { type EventSink, type RunName, runOrder } from "./events.js";
import { type AlignerCore, guidedRun } from "./guided_run.js";
import type { ImageBindEncoders } from "./imagebind_encoders.js";
import { randn } from "./noise.js";
import { alignmentLoss, bindScoresOf } from "./scores.js";
import type { VideoTaskEngine } from "./video_engine.js";

export interface VideoAlignerSettings extends AlignerCore {
  /** Loss-term weights: "audio" = 1 − cos(e_v, e_a), "text" = 1 − cos(e_v, e_p); 0 switches a term off. */
  weights: { audio: number; text: number };
}

/** Decoded audio, channel-major, at its own rate (media/native.ts `decodeAudioFile`, WebAudio in the browser). */
export interface AudioInput {
  channels: Float32Array[];
  sampleRate: number;
}

export interface VideoOutputSettings {
  frames: number;
  height: number;
  width: number;
  /** Playback rate; with `frames` it sets the duration ImageBind clips (SPEC §8 Q7/Q8). */
  fps: number;
  /** Frames per VAE call in the final decode (diffusers `decode_chunk_size`). */
  decodeChunk?: number;
}

export interface A2VRequest extends VideoOutputSettings {
  audio: AudioInput;
  /** Empty: the automatic prompt (the labels closest to the audio in ImageBind space; SPEC §8 Q9). */
  prompt: string;
  negativePrompt?: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  aligner: VideoAlignerSettings;
  compare: boolean;
  /**
   * Which audio conditions the video: "video" (default) the segment the video plays with, [0, frames/fps) — A2V
   * must align temporally (SPEC §1.2); "full" the whole file.
   */
  audioSpan?: "video" | "full";
  /** Seconds per ImageBind audio clip (default 1, as the V2A path and SPEC §8 Q8/Q11; upstream's own is 2). */
  audioClipDuration?: number;
  initLatent?: Float32Array;
  /** Emit an x0 frame-strip preview every N steps (0: never). */
  previewEvery?: number;
}

export interface VideoRunResult {
  /** RGB frames [F, H, W, 3]. */
  frames: Uint8Array;
  scores: Record<string, number>;
  /** The aligner's objective on the output (what compare mode compares). */
  loss: number;
  lossCurve: { i: number; loss: number }[];
  promptNorm?: number;
}

export interface A2VResult {
  prompt: string;
  autoPrompt: boolean;
  geometry: VideoGeometry;
  /** Seconds of input audio used as the condition. */
  audioSeconds: number;
  runs: Partial<Record<RunName, VideoRunResult>>;
}

/** Paper/BRIEF defaults (SPEC §4.1): 16 frames at 512², 8 fps (AnimateDiff), 25 DDIM steps, CFG 7.5. */
export const DEFAULT_A2V = Object.freeze({
  frames: 16,
  height: 512,
  width: 512,
  fps: 8,
  steps: 25,
  guidanceScale: 7.5,
  decodeChunk: 4,
});

/** λ1 = 0.01 for video (SPEC §8 Q2), the official fresh-Adam update (Q1), warm-up 0.2 (Q3), K = 1 (Q4). */
export const DEFAULT_VIDEO_ALIGNER: Readonly<VideoAlignerSettings> = Object.freeze({
  enabled: true,
  lambda: 0.01,
  warmup: 0.2,
  iterations: 1,
  optimizer: "adam",
  weights: Object.freeze({ audio: 1, text: 1 }),
  promptTuning: Object.freeze({ enabled: false, lambda: 1e-3 }),
});

const IMAGEBIND_RATE = 16000;

export function checkVideoOutput(r: VideoOutputSettings): void {
  if (r.decodeChunk !== undefined && !(Number.isInteger(r.decodeChunk) && r.decodeChunk >= 1))
    bad(`Decode chunk must be a positive number of frames (got ${r.decodeChunk}).`);
}

/** # 1. reject impossible requests before any model runs (frame/size limits are checked by `videoGeometry`). */
export function checkA2VRequest(r: A2VRequest): void {
  const a = r.audio;
  if (!a || a.channels.length === 0 || a.channels[0].length === 0)
    bad("Audio→video needs an audio clip: pick or drop an audio file.");
  checkAudioInput(a, "The condition audio");
  checkPrompt(r.prompt);
  if (r.negativePrompt !== undefined) checkPrompt(r.negativePrompt, "The negative prompt");
  checkSampling(r);
  checkVideoOutput(r);
  if (r.audioClipDuration !== undefined && !(r.audioClipDuration > 0 && r.audioClipDuration <= 10))
    bad(`Audio clip duration must be in (0, 10] s (got ${r.audioClipDuration}).`);
  checkAlignerCore(r.aligner);
  if (r.aligner.enabled) checkWeights(r.aligner.weights, ["audio", "text"]);
  checkLatent(r.initLatent);
}

/**
 * The audio condition (SPEC §4.1): upstream `load_and_transform_audio_data` — every channel resampled to 16 kHz
 * (torchaudio sinc, no down-mix), clips of `clipDuration` s, S = ceil(duration / clipDuration).
 */
export async function embedAudioCondition(
  encoders: ImageBindEncoders,
  audio: AudioInput,
  maxSeconds: number,
  clipDuration = 1,
): Promise<{ embedding: Float32Array; seconds: number; clips: number }> {
  const n = Math.min(audio.channels[0].length, Math.round(maxSeconds * audio.sampleRate));
  const cut = audio.channels.map((c) => c.subarray(0, n));
  const r = resampleChannels(cut, audio.sampleRate, IMAGEBIND_RATE);
  const seconds = r.length / IMAGEBIND_RATE;
  if (r.length < 400)
    throw new BadInputError(
      `The audio is too short for ImageBind (${(seconds * 1000).toFixed(0)} ms; at least 25 ms).`,
    );
  const clips = Math.max(1, Math.ceil(seconds / clipDuration - 1e-9));
  const embedding = await encoders.embedAudio(r.data, clips, { channels: r.channels, clipDuration });
  return { embedding, seconds, clips };
}

export interface RunVideoOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
}

export async function runA2VTask(
  engine: VideoTaskEngine,
  req: A2VRequest,
  opts: RunVideoOptions = {},
): Promise<A2VResult> {
  checkA2VRequest(req);
  const geo = videoGeometry(engine.animatediff, req);
  const emit = opts.onEvent ?? (() => {});
  const signal = opts.signal;
  const check = () => {
    if (signal?.aborted) throw new CancelledError();
  };

  // # 2. conditions, once per job
  emit({ type: "phase", phase: "conditions" });
  const span = req.audioSpan === "full" ? Number.POSITIVE_INFINITY : geo.durationS;
  const cond = await embedAudioCondition(engine.encoders, req.audio, span, req.audioClipDuration ?? 1);
  check();
  let prompt = req.prompt.trim();
  let autoPrompt = false;
  if (!prompt) {
    const ranked = await engine.encoders.autoPrompt(cond.embedding);
    prompt = ranked.prompt;
    autoPrompt = true;
    emit({ type: "prompt", prompt, auto: true, candidates: ranked.candidates });
  } else emit({ type: "prompt", prompt, auto: false });
  const eText = await engine.encoders.embedText(prompt);
  const states = await engine.encodePrompt(prompt, req.negativePrompt ?? "");
  check();

  // # 3–4. the shared initial latent
  const size = geo.latentShape.reduce((a, b) => a * b, 1);
  const latent0 = req.initLatent ?? randn(size, req.seed);
  if (latent0.length !== size)
    throw new BadInputError(
      `initial latent has ${latent0.length} values, expected ${size} for [${geo.latentShape}]`,
    );

  const w = req.aligner.weights;
  const targets: AlignTarget[] = [];
  if (w.audio > 0) targets.push({ name: "audio-video", embedding: cond.embedding, weight: w.audio });
  if (w.text > 0) targets.push({ name: "text-video", embedding: eText, weight: w.text });

  const runs: A2VResult["runs"] = {};
  const order = runOrder(req.aligner.enabled, req.compare);
  const m = engine.animatediff;
  for (const run of order) {
    check();
    emit({ type: "phase", phase: "denoising", run });
    const r = await guidedRun({
      run,
      scheduler: engine.scheduler(),
      steps: req.steps,
      latent0,
      latentShape: geo.latentShape,
      cond: states,
      guidanceScale: req.guidanceScale,
      predict: (z, t, c) => predictNoiseCfgVideo(engine.unet, z, geo.latentShape, t, c, req.guidanceScale),
      aligner: run === "guided" ? req.aligner : null,
      grad: engine.grad,
      embed: videoEmbedPath(engine.grad, m, engine.imagebind, geo),
      onnxGuidance: engine.onnxGuidance(geo),
      targets,
      epsCondTfjs: (ops, z, t, y) => engine.unetEpsTfjs(ops, z, t, y),
      preview: (x0) => engine.previewFrames(x0, geo.latentShape),
      previewEvery: req.previewEvery,
      emit,
      signal,
    });
    check();
    // # 6. decode, chunk by chunk
    emit({ type: "phase", phase: "decoding", run });
    const video = await engine.decode(r.latent, geo.latentShape, req.decodeChunk ?? DEFAULT_A2V.decodeChunk);
    check(); // a cancel during the last phases ends the job too (test/reliability/cancel-memory.test.ts)
    // # 7. ImageBind scores of the output (the same frames and clips the aligner sees)
    emit({ type: "phase", phase: "scoring", run });
    const eVideo = await engine.encoders.embedVideo({ ...video, fps: geo.fps }, geo.clips);
    check();
    const scores = bindScoresOf({ vision: eVideo, audio: cond.embedding, text: eText });
    const loss = alignmentLoss(targets, eVideo);
    runs[run] = { frames: video.data, scores, loss, lossCurve: r.lossCurve, promptNorm: r.promptNorm };
  }
  return { prompt, autoPrompt, geometry: geo, audioSeconds: cond.seconds, runs };
}
