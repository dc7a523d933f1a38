/**
 * The ImageBind training job (tools/train/imagebind.ts runs it; tests and benches build it small): a small
 * ImageBind (ImageBindModel: vision / audio / text towers with upstream's preprocessors, trunks, heads and
 * postprocessors) trained contrastively on world clips.
 *
 * Each sample is embedded as the pipelines embed it: the video as ImageBind's 2 clips of 1 s, 2 frames each,
 * resized to 224 and normalised by `sampledFramesToImageBindInput` INSIDE the loss (the engine's differentiable
 * video path: two matmuls with the composed resize matrices of `videoToImageBindInput`, equal to it up to float32
 * rounding), so a batch carries 64×64 frames rather than 224×224 clips; a quarter of the samples instead use one
 * random frame as an image through `imageToImageBindInput` (so I2A conditions are in-distribution); the audio
 * through `audioToImageBindInput` (Kaldi fbank of 2 × 1-s clips; a pure function of the clip, memoised per clip);
 * the text through the CLIP BPE (full, key-frame or listener caption).
 * Loss: symmetric InfoNCE (τ = 0.07) over the batch for the vision–audio, vision–text and audio–text pairs
 * (upstream ImageBind binds each modality to images with a frozen CLIP; with no pretrained towers here all
 * three pairs are learned jointly).
 *
 * The batch is host tensors and the loss is written once against `Ops`, so the same job trains on tfjs or as one
 * ONNX Runtime graph (trainer.ts `executor`).
 */
