/**
 * ε-prediction training batches (DDPM forward process, the schedule of the pack's DDIM scheduler config) and the
 * caption mix the text-conditioned generators train on.
 */
import type { SeededRng } from "../../../src/engine/metrics/stats.js";
import { tf } from "../../../src/engine/ops/tfjs.js";
import { DDIMScheduler, type DDIMSchedulerConfig } from "../../../src/engine/schedulers/ddim.js";
import type { ClipMeta } from "./data.js";
import { gaussian } from "./data.js";

/** ᾱ_t for t = 0…N−1 of a diffusers scheduler config (a scheduler_config.json object, as packs store it). */
export function alphasCumprod(config: object): Float32Array {
  return new DDIMScheduler(config as Partial<DDIMSchedulerConfig>).alphasCumprod;
}

export interface NoisedBatch {
  /** z_t = √ᾱ_t · z0 + √(1 − ᾱ_t) · ε */
  zt: Float32Array;
  eps: Float32Array;
  /** Integer timesteps, one per sample (as float32, the UNet's timestep input). */
  t: Float32Array;
}

/** Noise `b` samples of `per` values each at uniform random timesteps. */
export function noised(z0: Float32Array, b: number, rng: SeededRng, alphas: Float32Array): NoisedBatch {
  const per = z0.length / b;
  const eps = gaussian(rng, z0.length);
  const zt = new Float32Array(z0.length);
  const t = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const ti = rng.int(alphas.length);
    t[i] = ti;
    const a = Math.sqrt(alphas[ti]);
    const s = Math.sqrt(1 - alphas[ti]);
    for (let j = i * per; j < (i + 1) * per; j++) zt[j] = a * z0[j] + s * eps[j];
  }
  return { zt, eps, t };
}

/**
 * The prompt a training sample is captioned with: the full caption (half the time), the key-frame caption
 * (V2A/I2A vanilla prompts), the listener's caption (A2V prompts), or "" (`pEmpty`, for classifier-free
 * guidance: the pipelines' unconditional branch encodes the empty negative prompt).
 */
export function trainingPrompt(m: ClipMeta, rng: SeededRng, pEmpty = 0.1): string {
  const u = rng.next();
  if (u < pEmpty) return "";
  if (u < pEmpty + 0.5) return m.caption;
  if (u < pEmpty + 0.75) return m.keyFrameCaption;
  return m.audioCaption;
}

/**
 * Deterministic DDIM sampling with classifier-free guidance, one sample at a time (the training checks'
 * prompt-following probes): `pair(x2, t2)` is the UNet on the batch [x, x] at timesteps [t, t], conditioned on
 * [unconditional, conditional]; ε = ε_u + w·(ε_c − ε_u). Returns z_0 [shape].
 */
export async function ddimSampleCfg(
  scheduler: DDIMScheduler,
  z: Float32Array,
  shape: readonly number[],
  cfg: number,
  pair: (x2: tf.Tensor, t2: tf.Tensor) => tf.Tensor,
): Promise<Float32Array> {
  for (const t of scheduler.timesteps) {
    const eps = tf.tidy(() => {
      const x = tf.tensor(z, [...shape]);
      const [u, c] = tf.split(pair(tf.concat([x, x], 0), tf.tensor1d([t, t])), 2, 0);
      return tf.add(u, tf.mul(tf.sub(c, u), cfg));
    });
    const e = (await eps.data()) as Float32Array;
    eps.dispose();
    z = scheduler.step(e, t, z).prevSample;
  }
  return z;
}
