/**
 * Stable Diffusion VAE (AutoencoderKL, RGB → 4 latent channels, 8× down: 64×64 frames → 4×8×8) on world frames.
 *
 *   node tools/run.mjs tools/train/sd-vae.ts [--steps 1500] [--batch 8] [--clips 1000] [--executor tfjs|ort]
 *
 * Loss: L1 reconstruction of frames in [−1, 1] + 1e-3 · KL per element (SD adds LPIPS and a GAN). When done,
 * scaling_factor = 1/std of the latents (SD 1.5's 0.18215 was found the same way) → final/config.json.
 * `--object-weight W` (default 0: plain L1) weighs the L1 of object pixels (those that differ from the scene's
 * plain background and floor line, `objectPixelWeights`) 1 + W times: objects cover 3–5% of a frame, and with
 * plain L1 the VAE of the 2026-11-26 pack (1147 steps) had learnt their shapes in grey but not their colours,
 * which left the whole video side colourless.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { WORLD } from "../../src/engine/world/spec.js";
import { TRAINED_STABLE_DIFFUSION } from "./configs.js";
import {
  batchIndices,
  FRAMES,
  gaussian,
  objectPixelWeights,
  planarFrame,
  stepRng,
  WorldDataset,
} from "./lib/data.js";
import { flags, run, startTraining } from "./lib/env.js";
import { vaeLoss } from "./lib/losses.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, isDone, loadFinal, train } from "./lib/trainer.js";

const f = flags();
const dir = f.str("dir", run("sd-vae"));
const steps = f.num("steps", 1500);
const B = f.num("batch", 8);
const objectWeight = f.num("object-weight", 0);
const SEED = 31;
const { width: W, height: H } = WORLD;

await startTraining();
const data = await new WorldDataset("train", f.num("clips", 1000)).load(["video"]);
const vae = new AutoencoderKL(TRAINED_STABLE_DIFFUSION.vae);

const res = await train({
  name: "sd-vae",
  dir,
  models: { vae },
  steps,
  lr: cosineLr(1e-3, steps),
  optimizer: { clipNorm: 1 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => initParams(vae, SEED),
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const x = new Float32Array(B * 3 * H * W);
    const w = new Float32Array(B * H * W);
    idx.forEach((i, b) => {
      const fi = rng.int(FRAMES);
      planarFrame(data.frames(i), fi, x, b * 3 * H * W);
      if (objectWeight > 0) objectPixelWeights(data.meta[i], data.frames(i), fi, objectWeight, w, b * H * W);
    });
    return {
      x: { data: x, shape: [B, 3, H, W] },
      eps: { data: gaussian(rng, B * 4 * (H / 8) * (W / 8)), shape: [B, 4, H / 8, W / 8] },
      ...(objectWeight > 0 ? { w: { data: w, shape: [B, 1, H, W] } } : {}),
    };
  },
  graphLoss: (ops, b) => vaeLoss(vae, ops, b.x, b.eps, 1e-3, b.w),
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});

if (res.finished || (await isDone(dir))) {
  await loadFinal(dir, "vae", vae);
  const ops = new TfjsOps();
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let i = 0; i < Math.min(32, data.count); i++) {
    const x = new Float32Array(4 * 3 * H * W);
    for (let k = 0; k < 4; k++) planarFrame(data.frames(i), k * 4, x, k * 3 * H * W);
    const m = tf.tidy(() => vae.encode(ops, tf.tensor4d(x, [4, 3, H, W])).mean);
    for (const e of (await m.data()) as Float32Array) {
      s += e;
      s2 += e * e;
      n++;
    }
    m.dispose();
  }
  const std = Math.sqrt(s2 / n - (s / n) ** 2);
  await writeFile(
    join(dir, "final", "config.json"),
    `${JSON.stringify({ ...TRAINED_STABLE_DIFFUSION.vae, scaling_factor: 1 / std }, null, 2)}\n`,
  );
  process.stderr.write(`[sd-vae] latent std ${std.toFixed(3)} → scaling_factor ${(1 / std).toFixed(4)}\n`);
  ops.dispose();
}
