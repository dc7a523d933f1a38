/**
 * Does a trained text-conditioned UNet use its prompt? The ε-prediction loss on training samples at the same
 * noise and timesteps with (a) each clip's own caption, (b) another clip's caption (a derangement within the
 * batch), (c) the empty prompt. A conditioned model has (a) clearly below (b) and (c); equal losses mean the
 * prompt does not steer it. Then the text tower itself: cosines between the embeddings of different captions.
 *
 *   node tools/run.mjs tools/train/cond-check.ts [--model audioldm|sd] [--root .cache/train-ort] [--checkpoint]
 *                                                [--batches 8] [--batch 8]
 *
 * audioldm: the audioldm-ldm job's UNet on its cached VAE latents, conditioned on normalize(CLAP text_embeds);
 * sd: the sd-unet job's UNet on one random frame's SD-VAE latent per clip, cross-attending to CLIP's states.
 */
import { join } from "node:path";
import { CLIPTextModel } from "../../src/engine/models/clip/model.js";
import { tokenizePromptsSD } from "../../src/engine/models/clip/prompt.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { loadClipTokenizer } from "../../src/engine/preprocess/tokenizers/load.js";
import { TRAINED_AUDIOLDM, TRAINED_STABLE_DIFFUSION } from "./configs.js";
import { audioLdmModels, clapEmbeds, LDM_LATENT, ldmLatents } from "./lib/audioldm.js";
import { batchIndices, FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { alphasCumprod, noised } from "./lib/diffusion.js";
import { flags, startTraining } from "./lib/env.js";
import { frameLatents, LATENT, LATENT_SIZE } from "./lib/frame-latents.js";
import { loadCheckpoint, loadFinal } from "./lib/trainer.js";

const f = flags();
const model = f.str("model", "audioldm");
const root = f.str("root", ".cache/train-ort");
const batches = f.num("batches", 8);
const B = f.num("batch", 8);
await startTraining();
const ops = new TfjsOps();
/** --checkpoint: the job's latest checkpoint (a run still in progress) instead of its final weights. */
const load = f.has("checkpoint") ? loadCheckpoint : loadFinal;

/** One trained text-conditioned UNet: a training sample's latent, the prompt encoding and the ε prediction. */
interface Conditioned {
  clips: number;
  shape: readonly number[];
  alphas: Float32Array;
  /** Sample `i`'s clean latent (SD: a random frame of clip i). */
  latent: (i: number, rng: { int(n: number): number }) => Float32Array;
  /** What the UNet conditions on, and the pooled embedding whose cosines show the text tower's spread. */
  encode: (prompts: string[]) => { cond: tf.Tensor; pooled: tf.Tensor };
  predict: (zt: tf.Tensor, t: tf.Tensor, cond: tf.Tensor) => tf.Tensor;
}

async function audioLdm(): Promise<Conditioned> {
  const dir = join(root, "audioldm-ldm");
  const clips = 1000;
  const z0 = await ldmLatents(dir, new WorldDataset("train", clips), join(root, "audioldm-vae"));
  const per = LDM_LATENT[0] * LDM_LATENT[1] * LDM_LATENT[2];
  const { tokenizer, clap, unet } = audioLdmModels();
  await load(dir, "text_encoder", clap);
  await load(dir, "unet", unet);
  return {
    clips,
    shape: LDM_LATENT,
    alphas: alphasCumprod(TRAINED_AUDIOLDM.scheduler),
    latent: (i) => z0.subarray(i * per, (i + 1) * per),
    encode: (prompts) => {
      const e = clapEmbeds(ops, tokenizer, clap, prompts);
      return { cond: e, pooled: e };
    },
    predict: (zt, t, cond) => unet.forward(ops, zt, t, { classLabels: cond }),
  };
}

async function stableDiffusion(): Promise<Conditioned> {
  const dir = join(root, "sd-unet");
  const clips = 500;
  const z0 = await frameLatents(new WorldDataset("train", clips), join(root, "sd-vae"), dir);
  const tokenizer = await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz");
  const clip = new CLIPTextModel(TRAINED_STABLE_DIFFUSION.text_encoder);
  const unet = new UNet2DConditionModel(TRAINED_STABLE_DIFFUSION.unet);
  await load(dir, "text_encoder", clip);
  await load(dir, "unet", unet);
  return {
    clips,
    shape: LATENT,
    alphas: alphasCumprod(TRAINED_STABLE_DIFFUSION.scheduler),
    latent: (i, rng) => {
      const o = (i * FRAMES + rng.int(FRAMES)) * LATENT_SIZE;
      return z0.subarray(o, o + LATENT_SIZE);
    },
    encode: (prompts) => {
      const tok = tokenizePromptsSD(tokenizer, prompts);
      const out = clip.forward(ops, {
        input_ids: tf.tensor2d(tok.input_ids, tok.shape as [number, number], "int32"),
      });
      const pooled = out.pooler_output ?? out.last_hidden_state;
      return { cond: out.last_hidden_state, pooled: tf.div(pooled, tf.norm(pooled, 2, -1, true)) };
    },
    predict: (zt, t, cond) => unet.forward(ops, zt, t, { encoderHiddenStates: cond }),
  };
}

if (model !== "audioldm" && model !== "sd") throw new Error(`--model audioldm|sd (got ${model})`);
const m = model === "sd" ? await stableDiffusion() : await audioLdm();
const data = new WorldDataset("train", m.clips);
const per = m.shape.reduce((a, b) => a * b, 1);
const shape = [B, ...m.shape];

const sums = { own: 0, other: 0, empty: 0 };
for (let s = 0; s < batches; s++) {
  const idx = batchIndices(data.count, B, 10_000 + s, 99);
  const rng = stepRng(99, s, 7);
  const z0 = new Float32Array(B * per);
  idx.forEach((i, b) => {
    z0.set(m.latent(i, rng), b * per);
  });
  const { zt, eps, t } = noised(z0, B, rng, m.alphas);
  const own = idx.map((i) => data.meta[i].caption);
  const variants: Record<keyof typeof sums, string[]> = {
    own,
    other: own.map((_, b) => own[(b + 1) % B]),
    empty: own.map(() => ""),
  };
  for (const [k, prompts] of Object.entries(variants) as [keyof typeof sums, string[]][]) {
    const loss = tf.tidy(() => {
      const pred = m.predict(tf.tensor(zt, shape), tf.tensor1d(t), m.encode(prompts).cond);
      return tf.mean(tf.square(tf.sub(pred, tf.tensor(eps, shape))));
    });
    sums[k] += (await loss.data())[0] / batches;
    loss.dispose();
  }
  process.stderr.write(`batch ${s + 1}/${batches}\n`);
}
console.log(
  `${model}: ε-MSE over ${batches}×${B} training samples: own caption ${sums.own.toFixed(5)}, another clip's ${sums.other.toFixed(5)}, empty ${sums.empty.toFixed(5)}`,
);

// the text tower itself: cosines between the pooled embeddings of different captions (1 = collapsed)
const probe = ["a red bell", "a blue drum", "a green bird", "a white ball", ""];
const e = tf.tidy(() => m.encode(probe).pooled);
const v = (await e.array()) as number[][];
e.dispose();
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
for (let i = 0; i < probe.length; i++)
  console.log(`${JSON.stringify(probe[i]).padEnd(14)} ${v.map((w) => dot(v[i], w).toFixed(3)).join("  ")}`);
