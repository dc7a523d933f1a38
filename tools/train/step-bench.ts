/**
 * Step-time benchmark of every training job's model at its training batch (fwd + bwd + AdamW), to size the
 * full run: node tools/run.mjs tools/train/step-bench.ts [--only name] [--iters 3]
 *
 * Reports wall seconds and CPU seconds (process.cpuUsage: user + system, so a loaded machine does not inflate
 * it) per step, split into forward only, forward + backward, and the AdamW update.
 */
import { ClapTextModelWithProjection } from "../../src/engine/models/clap/model.js";
import { CLIPTextModel } from "../../src/engine/models/clip/model.js";
import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { UNetMotionModel } from "../../src/engine/models/diffusers/unet_motion_model.js";
import { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import { ImageBindModel } from "../../src/engine/models/imagebind/model.js";
import { namedParams } from "../../src/engine/ops/param.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import {
  TRAINED_AUDIOLDM,
  TRAINED_IMAGEBIND,
  TRAINED_MOTION_ADAPTER,
  TRAINED_STABLE_DIFFUSION,
} from "./configs.js";
import { AdamW } from "./lib/adamw.js";
import { flags, startTraining } from "./lib/env.js";
import { melTf } from "./lib/mel.js";
import { countParams, initParams, nameForTraining } from "./lib/params.js";

const f = flags();
const backend = await startTraining();
console.log(`tfjs-${backend}`);
const only = f.str("only", "");
const iters = f.num("iters", 3);
const rn = (s: number[]) => tf.randomNormal(s);

async function bench(name: string, model: object, loss: (ops: TfjsOps) => tf.Scalar) {
  if (only && !name.includes(only)) return;
  initParams(model, 1);
  nameForTraining({ [name]: model });
  const ops = new TfjsOps({ trainable: true });
  const vars = new Map<string, tf.Variable>();
  for (const [, p] of namedParams(model)) {
    const t = ops.param(p);
    if (t instanceof tf.Variable && !p.buffer) vars.set(p.name, t);
  }
  const opt = new AdamW();
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const tot = { wall: 0, cpu: 0, fwd: 0, fwdCpu: 0, bwdCpu: 0, optCpu: 0 };
  for (let i = 0; i <= iters; i++) {
    const t0 = performance.now();
    const c0 = cpu();
    const fv = tf.tidy(() => loss(ops));
    await fv.data();
    fv.dispose();
    const c1 = cpu();
    const t1 = performance.now();
    const { value, grads } = tf.variableGrads(() => loss(ops), [...vars.values()]);
    await value.data();
    const c2 = cpu();
    opt.apply(vars, grads, 1e-4);
    tf.dispose([value, ...Object.values(grads)]);
    const c3 = cpu();
    if (i > 0) {
      tot.fwd += (t1 - t0) / 1000;
      tot.fwdCpu += c1 - c0;
      tot.wall += (performance.now() - t1) / 1000;
      tot.cpu += c3 - c1;
      tot.bwdCpu += c2 - c1;
      tot.optCpu += c3 - c2;
    }
  }
  const n = iters;
  console.log(
    `${name}: ${(countParams(model) / 1e6).toFixed(2)} M params, step ${(tot.wall / n).toFixed(2)} s (${(tot.cpu / n).toFixed(2)} CPU-s: fwd+bwd ${(tot.bwdCpu / n).toFixed(2)}, AdamW ${(tot.optCpu / n).toFixed(2)}); forward alone ${(tot.fwd / n).toFixed(2)} s (${(tot.fwdCpu / n).toFixed(2)} CPU-s), ${tf.memory().numTensors} tensors`,
  );
  opt.dispose();
  ops.dispose();
}

