/**
 * Stable Diffusion text-to-image stage of AnimateDiff's recipe: the CLIP text encoder (CLIPTextModel, SD 1.5's
 * topology scaled down; 77 tokens, no attention mask, as SD pipelines call it) and the SD UNet
 * (UNet2DConditionModel: cross-attention to the CLIP states) trained jointly on single world frames in the trained
 * SD VAE's latent space (sd-vae must have finished).
 *
 *   node tools/run.mjs tools/train/sd-unet.ts [--steps 3000] [--batch 16] [--clips 1000]
 *
 * Loss: ε-prediction MSE with the pack's DDIM config betas (AnimateDiff's linear 0.00085→0.012). Prompts: full /
 * key-frame / listener captions, 10% empty (classifier-free guidance). Deviation, stated: SD 1.5's CLIP is
 * pre-trained (contrastive, OpenAI) and frozen; here it is learned through the diffusion loss.
 */
import { CLIPTextModel } from "../../src/engine/models/clip/model.js";
import { tokenizePromptsSD } from "../../src/engine/models/clip/prompt.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { loadClipTokenizer } from "../../src/engine/preprocess/tokenizers/load.js";
import { TRAINED_STABLE_DIFFUSION } from "./configs.js";
import { batchIndices, FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { alphasCumprod, noised, trainingPrompt } from "./lib/diffusion.js";
import { flags, run, startTraining } from "./lib/env.js";
import { frameLatents, LATENT, LATENT_SIZE } from "./lib/frame-latents.js";
import { mse } from "./lib/losses.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, train } from "./lib/trainer.js";

const f = flags();
const steps = f.num("steps", 3000);
const B = f.num("batch", 16);
const dir = f.str("dir", run("sd-unet"));
const SEED = 32;
await startTraining();
const data = new WorldDataset("train", f.num("clips", 1000));
const z0All = await frameLatents(data, f.str("vae-dir", run("sd-vae")), dir);
data.video = null;
const tokenizer = await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz");
const clip = new CLIPTextModel(TRAINED_STABLE_DIFFUSION.text_encoder);
const unet = new UNet2DConditionModel(TRAINED_STABLE_DIFFUSION.unet);
const alphas = alphasCumprod(TRAINED_STABLE_DIFFUSION.scheduler);

await train({
  name: "sd-unet",
  dir,
  models: { text_encoder: clip, unet },
  steps,
  lr: cosineLr(5e-4, steps, 100),
  optimizer: { clipNorm: 1, weightDecay: 0.01 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => {
    initParams(clip, SEED);
    initParams(unet, SEED + 1);
  },
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const z0 = new Float32Array(B * LATENT_SIZE);
    idx.forEach((i, b) => {
      const o = (i * FRAMES + rng.int(FRAMES)) * LATENT_SIZE;
      z0.set(z0All.subarray(o, o + LATENT_SIZE), b * LATENT_SIZE);
    });
    const prompts = idx.map((i) => trainingPrompt(data.meta[i], rng));
    const { zt, eps, t } = noised(z0, B, rng, alphas);
    const tok = tokenizePromptsSD(tokenizer, prompts);
    const shape = [B, LATENT[0], LATENT[1], LATENT[2]];
    return {
      zt: { data: zt, shape },
      t: { data: t, shape: [B] },
      eps: { data: eps, shape },
      ids: { data: tok.input_ids, shape: tok.shape },
    };
  },
  graphLoss: (ops, b) => {
    const ctx = clip.forward(ops, { input_ids: b.ids }).last_hidden_state;
    return { loss: mse(ops, unet.forward(ops, b.zt, b.t, { encoderHiddenStates: ctx }), b.eps) };
  },
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});
