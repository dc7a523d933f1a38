/**
 * AudioLDM latent diffusion: the CLAP text tower (ClapTextModelWithProjection, RoBERTa topology scaled down) and
 * the UNet (UNet2DConditionModel with AudioLDM's wiring: no cross-attention context, the L2-normalised CLAP
 * embedding enters through `class_embedding` "simple_projection", concatenated to the time embedding), trained
 * jointly on latents of the trained VAE (audioldm-vae must have finished).
 *
 *   node tools/run.mjs tools/train/audioldm-ldm.ts [--steps 4000] [--batch 8] [--clips 2000]
 *
 * Loss: ‖ε − ε̂(z_t, t, normalize(CLAP(prompt)))‖² (ε-prediction, the DDIM config's scaled-linear betas).
 * Prompts mix full / key-frame / listener captions and 10% empty ones (classifier-free guidance).
 * Deviation from AudioLDM, stated: upstream's CLAP is pre-trained contrastively on audio–text pairs and frozen;
 * here its text tower is learned end to end through the diffusion loss (there is no CLAP audio tower in a pack).
 * Training tokenises to 32 tokens: with the attention mask, padding to the pipeline's 512 gives the same `<s>`
 * embedding (masked keys get zero weight; RoBERTa position ids only count real tokens).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tokenizePromptsAudioLDM } from "../../src/engine/models/clap/prompt.js";
import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { audioLdmModels, LDM_LATENT, LDM_TOKENS, ldmLatentsPath } from "./lib/audioldm.js";
import { batchIndices, MEL_FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { alphasCumprod, noised, trainingPrompt } from "./lib/diffusion.js";
import { flags, run, startTraining } from "./lib/env.js";
import { mse } from "./lib/losses.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, isDone, loadFinal, train } from "./lib/trainer.js";

const f = flags();
const steps = f.num("steps", 4000);
const B = f.num("batch", 8);
const vaeDir = f.str("vae-dir", run("audioldm-vae"));
const dir = f.str("dir", run("audioldm-ldm"));
const SEED = 13;
await startTraining();
if (!(await isDone(vaeDir)))
  throw new Error(`${vaeDir} has not finished: run tools/train/audioldm-vae.ts first`);

const data = new WorldDataset("train", f.num("clips", 2000));
const vaeConfig = JSON.parse(await readFile(join(vaeDir, "final", "config.json"), "utf8")) as {
  scaling_factor: number;
};
const vae = new AutoencoderKL(vaeConfig);
await loadFinal(vaeDir, "vae", vae);
const LAT = LDM_LATENT;
const PER = LAT[0] * LAT[1] * LAT[2];

/** z0 = scaling_factor · E[q(z|mel)] of every clip, cached next to the checkpoints. */
async function latents(): Promise<Float32Array> {
  const path = ldmLatentsPath(dir, data.count);
  const hit = await readFile(path).catch(() => null);
  if (hit) return new Float32Array(new Uint8Array(hit).buffer);
  await data.load(["mel"]);
  const ops = new TfjsOps();
  const out = new Float32Array(data.count * PER);
  for (let i = 0; i < data.count; i += 8) {
    const n = Math.min(8, data.count - i);
    const x = new Float32Array(n * MEL_FRAMES * 64);
    for (let k = 0; k < n; k++) x.set(data.logMel(i + k), k * MEL_FRAMES * 64);
    const z = tf.tidy(() =>
      tf.mul(vae.encode(ops, tf.tensor4d(x, [n, 1, MEL_FRAMES, 64])).mean, vaeConfig.scaling_factor),
    );
    out.set((await z.data()) as Float32Array, i * PER);
    z.dispose();
  }
  ops.dispose();
  data.mel = null;
  const { mkdir } = await import("node:fs/promises");
  await mkdir(dir, { recursive: true });
  await writeFile(path, new Uint8Array(out.buffer));
  return out;
}
const z0All = await latents();

const { tokenizer, clap, unet } = audioLdmModels();
const alphas = alphasCumprod(TRAINED_AUDIOLDM.scheduler);

await train({
  name: "audioldm-ldm",
  dir,
  models: { text_encoder: clap, unet },
  steps,
  lr: cosineLr(5e-4, steps, 100),
  optimizer: { clipNorm: 1, weightDecay: 0.01 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => {
    initParams(clap, SEED);
    initParams(unet, SEED + 1);
  },
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const z0 = new Float32Array(B * PER);
    idx.forEach((i, b) => {
      z0.set(z0All.subarray(i * PER, (i + 1) * PER), b * PER);
    });
    const prompts = idx.map((i) => trainingPrompt(data.meta[i], rng));
    const { zt, eps, t } = noised(z0, B, rng, alphas);
    const tok = tokenizePromptsAudioLDM(tokenizer, prompts, { maxLength: LDM_TOKENS });
    const shape = [B, LAT[0], LAT[1], LAT[2]];
    return {
      zt: { data: zt, shape },
      t: { data: t, shape: [B] },
      eps: { data: eps, shape },
      ids: { data: tok.input_ids, shape: tok.shape },
      mask: { data: tok.attention_mask, shape: tok.shape },
    };
  },
  graphLoss: (ops, b) => {
    const y = clap.forward(ops, { input_ids: b.ids, attention_mask: b.mask }).text_embeds_normalized;
    return { loss: mse(ops, unet.forward(ops, b.zt, b.t, { classLabels: y }), b.eps) };
  },
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});