const A = TRAINED_AUDIOLDM;
const S = TRAINED_STABLE_DIFFUSION;
{
  const vae = new AutoencoderKL(A.vae);
  const x = rn([4, 1, 64, 64]);
  await bench("audioldm-vae b4 64x64", vae, (ops) => {
    const p = vae.encode(ops, x);
    const z = ops.add(p.mean, ops.mul(p.std, rn(ops.shape(p.mean))));
    return tf.mean(tf.abs(tf.sub(vae.decode(ops, z), x))) as tf.Scalar;
  });
}
{
  const voc = new SpeechT5HifiGan(A.vocoder);
  const mel = rn([4, 32, 64]);
  await bench("hifigan b4 32fr", voc, (ops) => {
    const wav = voc.forward(ops, mel) as tf.Tensor2D;
    const m = melTf(tf.slice(wav, [0, 0], [4, 5120]) as tf.Tensor2D);
    return tf.mean(tf.abs(tf.sub(m, tf.slice(mel, [0, 0, 0], [4, m.shape[1], 64])))) as tf.Scalar;
  });
}
{
  const unet = new UNet2DConditionModel(A.unet);
  const x = rn([8, 8, 50, 16]);
  const y = rn([8, 64]);
  await bench("audioldm-unet b8", unet, (ops) => {
    const e = unet.forward(ops, x, tf.tensor([500], [1]), { classLabels: y });
    return tf.mean(tf.square(tf.sub(e, x))) as tf.Scalar;
  });
}
{
  const clap = new ClapTextModelWithProjection({ ...A.text_encoder, vocab_size: 453 });
  const ids = tf.tensor2d(
    Array.from({ length: 16 * 16 }, (_, i) => 3 + (i % 400)),
    [16, 16],
    "int32",
  );
  await bench(
    "clap-text b16 L16",
    clap,
    (ops) => tf.mean(tf.square(clap.forward(ops, { input_ids: ids }).text_embeds_normalized)) as tf.Scalar,
  );
}
{
  // the job's batch of 16: 12 videos of 2 clips × 2 frames, 4 images, 16 × 2 audio clips, 16 captions
  const ib = new ImageBindModel(TRAINED_IMAGEBIND);
  const v = rn([12, 2, 3, 2, 224, 224]);
  const im = rn([4, 3, 224, 224]);
  const a = rn([16, 2, 1, 128, 204]);
  const ids = tf.tensor2d(
    Array.from({ length: 16 * 77 }, (_, i) => (i % 77 === 10 ? 49407 : i % 77 < 10 ? 300 + i : 0)),
    [16, 77],
    "int32",
  );
  await bench("imagebind b16 (12 videos x2 clips + 4 images)", ib, (ops) => {
    const ev = tf.concat([ib.embed(ops, "vision", v), ib.embed(ops, "vision", im)], 0);
    const ea = ib.embed(ops, "audio", a);
    const et = ib.embed(ops, "text", ids);
    return tf.mean(tf.add(tf.add(tf.mul(ev, ea), tf.mul(ea, et)), tf.mul(ev, et))) as tf.Scalar;
  });
}
{
  const vae = new AutoencoderKL(S.vae);
  const x = rn([4, 3, 64, 64]);
  await bench("sd-vae b4 64x64", vae, (ops) => {
    const p = vae.encode(ops, x);
    return tf.mean(tf.abs(tf.sub(vae.decode(ops, p.mean), x))) as tf.Scalar;
  });
}
{
  const clip = new CLIPTextModel(S.text_encoder);
  const unet = new UNet2DConditionModel(S.unet);
  const x = rn([16, 4, 8, 8]);
  const ctx = rn([16, 77, 32]);
  await bench("sd-unet b16 8x8", unet, (ops) => {
    const e = unet.forward(ops, x, tf.tensor([500], [1]), { encoderHiddenStates: ctx });
    return tf.mean(tf.square(tf.sub(e, x))) as tf.Scalar;
  });
  const ids = tf.tensor2d(
    Array.from({ length: 16 * 77 }, (_, i) => (i % 77 === 10 ? 49407 : i % 77 < 10 ? 300 + i : 0)),
    [16, 77],
    "int32",
  );
  await bench(
    "clip-text b16",
    clip,
    (ops) => tf.mean(tf.square(clip.forward(ops, { input_ids: ids }).last_hidden_state)) as tf.Scalar,
  );
}
{
  const unet = new UNetMotionModel(S.unet, TRAINED_MOTION_ADAPTER);
  const x = rn([2, 4, 16, 8, 8]);
  const ctx = rn([2, 77, 32]);
  await bench("unet-motion b2x16", unet, (ops) => {
    const e = unet.forward(ops, x, tf.tensor([500], [1]), { encoderHiddenStates: ctx });
    return tf.mean(tf.square(tf.sub(e, x))) as tf.Scalar;
  });
}
