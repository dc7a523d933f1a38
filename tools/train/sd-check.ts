/**
 * Does the trained Stable Diffusion side draw the prompted object in its colour? Two measurements:
 *
 * 1. The SD VAE: reconstruct frames of held-out clips (posterior mean → decode) and report the L1 on object pixels
 *    (those the renderer paints over the scene's plain background, `objectPixelWeights`) and on the background,
 *    and the RGB distance between each frame's mean object colour and its reconstruction's (out of 255).
 * 2. The SD UNet with its CLIP text encoder: for each prompt "a <colour> <kind>", DDIM-sample one frame (CFG
 *    against "", as the pipelines do), decode it, and name
 *    - its colour: the mean colour of the pixels that differ from the frame's median colour by more than 40/255,
 *      nearest among the world's six colours ("none" when fewer than 10 pixels differ: an empty frame);
 *    - its class: the independent video evaluator (eval/evaluators) on the frame held for 16 frames.
 *    The same two namers on still frames of held-out single-object clips say how far they can be trusted.
 *
 *   node tools/run.mjs tools/train/sd-check.ts [--root .cache/train-ort] [--checkpoint] [--steps 25] [--cfg 7.5]
 *                                              [--seeds 1] [--out sheet.ppm]
 *
 * `--out` writes the generated frames as a contact sheet (one row per seed, the 24 prompts kind-major).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CLIPTextModel } from "../../src/engine/models/clip/model.js";
import { tokenizePromptsSD } from "../../src/engine/models/clip/prompt.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { randn } from "../../src/engine/pipelines/noise.js";
import { loadClipTokenizer } from "../../src/engine/preprocess/tokenizers/load.js";
import { DDIMScheduler, type DDIMSchedulerConfig } from "../../src/engine/schedulers/ddim.js";
import { COLOUR_RGB, COLOURS, type Colour, KINDS, topKind, WORLD } from "../../src/engine/world/spec.js";
import { Evaluators } from "../eval/evaluators.js";
import { TRAINED_STABLE_DIFFUSION } from "./configs.js";
import { FRAMES, objectPixelWeights, planarFrame, WorldDataset } from "./lib/data.js";
import { ddimSampleCfg } from "./lib/diffusion.js";
import { flags, startTraining } from "./lib/env.js";
import { LATENT } from "./lib/frame-latents.js";
import { loadCheckpoint, loadFinal } from "./lib/trainer.js";
import { loadTrainedVae } from "./lib/vae.js";

const f = flags();
const root = f.str("root", ".cache/train-ort");
const steps = f.num("steps", 25);
const cfg = f.num("cfg", 7.5);
const seeds = f.num("seeds", 1);
const out = f.str("out", "");
await startTraining();
const ops = new TfjsOps();
const { width: W, height: H } = WORLD;
const PIX = W * H;

/** Planar [3, H, W] in [−1, 1] → interleaved RGB bytes [H, W, 3]. */
function toRgb(x: Float32Array, offset = 0): Uint8Array {
  const rgb = new Uint8Array(PIX * 3);
  for (let p = 0; p < PIX; p++)
    for (let c = 0; c < 3; c++)
      rgb[3 * p + c] = Math.max(0, Math.min(255, Math.round((x[offset + c * PIX + p] + 1) * 127.5)));
  return rgb;
}

/** The nearest world colour to the mean of the pixels far from the frame's median colour, or "none". */
function nameColour(rgb: Uint8Array): Colour | "none" {
  const median = [0, 1, 2].map((c) => {
    const v = Array.from({ length: PIX }, (_, p) => rgb[3 * p + c]).sort((a, b) => a - b);
    return v[PIX >> 1];
  });
  const sum = [0, 0, 0];
  let n = 0;
  for (let p = 0; p < PIX; p++) {
    if (Math.max(...median.map((m, c) => Math.abs(rgb[3 * p + c] - m))) <= 40) continue;
    for (let c = 0; c < 3; c++) sum[c] += rgb[3 * p + c];
    n++;
  }
  if (n < 10) return "none";
  let best: Colour = COLOURS[0];
  let bestD = Infinity;
  for (const colour of COLOURS) {
    const d = COLOUR_RGB[colour].reduce((a, v, c) => a + (v - sum[c] / n) ** 2, 0);
    if (d < bestD) [best, bestD] = [colour, d];
  }
  return best;
}

const evaluators = await Evaluators.open();
/** The evaluator's most probable class of a still frame held for the clip's length. */
async function evaluatorClass(rgb: Uint8Array): Promise<{ kind: string; colour: string }> {
  const clip = new Uint8Array(FRAMES * PIX * 3);
  for (let i = 0; i < FRAMES; i++) clip.set(rgb, i * PIX * 3);
  const { probs } = await evaluators.video(clip, FRAMES, H, W);
  const top = probs.indexOf(Math.max(...probs));
  return { kind: topKind(probs), colour: COLOURS[top % COLOURS.length] };
}

