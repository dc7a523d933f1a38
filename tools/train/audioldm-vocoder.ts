/**
 * AudioLDM vocoder (SpeechT5HifiGan: mel [B, T, 64] → 16 kHz waveform, 160 samples per frame) on the world's
 * clips.
 *
 *   node tools/run.mjs tools/train/audioldm-vocoder.ts [--steps 2000] [--batch 4] [--clips 2000] [--executor tfjs|ort]
 *
 * Real topology (conv_pre, 5 transposed-conv upsamplers, multi-receptive-field resblocks with dilations 1/3/5,
 * conv_post, tanh), trained WITHOUT HiFi-GAN's discriminators (a CPU budget does not allow them): the loss is the
 * L1 distance between log-mels (AudioLDM's n_fft 1024 / hop 160 / 64 mels) plus the L1 distance between
 * log-magnitude STFTs at n_fft 256 / hop 64 (sharper onsets), plus the spectral convergence of the linear
 * magnitudes at n_fft 1024 / hop 160 and 256 / 64 (Parallel WaveGAN's multi-resolution STFT loss term; the
 * log-domain L1s average over every bin, so a tone that fills 2–3 of 64 bands costs them little, while spectral
 * convergence is dominated by the loudest bins), on 32-frame (0.32 s) segments. Expect
 * correct pitch, timbre envelope and timing with some phase roughness, not GAN-quality audio.
 * Segments: with probability `--event-p` (default 0.5) one that contains a loud frame of the clip (a random frame
 * among its loudest 10% by mean log-mel), else a uniformly random one. The world's clips are mostly silence
 * between short events, so uniform segments (the 2026-11-26 run's) rarely show the vocoder a bell's or bird's
 * tone: it learnt the broadband thumps and rendered tonal events at ≈ 1/30 of their level.
 */
import { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import type { Ops } from "../../src/engine/ops/ops.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { batchIndices, MEL_FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { flags, run, startTraining } from "./lib/env.js";
import { l1 } from "./lib/losses.js";
import { melOps, stftMagnitudeOps } from "./lib/mel.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, train } from "./lib/trainer.js";

const f = flags();
const steps = f.num("steps", 2000);
const B = f.num("batch", 4);
const SEG = 32;
const HOP = 160;
const SEED = 12;
const EVENT_P = f.num("event-p", 0.5);
await startTraining();
const data = await new WorldDataset("train", f.num("clips", 2000)).load(["mel", "audio"]);
/** Per clip, its loudest 10% of frames (by mean log-mel over the 64 bands). */
const loudFrames = Array.from({ length: data.count }, (_, i) => {
  const mel = data.logMel(i);
  const energy = Array.from({ length: MEL_FRAMES }, (_, t) => {
    let e = 0;
    for (let k = 0; k < 64; k++) e += mel[t * 64 + k];
    return { t, e };
  });
  return energy
    .sort((a, b) => b.e - a.e)
    .slice(0, Math.ceil(MEL_FRAMES / 10))
    .map((x) => x.t);
});
/** The first frame of sample `i`'s segment. */
function segmentStart(i: number, rng: { next(): number; int(n: number): number }): number {
  if (rng.next() >= EVENT_P) return rng.int(MEL_FRAMES - SEG + 1);
  const loud = loudFrames[i][rng.int(loudFrames[i].length)];
  return Math.min(MEL_FRAMES - SEG, Math.max(0, loud - rng.int(SEG)));
}
const voc = new SpeechT5HifiGan(TRAINED_AUDIOLDM.vocoder);

const logMag = <T>(ops: Ops<T>, w: T) => ops.log(ops.add(stftMagnitudeOps(ops, w, 256, 64).mag, 1e-5));
/** ‖|S(y)| − |S(x)|‖_F / ‖|S(x)|‖_F over the batch: dominated by the loudest bins (a bell's partials). */
function spectralConvergence<T>(ops: Ops<T>, y: T, x: T, nFft: number, hop: number): T {
  const sy = stftMagnitudeOps(ops, y, nFft, hop).mag;
  const sx = stftMagnitudeOps(ops, x, nFft, hop).mag;
  const d = ops.sub(sy, sx);
  const sumSq = (t: T) =>
    ops.sum(
      ops.mul(t, t),
      ops.shape(t).map((_, i) => i),
      false,
    );
  return ops.sqrt(ops.div(sumSq(d), ops.add(sumSq(sx), 1e-6)));
}

await train({
  name: "audioldm-vocoder",
  dir: f.str("dir", run("audioldm-vocoder")),
  models: { vocoder: voc },
  steps,
  lr: cosineLr(2e-4 * 2, steps),
  optimizer: { betas: [0.8, 0.99], clipNorm: 10 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => initParams(voc, SEED),
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const mel = new Float32Array(B * SEG * 64);
    const wav = new Float32Array(B * SEG * HOP);
    idx.forEach((i, b) => {
      const t0 = segmentStart(i, rng);
      mel.set(data.logMel(i).subarray(t0 * 64, (t0 + SEG) * 64), b * SEG * 64);
      wav.set(data.wave(i).subarray(t0 * HOP, (t0 + SEG) * HOP), b * SEG * HOP);
    });
    return { mel: { data: mel, shape: [B, SEG, 64] }, wav: { data: wav, shape: [B, SEG * HOP] } };
  },
  graphLoss: (ops, b) => {
    const y = ops.slice(voc.forward(ops, b.mel), 1, 0, SEG * HOP);
    const melL1 = l1(ops, melOps(ops, y), melOps(ops, b.wav));
    const stftL1 = l1(ops, logMag(ops, y), logMag(ops, b.wav));
    const sc = ops.add(
      spectralConvergence(ops, y, b.wav, 1024, 160),
      spectralConvergence(ops, y, b.wav, 256, 64),
    );
    return { loss: ops.add(ops.add(melL1, stftL1), sc), parts: { mel: melL1, stft: stftL1, sc } };
  },
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});
void MEL_FRAMES;
