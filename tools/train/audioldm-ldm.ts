/**
 * AudioLDM latent diffusion: the UNet (UNet2DConditionModel with AudioLDM's wiring: no cross-attention context, the
 * L2-normalised CLAP text embedding enters through `class_embedding` "simple_projection", concatenated to the time
 * embedding) trained on latents of the trained VAE, conditioned on the FROZEN CLAP text tower of the clap job
 * (tools/train/clap.ts, pre-trained contrastively against audio, as upstream's CLAP is). audioldm-vae and clap must
 * have finished.
 *
 *   node tools/run.mjs tools/train/audioldm-ldm.ts [--steps 4000] [--batch 8] [--clips 2000] [--init-unet DIR]
 *
 * Loss: ‖ε − ε̂(z_t, t, normalize(CLAP(prompt)))‖² (ε-prediction, the DDIM config's scaled-linear betas).
 * Prompts mix full / key-frame / listener captions and 10% empty ones (classifier-free guidance).
 * `--init-unet DIR` starts the UNet from another finished LDM job's final weights instead of a fresh init (the
 * text tower still comes from the clap job). The text tower is stored with the UNet in this job's final/ (it is
 * the pack's text encoder), unchanged.
 * Why frozen: trained end to end through the diffusion loss alone, the text tower collapsed (every caption's
 * embedding within cos 0.97–1.00 of the others) and the UNet learnt to ignore it (cond-check.ts: ε-MSE 0.03661
 * with each clip's caption, 0.03689 with another's, 0.03682 with none).
 * Training tokenises to 32 tokens: with the attention mask, padding to the pipeline's 512 gives the same `<s>`
 * embedding (masked keys get zero weight; RoBERTa position ids only count real tokens).
 */
import { tokenizePromptsAudioLDM } from "../../src/engine/models/clap/prompt.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { audioLdmModels, LDM_LATENT, LDM_TOKENS, ldmLatents } from "./lib/audioldm.js";
import { batchIndices, gatherRows, stepRng, WorldDataset } from "./lib/data.js";
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
const clapDir = f.str("clap-dir", run("clap"));
const initUnet = f.str("init-unet", "");
const SEED = 13;
await startTraining();

const data = new WorldDataset("train", f.num("clips", 2000));
const LAT = LDM_LATENT;
const PER = LAT[0] * LAT[1] * LAT[2];

const z0All = await ldmLatents(dir, data, vaeDir);

const { tokenizer, clap, unet } = audioLdmModels();
if (!(await isDone(clapDir))) throw new Error(`${clapDir} has not finished: run tools/train/clap.ts first`);
await loadFinal(clapDir, "text_encoder", clap);
if (initUnet) await loadFinal(initUnet, "unet", unet);
const alphas = alphasCumprod(TRAINED_AUDIOLDM.scheduler);

await train({
  name: "audioldm-ldm",
  dir,
  models: { text_encoder: clap, unet },
  trainable: (model) => model === "unet",
  steps,
  lr: cosineLr(5e-4, steps, 100),
  optimizer: { clipNorm: 1, weightDecay: 0.01 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => {
    if (!initUnet) initParams(unet, SEED + 1);
  },
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const z0 = gatherRows(z0All, idx, PER);
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
