/**
 * Independent evaluator networks for the world (issue 9): the FD / KL / ISc (audio) and FVD / KVD (video)
 * analogues of SPEC §6.2 need a classifier that is NOT the guiding ImageBind — evaluating with the guide would
 * reward the guidance by construction. These are small CNNs (no transformer, no shared weights, another seed,
 * another front-end, trained on a disjoint seed range: SPLITS.evaluator) that classify the world's 24
 * (kind × colour) classes; their penultimate activations are the features the Fréchet/kernel distances use, and
 * their softmax the class distributions KL and ISc use.
 *
 *  - Audio: 48-band log-mel (n_fft 512, hop 256, 16 kHz; not ImageBind's Kaldi fbank nor AudioLDM's mel) of a
 *    2-s window [1, 1, 48, 128] → 4 conv stages → 64-d feature → 24 logits. Longer audio: mean over windows.
 *  - Video: 16 frames at 64×64 [16, 3, 64, 64] → per-frame 3-stage CNN → per-clip mean, std and mean absolute
 *    frame-to-frame change of the frame features → 64-d feature → 24 logits (the change term sees motion).
 *
 * Written once against Ops (trained with TfjsOps in tools/train/evaluators.ts, run with TfjsOps in eval).
 */
import { Fft } from "../metrics/fft.js";
import { melFilterbank } from "../metrics/onsets.js";
import { resample } from "../metrics/resample.js";
import { silu } from "../nn/activations.js";
import { type Conv, Conv2d, GroupNorm, Linear } from "../nn/layers.js";
import type { Ops } from "../ops/ops.js";
import { nameParams } from "../ops/param.js";
import { NUM_CLASSES } from "../world/spec.js";

export const EVAL_AUDIO = Object.freeze({ sampleRate: 16000, nFft: 512, hop: 256, mels: 48, frames: 128 });
export const EVAL_VIDEO = Object.freeze({ frames: 16, size: 64 });
export const EVAL_FEATURES = 64;

/** conv 3×3 (stride s) → GroupNorm(8) → SiLU. */
class Stage {
  readonly conv: Conv;
  readonly norm: GroupNorm;
  constructor(cin: number, cout: number, stride: number) {
    this.conv = Conv2d(cin, cout, 3, { stride, padding: 1 });
    this.norm = new GroupNorm(8, cout);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return silu(ops, this.norm.forward(ops, this.conv.forward(ops, x)));
  }
}

export interface EvaluatorOutput<T> {
  features: T;
  logits: T;
}

export class AudioEvaluator {
  readonly stages: Stage[];
  readonly proj: Linear;
  readonly head: Linear;
  constructor() {
    this.stages = [new Stage(1, 16, 1), new Stage(16, 32, 2), new Stage(32, 64, 2), new Stage(64, 64, 2)];
    this.proj = new Linear(64, EVAL_FEATURES);
    this.head = new Linear(EVAL_FEATURES, NUM_CLASSES);
    nameParams(this);
  }
  /** x [N, 1, 48, 128] log-mel → features [N, 64], logits [N, 24]. */
  forward<T>(ops: Ops<T>, x: T): EvaluatorOutput<T> {
    let h = x;
    for (const s of this.stages) h = s.forward(ops, h);
    const features = this.proj.forward(ops, ops.mean(h, [2, 3]));
    return { features, logits: this.head.forward(ops, silu(ops, features)) };
  }
}

