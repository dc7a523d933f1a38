/**
 * The independent evaluator networks (src/engine/eval/evaluators.ts) trained on the world's labels, on the
 * `evaluator` seed split (disjoint from the generators' `train` split and the `heldOut` evaluation split), with
 * their own seeds, then copied to eval/evaluators/ for `npm run eval`.
 *
 *   node tools/run.mjs tools/train/evaluators.ts [--steps 600] [--batch 16] [--clips 1200]
 *
 * Loss: cross-entropy against the normalised multi-hot (kind × colour) labels, with light augmentation (gain,
 * noise, shifts for audio; brightness and noise for video) so degraded generated media still classifies.
 * The last 200 clips are held out and their top-1 accuracy (a present class ranked first) is recorded.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AudioEvaluator,
  audioEvaluatorInput,
  EVAL_AUDIO,
  VideoEvaluator,
  videoEvaluatorInput,
} from "../../src/engine/eval/evaluators.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { NUM_CLASSES, WORLD } from "../../src/engine/world/spec.js";
import { batchIndices, FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { flags, run, startTraining, TRAIN_ROOT } from "./lib/env.js";
import { softCrossEntropy } from "./lib/losses.js";
import { initParams } from "./lib/params.js";
import { cosineLr, type Executor, train } from "./lib/trainer.js";

const f = flags();
const steps = f.num("steps", 600);
const B = f.num("batch", 16);
const dir = f.str("dir", run("evaluators"));
// the committed evaluators are only replaced by a run in the default root
const out = f.str("out", TRAIN_ROOT === ".cache/train" ? "eval/evaluators" : run("evaluators-out"));
const VAL = 200;
await startTraining();
const data = await new WorldDataset("evaluator", f.num("clips", 1200)).load(["video", "audio"]);
const trainN = data.count - VAL;
const { width: W, height: H } = WORLD;

function targets(idx: readonly number[]): Float32Array {
  const t = new Float32Array(idx.length * NUM_CLASSES);
  idx.forEach((i, b) => {
    const c = data.meta[i].classes;
    const s = c.reduce((a, v) => a + v, 0);
    for (let k = 0; k < NUM_CLASSES; k++) t[b * NUM_CLASSES + k] = c[k] / s;
  });
  return t;
}

function audioInput(i: number, rng: { next(): number; int(n: number): number } | null): Float32Array {
  let w = data.wave(i);
  if (rng) {
    const shift = rng.int(1600) - 800;
    const gain = 10 ** ((rng.next() * 12 - 6) / 20);
    const noise = rng.next() * 0.02;
    const a = new Float32Array(w.length);
    for (let k = 0; k < a.length; k++) {
      const j = k - shift;
      a[k] = (j >= 0 && j < w.length ? w[j] * gain : 0) + noise * (rng.next() * 2 - 1);
    }
    w = a;
  }
  return audioEvaluatorInput(w, WORLD.sampleRate).data;
}

function videoInput(i: number, rng: { next(): number } | null): Float32Array {
  const v = videoEvaluatorInput(data.frames(i), FRAMES, H, W);
  if (rng) {
    const gain = 0.8 + 0.4 * rng.next();
    const noise = rng.next() * 0.1;
    for (let k = 0; k < v.length; k++) v[k] = v[k] * gain + noise * (rng.next() * 2 - 1);
  }
  return v;
}

async function accuracy(forward: (x: number[]) => tf.Tensor): Promise<number> {
  let hit = 0;
  for (let s = trainN; s < data.count; s += 20) {
    const idx = Array.from({ length: Math.min(20, data.count - s) }, (_, k) => s + k);
    const logits = tf.tidy(() => forward(idx));
    const l = (await logits.data()) as Float32Array;
    logits.dispose();
    idx.forEach((i, b) => {
      let best = 0;
      for (let k = 1; k < NUM_CLASSES; k++) if (l[b * NUM_CLASSES + k] > l[b * NUM_CLASSES + best]) best = k;
      if (data.meta[i].classes[best] > 0) hit++;
    });
  }
  return hit / VAL;
}

const audio = new AudioEvaluator();
const video = new VideoEvaluator();
const frozen = new TfjsOps();
const report: Record<string, unknown> = { split: "evaluator", clips: data.count, heldOutForAccuracy: VAL };
// one process trains both networks: under a deadline (all.ts --finish-by) the audio net gets the first 40%
const envDeadline = Number(process.env.TRAIN_DEADLINE_MS);
const deadline = Number.isFinite(envDeadline) && envDeadline > 0 ? envDeadline : undefined;
const audioDeadline = deadline && Date.now() + 0.4 * (deadline - Date.now());
for (const [name, model, seed] of [
  ["audio", audio, 101],
  ["video", video, 202],
] as const) {
  const res = await train({
    name: `evaluator-${name}`,
    dir: join(dir, name),
    models: { [name]: model },
    steps,
    lr: cosineLr(2e-3, steps, 30),
    optimizer: { clipNorm: 5, weightDecay: 0.01 },
    maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
    deadline: name === "audio" ? audioDeadline : deadline,
    overfit: f.has("overfit"),
    init: () => initParams(model, seed),
    batch: (step) => {
      const idx = batchIndices(trainN, B, step, seed);
      const rng = stepRng(seed, step, 1);
      const xs = idx.map((i) => (name === "audio" ? audioInput(i, rng) : videoInput(i, rng)));
      const x = new Float32Array(xs.reduce((a, v) => a + v.length, 0));
      xs.forEach((v, k) => {
        x.set(v, k * v.length);
      });
      const shape = name === "audio" ? [B, 1, EVAL_AUDIO.mels, EVAL_AUDIO.frames] : [B, FRAMES, 3, H, W];
      return { x: { data: x, shape }, t: { data: targets(idx), shape: [B, NUM_CLASSES] } };
    },
    graphLoss: (ops, b) => ({
      loss: softCrossEntropy(ops, (model as AudioEvaluator | VideoEvaluator).forward(ops, b.x).logits, b.t),
    }),
    executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
  });
  if (!res.finished) continue;
  const acc = await accuracy((idx) => {
    const xs = idx.map((i) => (name === "audio" ? audioInput(i, null) : videoInput(i, null)));
    const x = new Float32Array(xs.reduce((a, v) => a + v.length, 0));
    xs.forEach((v, k) => {
      x.set(v, k * v.length);
    });
    const shape =
      name === "audio" ? [idx.length, 1, EVAL_AUDIO.mels, EVAL_AUDIO.frames] : [idx.length, FRAMES, 3, H, W];
    return (model as AudioEvaluator | VideoEvaluator).forward(frozen, tf.tensor(x, shape)).logits;
  });
  process.stderr.write(`[evaluator-${name}] held-out top-1 accuracy ${(acc * 100).toFixed(1)}%\n`);
  report[name] = {
    steps: res.step,
    seconds: Math.round(res.seconds),
    finalLoss: res.lastLoss,
    accuracy: acc,
    seed,
  };
  await mkdir(out, { recursive: true });
  await copyFile(join(dir, name, "final", `${name}.safetensors`), join(out, `${name}.safetensors`));
}
await mkdir(out, { recursive: true });
await writeFile(join(out, "evaluators.json"), `${JSON.stringify(report, null, 2)}\n`);
