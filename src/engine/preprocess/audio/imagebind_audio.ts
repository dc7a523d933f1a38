/**
 * Waveform → ImageBind audio input `[1, S, 1, 128, 204]`, as the official code computes it
 * (`load_and_transform_audio_data_from_waveform` in S&H `v2a/audioldm/pipelines/imagebind_data.py`, the same
 * steps as upstream ImageBind `load_and_transform_audio_data` after loading/resampling). SPEC §3.7, §7.3.
 *
 *  1. clips: `ConstantClipsPerVideoSampler(clip_duration, S)` on `len/sr`, samples `[int(start·sr), int(end·sr))`;
 *  2. per clip, in clip order: `waveform -= waveform.mean()` on a VIEW of the caller's waveform (mean over all
 *     channels of the clip), so the caller's waveform is modified and a later clip that overlaps an earlier one
 *     sees the already centred samples (fixture quirk "IN-PLACE mean subtraction"; gradients include the leak);
 *  3. `kaldi.fbank` of channel 0 (torchaudio `channel=-1` → `max(channel, 0)`), transpose → [128, F];
 *  4. zero-pad (log domain) on the right / cut to `target_length`, then `(x − mean)/std` = (x + 4.268)/9.138;
 *  5. stack → [S, 1, 128, 204] → [1, S, 1, 128, 204].
 *
 * One differentiable function over `Ops<T>`: the in-place update is re-expressed functionally (slice, centre,
 * splice back), which is exactly the forward computation the reference differentiates.
 */
import { BadInputError } from "../../errors.js";
import type { Ops } from "../../ops/ops.js";
import { audioClipRanges, type SampleRange } from "./clip_sampler.js";
import { fbankOfClips, fbankTables, IMAGEBIND_FBANK, type KaldiFbankConfig, numFrames } from "./fbank.js";

export interface ImageBindAudioOptions {
  /** Rate of the waveform, which must already be resampled to `fbank.sampleFrequency` (16000). */
  sampleRate?: number;
  /** Seconds per clip: 1 in S&H (`bind_params`), 2 in upstream ImageBind's default. */
  clipDuration?: number;
  /** Frames per clip after pad/cut (204). */
  targetLength?: number;
  /** torchvision `Normalize(mean, std)` applied to the padded clip: −4.268, 9.138. */
  mean?: number;
  std?: number;
  fbank?: Readonly<KaldiFbankConfig>;
}

const DEFAULTS = Object.freeze({
  sampleRate: 16000,
  clipDuration: 1,
  targetLength: 204,
  mean: -4.268,
  std: 9.138,
});

export interface ImageBindAudioResult<T> {
  /** `[1, S, 1, numMelBins, targetLength]`. */
  input: T;
  /** The caller's waveform after the reference's in-place per-clip mean subtraction, `[C, L]`. */
  waveformAfter: T;
  /** Sample range of every clip. */
  ranges: SampleRange[];
}

/** Sample ranges the chain uses for a `[C, numSamples]` waveform (SPEC §3.7 step 2, B.3). */
export function imagebindAudioClipRanges(
  numSamples: number,
  clipsPerVideo: number,
  opts: ImageBindAudioOptions = {},
): SampleRange[] {
  return audioClipRanges(
    numSamples,
    opts.sampleRate ?? DEFAULTS.sampleRate,
    opts.clipDuration ?? DEFAULTS.clipDuration,
    clipsPerVideo,
  );
}