export class VideoEvaluator {
  readonly stages: Stage[];
  readonly proj: Linear;
  readonly head: Linear;
  constructor() {
    this.stages = [new Stage(3, 16, 2), new Stage(16, 32, 2), new Stage(32, 64, 2)];
    this.proj = new Linear(3 * 64, EVAL_FEATURES);
    this.head = new Linear(EVAL_FEATURES, NUM_CLASSES);
    nameParams(this);
  }
  /** x [N, F, 3, 64, 64] in [−1, 1] → features [N, 64], logits [N, 24]. */
  forward<T>(ops: Ops<T>, x: T): EvaluatorOutput<T> {
    const [n, f, c, hh, ww] = ops.shape(x);
    let h = ops.reshape(x, [n * f, c, hh, ww]);
    for (const s of this.stages) h = s.forward(ops, h);
    const per = ops.reshape(ops.mean(h, [2, 3]), [n, f, 64]);
    const mean = ops.mean(per, 1);
    const centred = ops.sub(per, ops.reshape(mean, [n, 1, 64]));
    const std = ops.sqrt(ops.add(ops.mean(ops.mul(centred, centred), 1), 1e-6));
    const change = ops.mean(ops.abs(ops.sub(ops.slice(per, 1, 1, f), ops.slice(per, 1, 0, f - 1))), 1);
    const features = this.proj.forward(ops, ops.concat([mean, std, change], 1));
    return { features, logits: this.head.forward(ops, silu(ops, features)) };
  }
}

const MEL = melFilterbank(EVAL_AUDIO.sampleRate, EVAL_AUDIO.nFft, EVAL_AUDIO.mels);
const WINDOW = Float64Array.from(
  { length: EVAL_AUDIO.nFft },
  (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / EVAL_AUDIO.nFft),
);

/**
 * Mono audio at any rate → evaluator windows [W, 1, 48, 128] (log10 power mel + 1e-6, centred frames; 2-s
 * windows, the last one zero-padded). At least one window.
 */
export function audioEvaluatorInput(
  samples: Float32Array,
  sampleRate: number,
): { data: Float32Array; windows: number } {
  const { nFft, hop, mels, frames } = EVAL_AUDIO;
  const x =
    sampleRate === EVAL_AUDIO.sampleRate ? samples : resample(samples, sampleRate, EVAL_AUDIO.sampleRate);
  const span = frames * hop;
  const windows = Math.max(1, Math.ceil(x.length / span));
  const bins = nFft / 2 + 1;
  const fft = new Fft(nFft);
  const frame = new Float64Array(nFft);
  const pow = new Float64Array(bins);
  const out = new Float32Array(windows * mels * frames);
  for (let w = 0; w < windows; w++)
    for (let t = 0; t < frames; t++) {
      const start = w * span + t * hop - nFft / 2;
      for (let i = 0; i < nFft; i++) {
        const j = start + i;
        frame[i] = j >= 0 && j < x.length ? x[j] * WINDOW[i] : 0;
      }
      fft.powerSpectrum(frame, pow);
      for (let m = 0; m < mels; m++) {
        let s = 0;
        for (let k = 0; k < bins; k++) s += MEL[m * bins + k] * pow[k];
        out[(w * mels + m) * frames + t] = Math.log10(s + 1e-6);
      }
    }
  return { data: out, windows };
}

/**
 * RGB(A) frames [T, H, W, C] at any size and count → [16, 3, 64, 64] in [−1, 1] (nearest frame and pixel
 * sampling: the evaluator sees the video at the world's geometry).
 */
export function videoEvaluatorInput(
  data: Uint8Array | Uint8ClampedArray,
  numFrames: number,
  height: number,
  width: number,
  channels: 3 | 4 = 3,
): Float32Array {
  const { frames: F, size: S } = EVAL_VIDEO;
  const out = new Float32Array(F * 3 * S * S);
  for (let f = 0; f < F; f++) {
    const src = Math.min(numFrames - 1, Math.floor(((f + 0.5) * numFrames) / F));
    for (let y = 0; y < S; y++) {
      const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / S));
      for (let x = 0; x < S; x++) {
        const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / S));
        const p = ((src * height + sy) * width + sx) * channels;
        for (let c = 0; c < 3; c++) out[((f * 3 + c) * S + y) * S + x] = data[p + c] / 127.5 - 1;
      }
    }
  }
  return out;
}
