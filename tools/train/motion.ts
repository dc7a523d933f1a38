/**
 * AnimateDiff stage 2: motion modules (the MotionAdapter's temporal transformers, inserted by UNetMotionModel
 * after every spatial block) trained on 16-frame world clips with the spatial UNet and CLIP FROZEN at their
 * text-to-image weights (sd-unet must have finished), as AnimateDiff trains its adapters on a frozen SD 1.5.
 *
 *   node tools/run.mjs tools/train/motion.ts [--steps 2000] [--batch 2] [--clips 1000]
 *
 * Motion `proj_out` layers start at zero (AnimateDiff's `zero_initialize`), so step 0 is exactly the image
 * model. Loss: ε-prediction MSE on video latents [B, 4, 16, 8, 8], the same noise schedule as sd-unet.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CLIPTextModel } from "../../src/engine/models/clip/model.js";
import { tokenizePromptsSD } from "../../src/engine/models/clip/prompt.js";
import { UNetMotionModel } from "../../src/engine/models/diffusers/unet_motion_model.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { loadClipTokenizer } from "../../src/engine/preprocess/tokenizers/load.js";
import { SafetensorsFile } from "../../src/engine/weights/safetensors.js";
import { TRAINED_MOTION_ADAPTER, TRAINED_STABLE_DIFFUSION } from "./configs.js";
import { batchIndices, FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { alphasCumprod, noised, trainingPrompt } from "./lib/diffusion.js";
import { flags, run, startTraining } from "./lib/env.js";
import { frameLatents, LATENT, LATENT_SIZE } from "./lib/frame-latents.js";
import { mse } from "./lib/losses.js";
import { initParams, loadState } from "./lib/params.js";
import { cosineLr, type Executor, isDone, loadFinal, train } from "./lib/trainer.js";

const f = flags();
const steps = f.num("steps", 2000);
const B = f.num("batch", 2);
const dir = f.str("dir", run("motion"));
const sdDir = f.str("sd-dir", run("sd-unet"));
const SEED = 33;
await startTraining();
if (!(await isDone(sdDir))) throw new Error(`${sdDir} has not finished: run tools/train/sd-unet.ts first`);
const data = new WorldDataset("train", f.num("clips", 1000));
const z0All = await frameLatents(data, f.str("vae-dir", run("sd-vae")), sdDir);
data.video = null;
const tokenizer = await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz");
const clip = new CLIPTextModel(TRAINED_STABLE_DIFFUSION.text_encoder);
await loadFinal(sdDir, "text_encoder", clip);
const unet = new UNetMotionModel(TRAINED_STABLE_DIFFUSION.unet, TRAINED_MOTION_ADAPTER);
const alphas = alphasCumprod(TRAINED_STABLE_DIFFUSION.scheduler);
const frozen = new TfjsOps();
const spatialPath = join(sdDir, "final", "unet.safetensors");
const spatial = new SafetensorsFile(new Uint8Array(await readFile(spatialPath)), spatialPath);

await train({
  name: "motion",
  dir,
  models: { unet },
  trainable: (_m, key) => key.includes("motion_modules"),
  steps,
  lr: cosineLr(5e-4, steps, 100),
  optimizer: { clipNorm: 1, weightDecay: 0.01 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => {
    initParams(unet, SEED, { zeroKeys: /motion_modules\.\d+\.proj_out\.(weight|bias)$/ });
    // spatial weights from the text-to-image stage; only the motion modules start fresh
    const missing = loadState(unet, (k) => (spatial.has(k) ? spatial.get(k) : undefined));
    const bad = missing.filter((k) => !k.includes("motion_modules"));
    if (bad.length) throw new Error(`${spatialPath} lacks spatial weights: ${bad.slice(0, 3).join(", ")}`);
  },
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    // [B, 4, F, 8, 8] from the cached [F, 4, 8, 8] per clip
    const z0 = new Float32Array(B * FRAMES * LATENT_SIZE);
    const hw = LATENT[1] * LATENT[2];
    idx.forEach((i, b) => {
      for (let fi = 0; fi < FRAMES; fi++)
        for (let c = 0; c < LATENT[0]; c++) {
          const src = (i * FRAMES + fi) * LATENT_SIZE + c * hw;
          z0.set(z0All.subarray(src, src + hw), ((b * LATENT[0] + c) * FRAMES + fi) * hw);
        }
    });
    const tok = tokenizePromptsSD(
      tokenizer,
      idx.map((i) => trainingPrompt(data.meta[i], rng)),
    );
    const ctxT = tf.tidy(
      () =>
        clip.forward(frozen, { input_ids: tf.tensor2d(tok.input_ids, tok.shape, "int32") }).last_hidden_state,
    );
    const ctx = { data: ctxT.dataSync() as Float32Array, shape: ctxT.shape };
    ctxT.dispose();
    const { zt, eps, t } = noised(z0, B, rng, alphas);
    const shape = [B, LATENT[0], FRAMES, LATENT[1], LATENT[2]];
    return {
      zt: { data: zt, shape },
      t: { data: t, shape: [B] },
      eps: { data: eps, shape },
      ctx,
    };
  },
  graphLoss: (ops, b) => ({
    loss: mse(ops, unet.forward(ops, b.zt, b.t, { encoderHiddenStates: b.ctx }), b.eps),
  }),
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});
