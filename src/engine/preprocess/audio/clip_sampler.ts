/**
 * pytorchvideo `ConstantClipsPerVideoSampler` as driven by ImageBind's `get_clip_timepoints` (SPEC §3.6 step 2,
 * §3.7 step 2, §7.3, §7.4), plus the two ways the official code turns clip times into indices:
 *  - audio (`load_and_transform_audio_data*`): samples `[int(start·sr), int(end·sr))` — exact Fraction times
 *    an int, truncated; Python slicing clamps the end to the waveform length;
 *  - video (`EncodedVideoDecord.get_clip`): frames `range(ceil(fps·start), min(ceil(fps·end), T))` where
 *    `fps·start` is a float × Fraction, which Python evaluates as `float(fps) * float(start)` (double).
 *
 * Used by both audio/ and video/ (the sampler is the same object in the reference).
 */
import { BadInputError } from "../../errors.js";
import { torchLinspaceF32 } from "../../schedulers/torch_f32.js";
import { Fraction } from "./fraction.js";

export interface ClipTimes {
  /** Exact clip start in seconds (pytorchvideo returns Fractions). */
  start: Fraction;
  /** `start + clip_duration`. */
  end: Fraction;
}

/**
 * All clips of `ConstantClipsPerVideoSampler(clip_duration, clips_per_video)` for a video of
 * `duration` seconds (a Python float), read out as `get_clip_timepoints` does (loop until `is_last_clip`).
 *
 * pytorchvideo@f3142bb `clip_sampling.py`:
 *   max_possible_clip_start = Fraction(max(video_duration - clip_duration, 0))   # float − Fraction → float
 *   uniform_clip = Fraction(max_possible_clip_start, max(clips_per_video - 1, 1))
 *   clip_start = uniform_clip · k;  is_last = k+1 ≥ clips_per_video or uniform_clip·(k+1) > max_start
 */
export function constantClipsPerVideo(
  duration: number,
  clipDuration: number,
  clipsPerVideo: number,
): ClipTimes[] {
  if (!(Number.isFinite(duration) && duration >= 0))
    throw new BadInputError(`clip sampler: duration must be a finite number ≥ 0 s, got ${duration}`);
  if (!(Number.isFinite(clipDuration) && clipDuration > 0))
    throw new BadInputError(`clip sampler: clip duration must be > 0 s, got ${clipDuration}`);
  if (!(Number.isInteger(clipsPerVideo) && clipsPerVideo >= 1))
    throw new BadInputError(`clip sampler: clips per video must be an integer ≥ 1, got ${clipsPerVideo}`);
  const clipDur = Fraction.fromFloat(clipDuration); // ClipSampler.__init__: Fraction(clip_duration)
  // `video_duration - self._clip_duration` is float − Fraction, which Python evaluates in double.
  const maxStartF = Math.max(duration - clipDur.toFloat(), 0);
  const maxStart = Fraction.fromFloat(maxStartF);
  const uniform = maxStart.div(Math.max(clipsPerVideo - 1, 1));
  const clips: ClipTimes[] = [];
  for (let k = 0; ; k++) {
    const start = uniform.mul(k);
    clips.push({ start, end: start.add(clipDur) });
    if (k + 1 >= clipsPerVideo || uniform.mul(k + 1).cmp(maxStart) > 0) break;
  }
  return clips;
}

/** Sample range `[start, end)` of one audio clip, after Python's slice clamping. */
export interface SampleRange {
  start: number;
  end: number;
}

/**
 * Audio clips of a `numSamples`-long waveform at `sampleRate` (ImageBind `load_and_transform_audio_data*`):
 * duration `numSamples / sampleRate` (a Python float), sample indices by truncation (SPEC §3.7 step 2, B.3).
 */
export function audioClipRanges(
  numSamples: number,
  sampleRate: number,
  clipDuration: number,
  clipsPerVideo: number,
): SampleRange[] {
  if (!(Number.isInteger(numSamples) && numSamples > 0))
    throw new BadInputError(`audio clips: the waveform is empty (${numSamples} samples)`);
  if (!(Number.isInteger(sampleRate) && sampleRate > 0))
    throw new BadInputError(`audio clips: sample rate must be a positive integer, got ${sampleRate}`);
  return constantClipsPerVideo(numSamples / sampleRate, clipDuration, clipsPerVideo).map(({ start, end }) => {
    const a = start.mul(sampleRate).trunc();
    const b = end.mul(sampleRate).trunc();
    return { start: Math.min(a, numSamples), end: Math.min(b, numSamples) };
  });
}

/**
 * Frame indices of one decord clip: `range(ceil(fps·start), min(ceil(fps·end), numFrames))`
 * (pytorchvideo `EncodedVideoDecord.get_clip`; `fps` is decord's average fps, a float).
 */
export function decordClipFrames(clip: ClipTimes, fps: number, numFrames: number): number[] {
  const a = Math.ceil(fps * clip.start.toFloat());
  const b = Math.min(Math.ceil(fps * clip.end.toFloat()), numFrames);
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

/**
 * pytorchvideo `uniform_temporal_subsample(x, n)` on a clip of `t` frames: positions
 * `long(clamp(torch.linspace(0, t−1, n), 0, t−1))` (float32 linspace, truncation). For n = 2 these are the
 * first and last frame of the clip (SPEC §3.6 step 4).
 */
export function uniformTemporalSubsample(t: number, n: number): number[] {
  if (!(Number.isInteger(t) && t > 0 && Number.isInteger(n) && n > 0))
    throw new BadInputError(`temporal subsample needs integers t > 0 and n > 0 (t=${t}, n=${n})`);
  return Array.from(torchLinspaceF32(0, t - 1, n), (v) => Math.trunc(Math.min(Math.max(v, 0), t - 1)));
}
