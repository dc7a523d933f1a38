/**
 * AudioLDM VAE (AutoencoderKL, 1 → 8 latent channels, 4× down) on the world's AudioLDM log-mels.
 *
 *   node tools/run.mjs tools/train/audioldm-vae.ts [--steps 1500] [--batch 8] [--clips 2000] [--dir .cache/train/audioldm-vae]
 *     [--executor tfjs|ort]
 *
 * Loss: L1 reconstruction of random 64-frame crops + 1e-3 · KL(q(z|x) ‖ N(0, I)) (per element; AudioLDM adds a
 * GAN and LPIPS, which a CPU budget does not allow). When done it measures the latent std over full 2-s mels and
 * writes `scaling_factor = 1/std` (how diffusers' VAEs are calibrated) to final/config.json.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { batchIndices, gaussian, MEL_FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { flags, run, startTraining } from "./lib/env.js";
import { vaeLoss } from "./lib/losses.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, isDone, loadFinal, train } from "./lib/trainer.js";

const f = flags();
const dir = f.str("dir", run("audioldm-vae"));
const steps = f.num("steps", 1500);
const B = f.num("batch", 8);
const CROP = 64;
const SEED = 11;
await startTraining();
const data = await new WorldDataset("train", f.num("clips", 2000)).load(["mel"]);
const vae = new AutoencoderKL(TRAINED_AUDIOLDM.vae);

function crops(step: number): Float32Array {
  const idx = batchIndices(data.count, B, step, SEED);
  const rng = stepRng(SEED, step, 1);
  const x = new Float32Array(B * CROP * 64);
  idx.forEach((i, b) => {
    const t0 = rng.int(MEL_FRAMES - CROP + 1);
    x.set(data.logMel(i).subarray(t0 * 64, (t0 + CROP) * 64), b * CROP * 64);
  });
  return x;
}

const res = await train({
  name: "audioldm-vae",
  dir,
  models: { vae },
  steps,
  lr: cosineLr(1e-3, steps),
  optimizer: { clipNorm: 1 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => initParams(vae, SEED),
  batch: (step) => ({
    x: { data: crops(step), shape: [B, 1, CROP, 64] },
    eps: { data: gaussian(stepRng(SEED, step, 2), B * 8 * (CROP / 4) * 16), shape: [B, 8, CROP / 4, 16] },
  }),
  graphLoss: (ops, b) => vaeLoss(vae, ops, b.x, b.eps),
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});

if (res.finished || (await isDone(dir))) {
  // latent statistics of full clips → scaling_factor
  await loadFinal(dir, "vae", vae);
  const ops = new TfjsOps();
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let i = 0; i < Math.min(64, data.count); i += 8) {
    const x = new Float32Array(8 * MEL_FRAMES * 64);
    for (let k = 0; k < 8; k++) x.set(data.logMel(i + k), k * MEL_FRAMES * 64);
    const m = tf.tidy(() => vae.encode(ops, tf.tensor4d(x, [8, 1, MEL_FRAMES, 64])).mean);
    const v = (await m.data()) as Float32Array;
    m.dispose();
    for (const e of v) {
      s += e;
      s2 += e * e;
      n++;
    }
  }
  const std = Math.sqrt(s2 / n - (s / n) ** 2);
  const config = { ...TRAINED_AUDIOLDM.vae, scaling_factor: 1 / std };
  await writeFile(join(dir, "final", "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  process.stderr.write(
    `[audioldm-vae] latent mean ${(s / n).toFixed(3)} std ${std.toFixed(3)} → scaling_factor ${(1 / std).toFixed(4)}\n`,
  );
  ops.dispose();
}
