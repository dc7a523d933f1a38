/**
 * Does a trained AudioLDM UNet use its text conditioning? The ε-prediction loss on training clips at the same
 * noise and timesteps with (a) each clip's own caption, (b) another clip's caption (a derangement within the
 * batch), (c) the empty prompt. A conditioned model has (a) clearly below (b) and (c); equal losses mean the
 * prompt does not steer it.
 *
 *   node tools/run.mjs tools/train/cond-check.ts [--root .cache/train-ort] [--batches 8] [--batch 8]
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tokenizePromptsAudioLDM } from "../../src/engine/models/clap/prompt.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { audioLdmModels, LDM_LATENT, LDM_TOKENS, ldmLatentsPath } from "./lib/audioldm.js";
import { batchIndices, stepRng, WorldDataset } from "./lib/data.js";
import { alphasCumprod, noised } from "./lib/diffusion.js";
import { flags, startTraining } from "./lib/env.js";
import { loadFinal } from "./lib/trainer.js";

const f = flags();
const root = f.str("root", ".cache/train-ort");
const batches = f.num("batches", 8);
const B = f.num("batch", 8);
await startTraining();
const dir = join(root, "audioldm-ldm");
const clips = 1000;
const data = new WorldDataset("train", clips);
const z0All = new Float32Array(new Uint8Array(await readFile(ldmLatentsPath(dir, clips))).buffer);
const LAT = LDM_LATENT;
const PER = LAT[0] * LAT[1] * LAT[2];
const { tokenizer, clap, unet } = audioLdmModels();
await loadFinal(dir, "text_encoder", clap);
await loadFinal(dir, "unet", unet);
const alphas = alphasCumprod(TRAINED_AUDIOLDM.scheduler);
const ops = new TfjsOps();

const sums = { own: 0, other: 0, empty: 0 };
for (let s = 0; s < batches; s++) {
  const idx = batchIndices(data.count, B, 10_000 + s, 99);
  const rng = stepRng(99, s, 7);
  const z0 = new Float32Array(B * PER);
  idx.forEach((i, b) => {
    z0.set(z0All.subarray(i * PER, (i + 1) * PER), b * PER);
  });
  const { zt, eps, t } = noised(z0, B, rng, alphas);
  const own = idx.map((i) => data.meta[i].caption);
  const variants: Record<keyof typeof sums, string[]> = {
    own,
    other: own.map((_, b) => own[(b + 1) % B]),
    empty: own.map(() => ""),
  };
  for (const [k, prompts] of Object.entries(variants) as [keyof typeof sums, string[]][]) {
    const tok = tokenizePromptsAudioLDM(tokenizer, prompts, { maxLength: LDM_TOKENS });
    const loss = tf.tidy(() => {
      const y = clap.forward(ops, {
        input_ids: tf.tensor2d(tok.input_ids, tok.shape as [number, number], "int32"),
        attention_mask: tf.tensor2d(tok.attention_mask, tok.shape as [number, number], "int32"),
      }).text_embeds_normalized;
      const pred = unet.forward(ops, tf.tensor(zt, [B, LAT[0], LAT[1], LAT[2]]), tf.tensor1d(t), {
        classLabels: y,
      });
      return tf.mean(tf.square(tf.sub(pred, tf.tensor(eps, [B, LAT[0], LAT[1], LAT[2]]))));
    });
    sums[k] += (await loss.data())[0] / batches;
    loss.dispose();
  }
  process.stderr.write(`batch ${s + 1}/${batches}\n`);
}
console.log(
  `ε-MSE over ${batches}×${B} training clips: own caption ${sums.own.toFixed(5)}, another clip's ${sums.other.toFixed(5)}, empty ${sums.empty.toFixed(5)}`,
);

// the text tower itself: cosines between the pooled embeddings of different captions (1 = collapsed)
const probe = ["a red bell", "a blue drum", "a green bird", "a white ball", ""];
const tok = tokenizePromptsAudioLDM(tokenizer, probe, { maxLength: LDM_TOKENS });
const e = tf.tidy(
  () =>
    clap.forward(ops, {
      input_ids: tf.tensor2d(tok.input_ids, tok.shape as [number, number], "int32"),
      attention_mask: tf.tensor2d(tok.attention_mask, tok.shape as [number, number], "int32"),
    }).text_embeds_normalized,
);
const v = (await e.array()) as number[][];
e.dispose();
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
for (let i = 0; i < probe.length; i++)
  console.log(`${JSON.stringify(probe[i]).padEnd(14)} ${v.map((w) => dot(v[i], w).toFixed(3)).join("  ")}`);
