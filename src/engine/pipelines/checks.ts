/**
 * Request checks every task shares (diffusers `check_inputs`, STYLE.md 15): run before any model loads, each
 * message names the setting to change.
 */
import { BadInputError } from "../errors.js";
import type { AlignerCore } from "./guided_run.js";

export function bad(message: string): never {
  throw new BadInputError(message);
}

export function checkSampling(r: { steps: number; guidanceScale: number; seed: number }): void {
  if (!Number.isInteger(r.steps) || r.steps < 1 || r.steps > 1000)
    bad(`Steps must be an integer from 1 to 1000 (got ${r.steps}).`);
  checkGuidanceScale(r.guidanceScale);
  if (!Number.isSafeInteger(r.seed) || r.seed < 0)
    bad(`Seed must be a non-negative integer (got ${r.seed}).`);
}

export function checkGuidanceScale(w: number, what = "CFG scale"): void {
  if (!(w >= 0 && w <= 50)) bad(`${what} must be between 0 and 50 (got ${w}).`);
}

/** λ1, warm-up, K and λ2 of an enabled aligner; `what` prefixes the messages (e.g. "Video aligner"). */
export function checkAlignerCore(a: AlignerCore, what = "Aligner"): void {
  if (!a.enabled) return;
  if (!(a.lambda > 0 && a.lambda <= 10)) bad(`${what} λ must be in (0, 10] (got ${a.lambda}).`);
  if (!(a.warmup >= 0 && a.warmup < 1)) bad(`Warm-up must be in [0, 1) (got ${a.warmup}).`);
  if (!Number.isInteger(a.iterations) || a.iterations < 1 || a.iterations > 20)
    bad(`Inner iterations must be 1–20 (got ${a.iterations}).`);
  if (a.optimizer !== "adam" && a.optimizer !== "sgd")
    bad(`${what} optimizer must be "adam" or "sgd" (got "${String(a.optimizer)}").`);
  if (a.promptTuning.enabled && !(a.promptTuning.lambda > 0 && a.promptTuning.lambda <= 1))
    bad(`Prompt-tuning λ2 must be in (0, 1] (got ${a.promptTuning.lambda}).`);
}

/** Loss-term weights: each ≥ 0, and at least one term on. */
export function checkWeights(weights: Readonly<Record<string, number>>, active: readonly string[]): void {
  for (const [k, w] of Object.entries(weights))
    if (!(w >= 0 && Number.isFinite(w))) bad(`Loss-term weight "${k}" must be a number ≥ 0 (got ${w}).`);
  if (!active.some((k) => (weights[k] ?? 0) > 0))
    bad(
      `Every aligner loss term is switched off: give the ${active.join(" or ")} term a weight above 0, or turn the aligner off.`,
    );
}

export function checkLatent(latent: Float32Array | undefined): void {
  if (latent?.some((v) => !Number.isFinite(v))) bad("The initial latent contains non-finite values.");
}

// ---------------------------------------------------------------------------------------------------------------
// Conditions (issue 11 item 1): checked before any model loads, so a bad input never starts a job. The limits
// are the engine's, not the decoder's: a caller that builds frames/PCM itself (CLI, tests, the worker) gets the
// same message as one that went through media/decode.ts.

/** Longest prompt accepted. The text encoders read at most its first 77 (CLIP) / 512 (CLAP) tokens, as upstream. */
export const MAX_PROMPT_CHARS = 2000;
/**
 * Widest aspect ratio of an image or video frame. ImageBind resizes the SHORT side to 224 before its center crop
 * (SPEC §3.6), so a 1×5000 strip becomes a 224×1,120,000 buffer (750 MB, ~10 s); beyond 20:1 the crop shows
 * a sliver anyway.
 */
export const MAX_ASPECT = 20;
/** Longest condition (video or audio) in seconds. */
export const MAX_CONDITION_SECONDS = 600;

export function checkPrompt(p: unknown, what = "The prompt"): void {
  if (typeof p !== "string") bad(`${what} must be text (got ${p === null ? "null" : typeof p}).`);
  if (p.length > MAX_PROMPT_CHARS)
    bad(
      `${what} is ${p.length} characters long: shorten it to at most ${MAX_PROMPT_CHARS} ` +
        "(the text encoders read only its first 77 CLIP / 512 CLAP tokens).",
    );
}