// 1. the VAE on held-out frames; the namers on the same real frames
const { vae, scalingFactor } = await loadTrainedVae(join(root, "sd-vae"));
const held = await new WorldDataset("heldOut", 48).load(["video"], undefined, false);
const err = { object: 0, objectN: 0, background: 0, backgroundN: 0, colour: 0, colourN: 0 };
const real = { colour: 0, kind: 0, evColour: 0, n: 0 };
for (let i = 0; i < held.count; i++) {
  const x = new Float32Array(4 * 3 * PIX);
  const mask = new Float32Array(4 * PIX);
  for (let k = 0; k < 4; k++) {
    planarFrame(held.frames(i), k * 5, x, k * 3 * PIX);
    objectPixelWeights(held.meta[i], held.frames(i), k * 5, 1, mask, k * PIX);
  }
  const r = tf.tidy(() => vae.decode(ops, vae.encode(ops, tf.tensor4d(x, [4, 3, H, W])).mean));
  const y = (await r.data()) as Float32Array;
  r.dispose();
  for (let k = 0; k < 4; k++) {
    const mx = [0, 0, 0];
    const my = [0, 0, 0];
    let n = 0;
    for (let p = 0; p < PIX; p++) {
      const isObject = mask[k * PIX + p] > 1;
      if (isObject) n++;
      for (let c = 0; c < 3; c++) {
        const j = (k * 3 + c) * PIX + p;
        const e = Math.abs(y[j] - x[j]);
        if (isObject) {
          err.object += e;
          err.objectN++;
          mx[c] += x[j];
          my[c] += y[j];
        } else {
          err.background += e;
          err.backgroundN++;
        }
      }
    }
    if (n >= 10) {
      err.colour += Math.hypot(...mx.map((v, c) => (v - my[c]) / n)) * 127.5;
      err.colourN++;
    }
  }
  const objects = held.meta[i].scene.objects;
  if (objects.length === 1) {
    const rgb = toRgb(x, 2 * 3 * PIX);
    const ev = await evaluatorClass(rgb);
    real.n++;
    if (nameColour(rgb) === objects[0].colour) real.colour++;
    if (ev.kind === objects[0].kind) real.kind++;
    if (ev.colour === objects[0].colour) real.evColour++;
  }
}
console.log(
  `[sd-check] VAE on ${err.colourN} held-out frames: L1 object pixels ${(err.object / err.objectN).toFixed(4)}, background ${(err.background / err.backgroundN).toFixed(4)}; mean object colour error ${(err.colour / err.colourN).toFixed(1)}/255`,
);
console.log(
  `[sd-check] namers on ${real.n} real still frames (single-object clips): colour ${real.colour}/${real.n}; evaluator kind ${real.kind}/${real.n}, colour ${real.evColour}/${real.n}`,
);

// 2. text → frame
const dir = join(root, "sd-unet");
const load = f.has("checkpoint") ? loadCheckpoint : loadFinal;
const tokenizer = await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz");
const clip = new CLIPTextModel(TRAINED_STABLE_DIFFUSION.text_encoder);
const unet = new UNet2DConditionModel(TRAINED_STABLE_DIFFUSION.unet);
await load(dir, "text_encoder", clip);
await load(dir, "unet", unet);
const scheduler = new DDIMScheduler(TRAINED_STABLE_DIFFUSION.scheduler as Partial<DDIMSchedulerConfig>);
scheduler.setTimesteps(steps);
const encode = (prompts: string[]) =>
  tf.tidy(() => {
    const tok = tokenizePromptsSD(tokenizer, prompts);
    return clip.forward(ops, { input_ids: tf.tensor2d(Array.from(tok.input_ids), tok.shape, "int32") })
      .last_hidden_state;
  });
const prompts = KINDS.flatMap((kind) => COLOURS.map((colour) => ({ kind, colour })));
const cond = encode(["", ...prompts.map(({ kind, colour }) => `a ${colour} ${kind}`)]);
const shape = [1, ...LATENT];
const frames: Uint8Array[] = [];
const gen = { colour: 0, none: 0, kind: 0, evColour: 0, n: 0 };
for (let s = 0; s < seeds; s++)
  for (const [pi, { kind, colour }] of prompts.entries()) {
    const ctx = tf.tidy(() => tf.concat([tf.slice(cond, [0], [1]), tf.slice(cond, [pi + 1], [1])], 0));
    const z = await ddimSampleCfg(
      scheduler,
      randn(LATENT[0] * LATENT[1] * LATENT[2], 1000 * s + pi),
      shape,
      cfg,
      (x2, t2) => unet.forward(ops, x2, t2, { encoderHiddenStates: ctx }),
    );
    ctx.dispose();
    const img = tf.tidy(() => vae.decode(ops, tf.div(tf.tensor(z, shape), scalingFactor)));
    const rgb = toRgb((await img.data()) as Float32Array);
    img.dispose();
    frames.push(rgb);
    const named = nameColour(rgb);
    const ev = await evaluatorClass(rgb);
    gen.n++;
    if (named === colour) gen.colour++;
    if (named === "none") gen.none++;
    if (ev.kind === kind) gen.kind++;
    if (ev.colour === colour) gen.evColour++;
  }
cond.dispose();
console.log(
  `[sd-check] ${dir}${f.has("checkpoint") ? " (checkpoint)" : ""}, ${gen.n} prompts "a <colour> <kind>" (${steps} DDIM steps, CFG ${cfg}): colour named ${gen.colour}/${gen.n} (chance 1/${COLOURS.length}), empty ${gen.none}; evaluator kind ${gen.kind}/${gen.n} (chance 1/${KINDS.length}), colour ${gen.evColour}/${gen.n}`,
);

if (out) {
  const cols = prompts.length;
  const sheet = Buffer.alloc(seeds * H * cols * W * 3);
  frames.forEach((rgb, k) => {
    const [row, col] = [Math.floor(k / cols), k % cols];
    for (let y = 0; y < H; y++)
      sheet.set(rgb.subarray(y * W * 3, (y + 1) * W * 3), ((row * H + y) * cols * W + col * W) * 3);
  });
  await writeFile(out, Buffer.concat([Buffer.from(`P6 ${cols * W} ${seeds * H} 255\n`), sheet]));
}
evaluators.dispose();
ops.dispose();
