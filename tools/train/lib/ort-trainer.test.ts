/**
 * The ORT training executor (trainer.ts `executor: "ort"`: forward + loss + backward as one ONNX graph, host AdamW)
 * against the tfjs loop on a tiny ImageBind job (the real job code, its real inputs, batch 4): from the same
 * initial weights and batch, one step gives the same loss, gradient norm, updated weights and AdamW moments, and
 * each executor resumes the other's checkpoint and takes the same next step. tfjs runs on the training scripts'
 * backend (wasm + tools/train/lib/env.ts kernels).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClipTokenizer } from "../../../src/engine/preprocess/tokenizers/load.js";
import { SafetensorsFile } from "../../../src/engine/weights/safetensors.js";
import { TRAINED_IMAGEBIND } from "../configs.js";
import { WorldDataset } from "./data.js";
import { startTraining } from "./env.js";
import { imagebindJob } from "./imagebind-job.js";
import { type Executor, train } from "./trainer.js";

const root = mkdtempSync(join(tmpdir(), "ort-trainer-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = {
  ...TRAINED_IMAGEBIND,
  out_embed_dim: 16,
  vision_embed_dim: 16,
  vision_num_blocks: 1,
  vision_num_heads: 2,
  audio_embed_dim: 16,
  audio_num_blocks: 1,
  audio_num_heads: 2,
  text_embed_dim: 16,
  text_num_blocks: 1,
  text_num_heads: 2,
};

let data: WorldDataset;
let tokenizer: Awaited<ReturnType<typeof loadClipTokenizer>>;
beforeAll(async () => {
  await startTraining(); // tfjs-backend-wasm with the training kernels, as the training scripts run
  data = await new WorldDataset("train", 8).load(["video", "audio"], join(root, "data"), false);
  tokenizer = await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz");
});

const run = (dir: string, steps: number, executor: Executor) =>
  train({
    ...imagebindJob({ dir, steps, batch: 4, data, tokenizer, config: TINY, executor }).job,
    printEvery: 1_000_000,
  });

const ckpt = (dir: string) => {
  const p = join(dir, "checkpoint.safetensors");
  return new SafetensorsFile(new Uint8Array(readFileSync(p)), p);
};
const lastLine = (dir: string) => {
  const lines = readFileSync(join(dir, "log.jsonl"), "utf8").trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as { step: number; loss: number; gradNorm: number; lr: number };
};

/** Largest |a − b| over the tensors under `prefix` (non-finite entries must match exactly), and max |a|. */
function compare(a: SafetensorsFile, b: SafetensorsFile, prefix: string) {
  let delta = 0;
  let scale = 0;
  let n = 0;
  for (const k of a.keys()) {
    if (!k.startsWith(prefix)) continue;
    expect(b.has(k), k).toBe(true);
    const x = a.float(k);
    const y = b.float(k);
    n++;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        expect(y[i]).toBe(x[i]);
        continue;
      }
      delta = Math.max(delta, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
  }
  return { delta, scale, n };
}

function expectSameStep(tfDir: string, ortDir: string) {
  const [lt, lo] = [lastLine(tfDir), lastLine(ortDir)];
  expect(lo.step).toBe(lt.step);
  expect(Math.abs(lo.loss - lt.loss)).toBeLessThan(1e-5 * Math.abs(lt.loss));
  expect(Math.abs(lo.gradNorm - lt.gradNorm)).toBeLessThan(1e-4 * lt.gradNorm);
  const [a, b] = [ckpt(tfDir), ckpt(ortDir)];
  expect(b.header.metadata?.adam_step).toBe(a.header.metadata?.adam_step);
  // AdamW moves every weight by ≈ lr·m/√v: a gradient entry that is rounding noise on both sides (e.g. the
  // scale-invariant logit scale) can move by up to ±lr, so weights agree to 2·lr; the moments to 1e-4 relative
  const w = compare(a, b, "model/");
  expect(w.n).toBeGreaterThan(50);
  expect(w.delta).toBeLessThanOrEqual(2 * lt.lr);
  for (const p of ["adam/m/", "adam/v/"]) {
    const m = compare(a, b, p);
    expect(m.n).toBeGreaterThan(50);
    expect(m.delta / m.scale).toBeLessThan(1e-4);
  }
}

describe("ORT training executor equals the tfjs loop (tiny ImageBind, batch 4)", () => {
  it("one step from the same init and batch; then each resumes the other's checkpoint", async () => {
    const [t1, o1] = [join(root, "tfjs-1"), join(root, "ort-1")];
    await run(t1, 1, "tfjs");
    await run(o1, 1, "ort");
    expectSameStep(t1, o1);

    // step 2 on ORT from the tfjs checkpoint and on tfjs from the ORT checkpoint
    const [o2, t2] = [join(root, "ort-from-tfjs"), join(root, "tfjs-from-ort")];
    cpSync(t1, o2, { recursive: true });
    cpSync(o1, t2, { recursive: true });
    await run(o2, 2, "ort");
    await run(t2, 2, "tfjs");
    expectSameStep(t2, o2);
    expect(lastLine(o2).step).toBe(2);
  });
});