function run<T>(
  ops: Ops<T>,
  wav: T,
  clipsPerVideo: number,
  opts: ImageBindAudioOptions,
  keepAfter: boolean,
): ImageBindAudioResult<T> {
  const shape = ops.shape(wav);
  if (shape.length !== 2)
    throw new RangeError(`ImageBind audio expects a waveform [channels, samples], got [${shape}]`);
  const [channels, L] = shape;
  const cfg = opts.fbank ?? IMAGEBIND_FBANK;
  const sampleRate = opts.sampleRate ?? DEFAULTS.sampleRate;
  if (sampleRate !== cfg.sampleFrequency)
    throw new BadInputError(
      `ImageBind audio: resample the waveform to ${cfg.sampleFrequency} Hz first (got ${sampleRate} Hz)`,
    );
  const target = opts.targetLength ?? DEFAULTS.targetLength;
  const mean = opts.mean ?? DEFAULTS.mean;
  const std = opts.std ?? DEFAULTS.std;
  const tables = fbankTables(cfg);
  const ranges = imagebindAudioClipRanges(L, clipsPerVideo, opts);

  // 2. per-clip in-place mean subtraction, functionally (clip order matters when clips overlap)
  let cur = wav;
  const firstChannel: T[] = [];
  for (let k = 0; k < ranges.length; k++) {
    const { start: a, end: b } = ranges[k];
    if (b - a < tables.windowSize)
      throw new BadInputError(
        `ImageBind audio: clip ${k} has ${b - a} samples, fewer than one ${tables.windowSize}-sample fbank ` +
          "frame; the audio is too short",
        { clip: k, samples: b - a },
      );
    const region = ops.slice(cur, 1, a, b);
    const centred = ops.sub(region, ops.mean(region, [0, 1], true));
    const overlapsLater = ranges.slice(k + 1).some((r) => r.start < b && r.end > a);
    if (keepAfter || overlapsLater) {
      const parts: T[] = [];
      if (a > 0) parts.push(ops.slice(cur, 1, 0, a));
      parts.push(centred);
      if (b < L) parts.push(ops.slice(cur, 1, b, L));
      cur = ops.concat(parts, 1);
    }
    firstChannel.push(channels === 1 ? centred : ops.slice(centred, 0, 0, 1));
  }

  // 3. fbank of channel 0 of every clip (batched when the clips are equally long, as they are unless the audio
  //    is shorter than one clip or ends inside the last one)
  const lens = ranges.map((r) => r.end - r.start);
  const nMel = cfg.numMelBins;
  const frames = lens.map((n) => numFrames(n, tables));
  const sameLength = lens.every((n) => n === lens[0]);
  const mels: T[] = sameLength
    ? [fbankOfClips(ops, ops.concat(firstChannel, 0), tables)] // [S, F, nMel]
    : firstChannel.map((c) => fbankOfClips(ops, c, tables)); // S × [1, F_k, nMel]

  // 4. transpose, pad/cut to `target`, normalise
  const padCut = (x: T, nf: number): T => {
    if (nf > target) return ops.slice(x, -1, 0, target);
    if (nf === target) return x;
    const rank = ops.shape(x).length;
    const pads = Array.from({ length: rank }, (_, i): [number, number] =>
      i === rank - 1 ? [0, target - nf] : [0, 0],
    );
    return ops.pad(x, pads, 0);
  };
  const S = ranges.length;
  const clips = sameLength
    ? padCut(ops.transpose(mels[0], [0, 2, 1]), frames[0]) // [S, nMel, target]
    : ops.concat(
        mels.map((m, k) => padCut(ops.transpose(m, [0, 2, 1]), frames[k])),
        0,
      );
  const normalised = ops.div(ops.sub(clips, mean), std);
  // 5. [1, S, 1, nMel, target]
  const input = ops.reshape(normalised, [1, S, 1, nMel, target]);
  return { input, waveformAfter: cur, ranges };
}

/**
 * The ImageBind audio input of a 16 kHz waveform `[C, L]` (C = 1 for generated audio) with `clipsPerVideo`
 * clips: `[1, S, 1, 128, 204]`. Differentiable w.r.t. `wav` (SPEC §3.7; the V2A guidance path).
 */
export function audioToImageBindInput<T>(
  ops: Ops<T>,
  wav: T,
  clipsPerVideo: number,
  opts: ImageBindAudioOptions = {},
): T {
  return run(ops, wav, clipsPerVideo, opts, false).input;
}

/** As `audioToImageBindInput`, also returning the reference's in-place side effect and the clip ranges. */
export function audioToImageBindInputWithSideEffect<T>(
  ops: Ops<T>,
  wav: T,
  clipsPerVideo: number,
  opts: ImageBindAudioOptions = {},
): ImageBindAudioResult<T> {
  return run(ops, wav, clipsPerVideo, opts, true);
}