import { ImageBindModel } from "../../../src/engine/models/imagebind/model.js";
import type { Ops } from "../../../src/engine/ops/ops.js";
import { TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { audioToImageBindInput } from "../../../src/engine/preprocess/audio/imagebind_audio.js";
import type { ClipTokenizer } from "../../../src/engine/preprocess/tokenizers/clip.js";
import { imageToImageBindInput } from "../../../src/engine/preprocess/video/imagebind_image.js";
import {
  imagebindFrameIndices,
  sampledFramesToImageBindInput,
} from "../../../src/engine/preprocess/video/imagebind_video.js";
import { WORLD } from "../../../src/engine/world/spec.js";
import { batchIndices, FRAMES, stepRng, type WorldDataset } from "./data.js";
import { trainingPrompt } from "./diffusion.js";
import { infoNce } from "./losses.js";
import { initParams } from "./params.js";
import { cosineLr, type HostBatch, type TrainJob } from "./trainer.js";

export const IMAGEBIND_SEED = 21;
const TAU = 0.07;

export interface ImageBindJobOptions {
  dir: string;
  steps: number;
  batch: number;
  data: WorldDataset;
  tokenizer: ClipTokenizer;
  config: ConstructorParameters<typeof ImageBindModel>[0];
  maxSeconds?: number;
  overfit?: boolean;
  executor?: TrainJob<HostBatch>["executor"];
}

/** The job's loss on host inputs video/image/audio/ids, written once against `Ops`. */
export function imagebindLoss<T>(ib: ImageBindModel, ops: Ops<T>, x: Readonly<Record<string, T>>) {
  // frames [V·2 clips·2, 3, H, W] in [0, 1] → [V, 2, 3, 2, 224, 224]
  const [nf] = ops.shape(x.frames);
  const clips = sampledFramesToImageBindInput(ops, x.frames, nf / 2);
  const ev = ib.embed(ops, "vision", ops.reshape(clips, [nf / 4, 2, ...ops.shape(clips).slice(2)]));
  const vis = x.image ? ops.concat([ev, ib.embed(ops, "vision", x.image)], 0) : ev;
  const aud = ib.embed(ops, "audio", x.audio);
  const txt = ib.embed(ops, "text", x.ids);
  const va = infoNce(ops, vis, aud, TAU);
  const vt = infoNce(ops, vis, txt, TAU);
  const at = infoNce(ops, aud, txt, TAU);
  return { loss: ops.add(ops.add(va, vt), at), parts: { va, vt, at } };
}

export function imagebindJob(o: ImageBindJobOptions): {
  job: TrainJob<HostBatch>;
  model: ImageBindModel;
} {
  const B = o.batch;
  const IMAGES = Math.floor(B / 4);
  const nv = B - IMAGES;
  const { data, tokenizer } = o;
  const ib = new ImageBindModel(o.config);
  const frozen = new TfjsOps();
  const { width: W, height: H, fps } = WORLD;
  const FRAME = W * H * 3;
  const th = 224;
  const tw = 224;

  const frameIdx = imagebindFrameIndices(FRAMES, fps, 2); // 2 clips × 2 frames, as videoToImageBindInput reads
  const PLANE = H * W;
  /** Clip i's ImageBind audio input [2, 1, 128, 204] (deterministic: memoised). */
  const audioMemo = new Map<number, Float32Array>();
  const audioOf = (i: number): Float32Array => {
    let a = audioMemo.get(i);
    if (!a) {
      const t = tf.tidy(() =>
        audioToImageBindInput(frozen, tf.tensor2d(data.wave(i), [1, data.wave(i).length]), 2),
      );
      a = t.dataSync() as Float32Array;
      t.dispose();
      audioMemo.set(i, a);
    }
    return a;
  };

  const batch = (step: number): HostBatch => {
    const idx = batchIndices(data.count, B, step, IMAGEBIND_SEED);
    const rng = stepRng(IMAGEBIND_SEED, step, 1);
    const nf = frameIdx.length;
    const frames = new Float32Array(nv * nf * 3 * PLANE);
    const image = new Float32Array(IMAGES * 3 * th * tw);
    const f32 = Math.fround;
    idx.forEach((i, k) => {
      const clip = data.frames(i);
      if (k < nv) {
        // planar RGB in [0, 1] (float32 division, as videoToImageBindInput)
        frameIdx.forEach((fi, j) => {
          const dst = (k * nf + j) * 3 * PLANE;
          const src = fi * FRAME;
          for (let p = 0; p < PLANE; p++)
            for (let c = 0; c < 3; c++) frames[dst + c * PLANE + p] = f32(clip[src + 3 * p + c] / 255);
        });
      } else {
        const fi = rng.int(FRAMES);
        const img = { data: clip.subarray(fi * FRAME, (fi + 1) * FRAME), width: W, height: H };
        image.set(imageToImageBindInput(img), (k - nv) * 3 * th * tw);
      }
    });
    const aLen = audioOf(idx[0]).length;
    const audio = new Float32Array(B * aLen);
    idx.forEach((i, k) => {
      audio.set(audioOf(i), k * aLen);
    });
    const ids = new Int32Array(B * 77);
    idx.forEach((i, k) => {
      ids.set(tokenizer.encodeForImageBind(trainingPrompt(data.meta[i], rng, 0)), k * 77);
    });
    const out: HostBatch = {
      frames: { data: frames, shape: [nv * nf, 3, H, W] },
      audio: { data: audio, shape: [B, 2, 1, 128, aLen / (2 * 128)] },
      ids: { data: ids, shape: [B, 77] },
    };
    if (IMAGES) out.image = { data: image, shape: [IMAGES, 3, th, tw] };
    return out;
  };

  const job: TrainJob<HostBatch> = {
    name: "imagebind",
    dir: o.dir,
    models: { imagebind: ib },
    // only the studio's modalities are trained and shipped (the pack keeps vision, text and audio)
    trainable: (_m, key) => /^modality_\w+\.(vision|audio|text)\b/.test(key),
    steps: o.steps,
    lr: cosineLr(5e-4, o.steps, 100),
    optimizer: { clipNorm: 1, weightDecay: 0.05 },
    maxSeconds: o.maxSeconds,
    overfit: o.overfit,
    executor: o.executor,
    init: () =>
      initParams(ib, IMAGEBIND_SEED, {
        constants: {
          "modality_postprocessors.text.1.log_logit_scale": Math.log(1 / 0.07),
          "modality_postprocessors.audio.1.log_logit_scale": Math.log(20),
          "modality_postprocessors.depth.1.log_logit_scale": Math.log(5),
          "modality_postprocessors.thermal.1.log_logit_scale": Math.log(10),
          "modality_postprocessors.imu.1.log_logit_scale": Math.log(5),
        },
      }),
    batch,
    graphLoss: (ops, x) => imagebindLoss(ib, ops, x),
  };
  return { job, model: ib };
}