function checkPicture(what: string, width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1))
    bad(`${what} has no pixels (${width}×${height}): pick another file.`);
  const aspect = Math.max(width, height) / Math.min(width, height);
  if (aspect > MAX_ASPECT)
    bad(
      `${what} is ${width}×${height}, wider than ${MAX_ASPECT}:1: crop it closer to a square ` +
        "(ImageBind only sees a square center crop of it).",
    );
}

export interface FramesLike {
  data: ArrayLike<number>;
  numFrames: number;
  width: number;
  height: number;
  channels?: 3 | 4;
  fps: number;
}

/** Decoded frames [T, H, W, C]: sizes that agree with the bytes, a usable frame rate, at most 10 minutes. */
export function checkVideoFrames(v: FramesLike, what = "The video"): void {
  checkPicture(what, v.width, v.height);
  if (!(Number.isInteger(v.numFrames) && v.numFrames >= 1))
    bad(`${what} has no frames (${v.numFrames}): pick another file or move the trim start.`);
  if (!(Number.isFinite(v.fps) && v.fps > 0 && v.fps <= 1000))
    bad(`${what} has no usable frame rate (${v.fps} fps): re-encode it at a constant rate such as 25 fps.`);
  const channels = v.channels ?? 3;
  const need = v.numFrames * v.width * v.height * channels;
  if (v.data.length !== need)
    bad(
      `${what}: ${v.data.length} bytes do not hold ${v.numFrames} frames of ${v.width}×${v.height}×${channels}: ` +
        "decode the file again.",
    );
  if (v.numFrames / v.fps > MAX_CONDITION_SECONDS)
    bad(`${what} is longer than ${MAX_CONDITION_SECONDS / 60} minutes: trim it first.`);
}

export function checkImageInput(
  img: { data: ArrayLike<number>; width: number; height: number; channels?: 3 | 4 },
  what = "The image",
): void {
  checkPicture(what, img.width, img.height);
  const channels = img.channels ?? 3;
  const need = img.width * img.height * channels;
  if (img.data.length !== need)
    bad(
      `${what}: ${img.data.length} bytes do not hold ${img.width}×${img.height}×${channels} pixels: decode the file again.`,
    );
}

/** Channel-major PCM: 1–64 equal-length channels, a real sample rate, finite samples, 25 ms to 10 minutes. */
export function checkAudioInput(
  a: { channels: readonly Float32Array[]; sampleRate: number },
  what = "The audio",
): void {
  if (a.channels.length === 0 || a.channels[0].length === 0)
    bad(`${what} is empty: pick or drop an audio file.`);
  if (a.channels.length > 64) bad(`${what} has ${a.channels.length} channels; at most 64 are supported.`);
  if (!(Number.isFinite(a.sampleRate) && a.sampleRate >= 1000 && a.sampleRate <= 384000))
    bad(`${what}'s sample rate must be 1–384 kHz (got ${a.sampleRate} Hz): resample it.`);
  const n = a.channels[0].length;
  if (a.channels.some((c) => c.length !== n)) bad(`${what}'s channels differ in length: decode it again.`);
  const seconds = n / a.sampleRate;
  if (seconds > MAX_CONDITION_SECONDS)
    bad(`${what} is longer than ${MAX_CONDITION_SECONDS / 60} minutes: trim it first.`);
  // ImageBind's fbank needs one 25-ms window at 16 kHz (400 samples)
  if (seconds < 0.025)
    bad(`${what} is too short (${(seconds * 1000).toFixed(1)} ms): ImageBind needs at least 25 ms.`);
  for (const [c, ch] of a.channels.entries())
    for (let i = 0; i < ch.length; i++)
      if (!Number.isFinite(ch[i]))
        bad(
          `${what} holds a non-finite sample (${ch[i]}) at ${(i / a.sampleRate).toFixed(3)} s of channel ${c + 1}: ` +
            "re-export it as PCM.",
        );
}
