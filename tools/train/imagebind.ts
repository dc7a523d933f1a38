/**
 * A small ImageBind (TRAINED_IMAGEBIND widths) trained contrastively on world clips; the job itself (inputs,
 * symmetric InfoNCE over VA, VT, AT) is tools/train/lib/imagebind-job.ts.
 *
 *   node tools/run.mjs tools/train/imagebind.ts [--steps 1500] [--batch 16] [--clips 2000] [--executor tfjs|ort]
 *
 * `--executor ort` runs each step as one ONNX Runtime graph (forward + loss + backward; trainer.ts), resuming
 * the same checkpoints as the tfjs loop.
 */
import { loadClipTokenizer } from "../../src/engine/preprocess/tokenizers/load.js";
import { TRAINED_IMAGEBIND } from "./configs.js";
import { WorldDataset } from "./lib/data.js";
import { flags, run, startTraining } from "./lib/env.js";
import { imagebindJob } from "./lib/imagebind-job.js";
import { type Executor, train } from "./lib/trainer.js";

const f = flags();
await startTraining();
const { job } = imagebindJob({
  dir: f.str("dir", run("imagebind")),
  steps: f.num("steps", 1500),
  batch: f.num("batch", 16),
  data: await new WorldDataset("train", f.num("clips", 2000)).load(["video", "audio"]),
  tokenizer: await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz"),
  config: TRAINED_IMAGEBIND,
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  executor: f.has("executor") ? (f.str("executor", "tfjs") as Executor) : undefined,
});
await train(job);
