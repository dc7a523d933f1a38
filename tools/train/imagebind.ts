/**
 * A small ImageBind (ImageBindModel: vision / audio / text towers with upstream's preprocessors, trunks, heads and
 * postprocessors; TRAINED_IMAGEBIND widths) trained contrastively on world clips.
 *
 *   node tools/run.mjs tools/train/imagebind.ts [--steps 1500] [--batch 16] [--clips 2000]
 *
 * Each sample is embedded exactly as the pipelines embed it: the video through `videoToImageBindInput` (2 clips of
 * 1 s, 2 frames each; a quarter of the samples instead use one random frame as an image through
 * `imageToImageBindInput`, so I2A conditions are in-distribution), the audio through `audioToImageBindInput`
 * (Kaldi fbank of 2 × 1-s clips), the text through the CLIP BPE (full, key-frame or listener caption).
 * Loss: symmetric InfoNCE (τ = 0.07) over the batch for the vision–audio, vision–text and audio–text pairs
 * (upstream ImageBind binds each modality to images with a frozen CLIP; with no pretrained towers here all
 * three pairs are learned jointly).
 */
import { ImageBindModel } from "../../src/engine/models/imagebind/model.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { audioToImageBindInput } from "../../src/engine/preprocess/audio/imagebind_audio.js";
import { loadClipTokenizer } from "../../src/engine/preprocess/tokenizers/load.js";
import { imageToImageBindInput } from "../../src/engine/preprocess/video/imagebind_image.js";
import { videoToImageBindInput } from "../../src/engine/preprocess/video/imagebind_video.js";
import { WORLD } from "../../src/engine/world/spec.js";
import { TRAINED_IMAGEBIND } from "./configs.js";
import { batchIndices, FRAMES, stepRng, WorldDataset } from "./lib/data.js";
import { trainingPrompt } from "./lib/diffusion.js";
import { flags, run, startTraining } from "./lib/env.js";
import { initParams } from "./lib/params.js";
import { cosineLr, train } from "./lib/trainer.js";

const f = flags();
const steps = f.num("steps", 1500);
const B = f.num("batch", 16);
const IMAGES = Math.floor(B / 4);
const SEED = 21;
const TAU = 0.07;
await startTraining();
const data = await new WorldDataset("train", f.num("clips", 2000)).load(["video", "audio"]);
const tokenizer = await loadClipTokenizer("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz");
const ib = new ImageBindModel(TRAINED_IMAGEBIND);
const frozen = new TfjsOps();
const { width: W, height: H, fps } = WORLD;
const FRAME = W * H * 3;

/** Symmetric InfoNCE between row-aligned embeddings [B, D]. */
function infoNce(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const n = a.shape[0];
  const an = tf.div(a, tf.norm(a, 2, -1, true));
  const bn = tf.div(b, tf.norm(b, 2, -1, true));
  const logits = tf.div(tf.matMul(an, bn, false, true), TAU);
  const labels = tf.oneHot(tf.range(0, n, 1, "int32"), n);
  const ce = (l: tf.Tensor) => tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(l, -1)), -1)));
  return tf.div(tf.add(ce(logits), ce(tf.transpose(logits))), 2) as tf.Scalar;
}

await train({
  name: "imagebind",
  dir: f.str("dir", run("imagebind")),
  models: { imagebind: ib },
  // only the studio's modalities are trained and shipped (the pack keeps vision, text and audio)
  trainable: (_m, key) => /^modality_\w+\.(vision|audio|text)\b/.test(key),
  steps,
  lr: cosineLr(5e-4, steps, 100),
  optimizer: { clipNorm: 1, weightDecay: 0.05 },
  maxSeconds: f.num("max-seconds", Number.POSITIVE_INFINITY),
  overfit: f.has("overfit"),
  init: () =>
    initParams(ib, SEED, {
      constants: {
        "modality_postprocessors.text.1.log_logit_scale": Math.log(1 / 0.07),
        "modality_postprocessors.audio.1.log_logit_scale": Math.log(20),
        "modality_postprocessors.depth.1.log_logit_scale": Math.log(5),
        "modality_postprocessors.thermal.1.log_logit_scale": Math.log(10),
        "modality_postprocessors.imu.1.log_logit_scale": Math.log(5),
      },
    }),
  batch: (step) => {
    const idx = batchIndices(data.count, B, step, SEED);
    const rng = stepRng(SEED, step, 1);
    const nv = B - IMAGES;
    const video = new Float32Array(nv * 2 * 3 * 2 * 224 * 224);
    const image = new Float32Array(IMAGES * 3 * 224 * 224);
    idx.forEach((i, k) => {
      const frames = data.frames(i);
      if (k < nv) {
        video.set(
          videoToImageBindInput({ data: frames, numFrames: FRAMES, height: H, width: W, fps }, 2),
          (k * video.length) / nv,
        );
      } else {
        const fi = rng.int(FRAMES);
        const img = { data: frames.subarray(fi * FRAME, (fi + 1) * FRAME), width: W, height: H };
        image.set(imageToImageBindInput(img), (k - nv) * 3 * 224 * 224);
      }
    });
    const audio = tf.tidy(() =>
      tf.concat(
        idx.map((i) => audioToImageBindInput(frozen, tf.tensor2d(data.wave(i), [1, data.wave(i).length]), 2)),
        0,
      ),
    );
    const ids = new Int32Array(B * 77);
    idx.forEach((i, k) => {
      ids.set(tokenizer.encodeForImageBind(trainingPrompt(data.meta[i], rng, 0)), k * 77);
    });
    return { video, image, audio, ids };
  },
  loss: (ops, b) => {
    const nv = B - IMAGES;
    const ev = ib.embed(ops, "vision", tf.tensor(b.video, [nv, 2, 3, 2, 224, 224]));
    const ei = ib.embed(ops, "vision", tf.tensor4d(b.image, [IMAGES, 3, 224, 224]));
    const vis = tf.concat([ev, ei], 0);
    const aud = ib.embed(ops, "audio", b.audio);
    const txt = ib.embed(ops, "text", tf.tensor2d(b.ids, [B, 77], "int32"));
    const va = infoNce(vis, aud);
    const vt = infoNce(vis, txt);
    const at = infoNce(aud, txt);
    return { loss: tf.addN([va, vt, at]) as tf.Scalar, parts: { va, vt, at } };
  },
});
