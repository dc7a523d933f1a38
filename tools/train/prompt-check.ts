/**
 * Does the trained AudioLDM make the prompted kind of sound, before the vocoder? For each of the 24 prompts
 * "a <colour> <kind>", DDIM-sample a latent (CFG against "", as the pipeline does), decode it with the trained VAE
 * to a log-mel, and name its kind by the nearest kind centroid of band profiles (each band's maximum over time,
 * mean-centred; centroids from single-object training clips). The same classifier on held-out REAL log-mels
 * says how far the profile alone can tell the kinds apart. This isolates the LDM (and its text tower) from the
 * vocoder, which the waveform-level checks (the independent evaluator) also depend on.
 *
 *   node tools/run.mjs tools/train/prompt-check.ts [--root .cache/train-ort] [--checkpoint] [--steps 10] [--cfg 2.5] [--seeds 1]
 */
import { join } from "node:path";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { randn } from "../../src/engine/pipelines/noise.js";
import { DDIMScheduler, type DDIMSchedulerConfig } from "../../src/engine/schedulers/ddim.js";
import { COLOURS, KINDS, type Kind } from "../../src/engine/world/spec.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { audioLdmModels, clapEmbeds, LDM_LATENT } from "./lib/audioldm.js";
import { MEL_FRAMES, WorldDataset } from "./lib/data.js";
import { ddimSampleCfg } from "./lib/diffusion.js";
import { flags, startTraining } from "./lib/env.js";
import { loadCheckpoint, loadFinal } from "./lib/trainer.js";
import { loadTrainedVae } from "./lib/vae.js";

const f = flags();
const root = f.str("root", ".cache/train-ort");
const steps = f.num("steps", 10);
const cfg = f.num("cfg", 2.5);
const seeds = f.num("seeds", 1);
await startTraining();
const ops = new TfjsOps();

/** Each band's maximum over time, minus the profile's mean (loudness-free spectral shape) [64]. */
function profile(mel: Float32Array): Float32Array {
  const p = new Float32Array(64).fill(-Infinity);
  for (let t = 0; t < MEL_FRAMES; t++) for (let k = 0; k < 64; k++) p[k] = Math.max(p[k], mel[t * 64 + k]);
  const m = p.reduce((a, b) => a + b, 0) / 64;
  return p.map((v) => v - m);
}

const single = (d: WorldDataset) =>
  d.meta.map((m, i) => ({ m, i })).filter(({ m }) => m.scene.objects.length === 1);
const train = await new WorldDataset("train", 600).load(["mel"]);
const centroids = new Map<Kind, Float32Array>();
for (const kind of KINDS) {
  const rows = single(train).filter(({ m }) => m.scene.objects[0].kind === kind);
  const c = new Float32Array(64);
  for (const { i } of rows) {
    const p = profile(train.logMel(i));
    for (let k = 0; k < 64; k++) c[k] += p[k] / rows.length;
  }
  centroids.set(kind, c);
}
function nearest(p: Float32Array): Kind {
  let best: Kind = KINDS[0];
  let bestD = Infinity;
  for (const [kind, c] of centroids) {
    const d = p.reduce((a, v, k) => a + (v - c[k]) ** 2, 0);
    if (d < bestD) [best, bestD] = [kind, d];
  }
  return best;
}
const held = await new WorldDataset("heldOut", 200, 3000).load(["mel"]);
const heldSingle = single(held);
const realHits = heldSingle.filter(
  ({ m, i }) => nearest(profile(held.logMel(i))) === m.scene.objects[0].kind,
).length;

// the LDM
const dir = join(root, "audioldm-ldm");
const { tokenizer, clap, unet } = audioLdmModels();
const load = (name: string, model: object) =>
  (f.has("checkpoint") ? loadCheckpoint : loadFinal)(dir, name, model);
await load("text_encoder", clap);
await load("unet", unet);
const { vae, scalingFactor } = await loadTrainedVae(join(root, "audioldm-vae"));
const scheduler = new DDIMScheduler(TRAINED_AUDIOLDM.scheduler as Partial<DDIMSchedulerConfig>);
scheduler.setTimesteps(steps);

const embed = (prompts: string[]) => clapEmbeds(ops, tokenizer, clap, prompts);

const shape = [1, ...LDM_LATENT];
const confusion = new Map<string, number>();
let hits = 0;
let n = 0;
for (let s = 0; s < seeds; s++)
  for (const [pi, kind] of KINDS.entries())
    for (const [ci, colour] of COLOURS.entries()) {
      const cond = tf.tidy(() => tf.concat([embed([""]), embed([`a ${colour} ${kind}`])], 0));
      const z = await ddimSampleCfg(
        scheduler,
        randn(
          shape.reduce((a, b) => a * b, 1),
          1000 * s + pi * COLOURS.length + ci,
        ),
        shape,
        cfg,
        (x2, t2) => unet.forward(ops, x2, t2, { classLabels: cond }),
      );
      cond.dispose();
      const mel = tf.tidy(() =>
        tf.reshape(vae.decode(ops, tf.div(tf.tensor(z, shape), scalingFactor)), [MEL_FRAMES * 64]),
      );
      const heard = nearest(profile((await mel.data()) as Float32Array));
      mel.dispose();
      n++;
      if (heard === kind) hits++;
      confusion.set(`${kind}→${heard}`, (confusion.get(`${kind}→${heard}`) ?? 0) + 1);
    }
console.log(
  `${root}${f.has("checkpoint") ? " (checkpoint)" : ""}: real held-out log-mels ${realHits}/${heldSingle.length} named right by the kind-centroid classifier; generated (${steps} DDIM steps, CFG ${cfg}) ${hits}/${n} (chance 1/${KINDS.length}); ${[...confusion].map(([k, v]) => `${k} ${v}`).join(", ")}`,
);
