/**
 * CLAP for the AudioLDM pack: the text tower (ClapTextModelWithProjection, TRAINED_AUDIOLDM widths) pre-trained
 * contrastively against audio, as upstream's CLAP is, then FROZEN by the LDM job (audioldm-ldm.ts loads it).
 *
 *   node tools/run.mjs tools/train/clap.ts [--steps 1500] [--batch 32] [--clips 1000] [--val 200]
 *
 * The audio side is a training-only head (`LatentAudioHead`, not part of any pack) on each clip's AudioLDM VAE
 * latent z0 [8, T, 16] (the LDM job's cached latents, which audioldm-vae must have produced): upstream's CLAP
 * audio tower (HTSAT on log-mels) has no use in a pack, since AudioLDM only runs CLAP's text side at inference;
 * the latent is a compressed log-mel of the same clip, so a small head on it is this world's audio encoder.
 * Loss: symmetric InfoNCE (τ = 0.07) between the normalised text embedding of a caption of the clip (full,
 * key-frame or listener caption) and the head's embedding of its latent. The last `--val` clips are held out;
 * at the end their caption→audio top-1 retrieval and the text embeddings' mean pairwise cosine are written to
 * `val.json` (chance top-1 = 1/val; a collapsed text tower has cosines near 1).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tokenizePromptsAudioLDM } from "../../src/engine/models/clap/prompt.js";
import { gelu } from "../../src/engine/nn/activations.js";
import { Linear } from "../../src/engine/nn/layers.js";
import type { Ops } from "../../src/engine/ops/ops.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { audioLdmModels, clapEmbeds, LDM_LATENT, LDM_TOKENS, ldmLatents } from "./lib/audioldm.js";
import { batchIndices, gatherRows, stepRng, WorldDataset } from "./lib/data.js";
import { trainingPrompt } from "./lib/diffusion.js";
import { flags, run, startTraining } from "./lib/env.js";
import { infoNce } from "./lib/losses.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, train } from "./lib/trainer.js";

const TAU = 0.07;
const SEED = 14;
const [C, T, F] = LDM_LATENT;
const HIDDEN = 128;

/** z0 [B, C, T, F] → per-frame Linear(C·F → 128) + GELU → flatten over time → Linear(T·128 → projection_dim). */
class LatentAudioHead {
  readonly frame = new Linear(C * F, HIDDEN);
  readonly proj = new Linear(T * HIDDEN, TRAINED_AUDIOLDM.text_encoder.projection_dim);
  forward<X>(ops: Ops<X>, z: X): X {
    const [b] = ops.shape(z);
    const frames = ops.reshape(ops.transpose(z, [0, 2, 1, 3]), [b, T, C * F]);
    const h = gelu(ops, this.frame.forward(ops, frames));
    return this.proj.forward(ops, ops.reshape(h, [b, T * HIDDEN]));
  }
}

const f = flags();
const steps = f.num("steps", 1500);
const B = f.num("batch", 32);
const VAL = f.num("val", 200);
const dir = f.str("dir", run("clap"));
const vaeDir = f.str("vae-dir", run("audioldm-vae"));
const latentDir = f.str("latent-dir", run("audioldm-ldm"));
await startTraining();

const data = new WorldDataset("train", f.num("clips", 1000));
const z0All = await ldmLatents(latentDir, data, vaeDir);
const PER = C * T * F;
const trainN = data.count - VAL;
if (trainN < B) throw new Error(`--clips ${data.count} leaves ${trainN} training clips for a batch of ${B}`);

const { tokenizer, clap } = audioLdmModels();
const head = new LatentAudioHead();

const latentBatch = (idx: readonly number[]) => gatherRows(z0All, idx, PER);

const result = await train({
  name: "clap",
  dir,
  models: { text_encoder: clap, audio_head: head },
  steps,
  lr: cosineLr(1e-3, steps, 100),
  optimizer: { clipNorm: 1, weightDecay: 0.01 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () => {
    initParams(clap, SEED);
    initParams(head, SEED + 1);
  },
  batch: (step) => {
    const idx = batchIndices(trainN, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const tok = tokenizePromptsAudioLDM(
      tokenizer,
      idx.map((i) => trainingPrompt(data.meta[i], rng, 0)),
      { maxLength: LDM_TOKENS },
    );
    return {
      z: { data: latentBatch(idx), shape: [B, C, T, F] },
      ids: { data: tok.input_ids, shape: tok.shape },
      mask: { data: tok.attention_mask, shape: tok.shape },
    };
  },
  graphLoss: (ops, b) => {
    const text = clap.forward(ops, { input_ids: b.ids, attention_mask: b.mask }).text_embeds;
    return { loss: infoNce(ops, text, head.forward(ops, b.z), TAU) };
  },
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});

if (result.finished && VAL > 0) {
  // held-out clips: each full caption against every held-out latent
  const idx = Array.from({ length: VAL }, (_, k) => trainN + k);
  const ops = new TfjsOps();
  const unit = (x: tf.Tensor) => tf.div(x, tf.norm(x, 2, -1, true));
  const [sim, textCos] = tf.tidy(() => {
    const te = clapEmbeds(
      ops,
      tokenizer,
      clap,
      idx.map((i) => data.meta[i].caption),
    );
    const ae = unit(head.forward(ops, tf.tensor4d(latentBatch(idx), [VAL, C, T, F])));
    return [tf.matMul(te, ae, false, true), tf.matMul(te, te, false, true)];
  });
  const s = (await sim.array()) as number[][];
  const c = (await textCos.array()) as number[][];
  tf.dispose([sim, textCos]);
  ops.dispose();
  const top1 = s.filter((row, i) => row.indexOf(Math.max(...row)) === i).length / VAL;
  let cosSum = 0;
  for (let i = 0; i < VAL; i++) for (let j = 0; j < VAL; j++) if (i !== j) cosSum += c[i][j];
  const val = {
    clips: VAL,
    captionToAudioTop1: top1,
    chance: 1 / VAL,
    meanTextCosine: cosSum / (VAL * (VAL - 1)),
  };
  await writeFile(join(dir, "val.json"), `${JSON.stringify(val)}\n`);
  console.log(`[clap] held-out: ${JSON.stringify(val)}`);
}
