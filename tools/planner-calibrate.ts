/**
 * node tools/run.mjs tools/planner-calibrate.ts [wasm|cpu]
 *
 * Measures the tfjs executor's peak memory (tf.profile) for each call the memory planner traces, forward and
 * forward + backward, on the default pack's components at two sizes, and prints it next to the traced
 * intermediates: the ratios are `TFJS_CALIBRATION` in src/engine/packs/planner-calls.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { AutoencoderKL } from "../src/engine/models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "../src/engine/models/diffusers/unet_2d_condition.js";
import type { SpeechT5HifiGan } from "../src/engine/models/hifigan/model.js";
import type { ImageBindModel } from "../src/engine/models/imagebind/model.js";
import { TfjsOps, valueAndGrads } from "../src/engine/ops/tfjs.js";
import { loadPackModels } from "../src/engine/packs/loader.js";
import { MemoryPlanner } from "../src/engine/packs/planner.js";
import type { CallId, CallShapes } from "../src/engine/packs/planner-calls.js";
import type { Role } from "../src/engine/packs/planner-phases.js";
import { folderPack } from "../src/engine/packs/sink-node.js";
import { resolveBackend } from "../test/support/tfjs-backend.js";

const backend = process.argv[2] ?? "wasm";
if (backend === "wasm") await resolveBackend("wasm");
else await import("@tensorflow/tfjs-backend-cpu");
await tf.setBackend(backend);
tf.env().set("PROD", true);
const pack = await folderPack("public/models/default");
const p = new MemoryPlanner(pack.manifest);
const models = await loadPackModels(pack, {
  components: ["audioldm/vae", "audioldm/vocoder", "imagebind/imagebind", "audioldm/unet"],
});
const vae = models.audioldm.vae.module as AutoencoderKL;
const voc = models.audioldm.vocoder.module as SpeechT5HifiGan;
const ib = models.imagebind.imagebind.module as ImageBindModel;
const unet = models.audioldm.unet.module as UNet2DConditionModel;
type Case = {
  name: string;
  call: CallId;
  roles: Role[];
  shapes: CallShapes;
  inputs: number[][];
  f: (ops: TfjsOps, xs: tf.Tensor[]) => tf.Tensor;
  grad: boolean;
};
const cases: Case[] = [];
for (const h of [8, 32]) {
  cases.push({
    name: `vae ${h}`,
    call: "vae-decode",
    roles: ["audio.vae"],
    shapes: { batch: 1, latent: [8, h, 16] },
    inputs: [[1, 8, h, 16]],
    f: (ops, [z]) => vae.decode(ops, z),
    grad: true,
  });
  cases.push({
    name: `vocoder ${h * 4}`,
    call: "vocoder",
    roles: ["audio.vocoder"],
    shapes: { batch: 1, latent: [8, h * 4, 16] },
    inputs: [[1, h * 4, 64]],
    f: (ops, [m]) => voc.forward(ops, m),
    grad: true,
  });
  cases.push({
    name: `audio-decode ${h}`,
    call: "audio-decode",
    roles: ["audio.vae", "audio.vocoder"],
    shapes: { batch: 1, latent: [8, h, 16] },
    inputs: [[1, 8, h, 16]],
    f: (ops, [z]) => {
      const mel = vae.decode(ops, z);
      const [n, , t, m] = mel.shape;
      return voc.forward(ops, tf.reshape(mel, [n, t, m]));
    },
    grad: true,
  });
  cases.push({
    name: `unet ${h}`,
    call: "unet",
    roles: ["audio.unet"],
    shapes: { batch: 1, latent: [8, h, 16] },
    inputs: [
      [1, 8, h, 16],
      [1, 64],
    ],
    f: (ops, [s, c]) => unet.forward(ops, s, tf.tensor([10], [1], "int32"), { classLabels: c }),
    grad: true,
  });
}
for (const clips of [1, 3])
  cases.push({
    name: `ib audio ${clips}`,
    call: "imagebind-audio",
    roles: ["imagebind"],
    shapes: { batch: 1, clips },
    inputs: [[1, clips, 1, 128, 204]],
    f: (ops, [x]) => ib.forward(ops, "audio", x).embedding,
    grad: true,
  });
for (const c of cases) {
  for (const grad of [false, true]) {
    const ops = new TfjsOps();
    const xs = c.inputs.map((s) => tf.randomNormal(s));
    // upload weights first so the peak measures activations only
    tf.tidy(() => {
      c.f(ops, xs);
    });
    const before = tf.memory().numBytes;
    const prof = await tf.profile(() => {
      if (!grad) return c.f(ops, xs);
      const r = valueAndGrads((...vs) => tf.sum(c.f(ops, vs)), xs);
      return [r.value, ...r.grads];
    });
    const pr = p.profile(c.call, c.roles, c.shapes);
    const measured = prof.peakBytes - before;
    // the factors scale the checkpoint-aware tape: a checkpointed segment frees its intermediates in a forward
    // too, so the same trace predicts both (ratios stay within a few % across sizes)
    const est = pr.tape;
    console.log(
      `${c.name.padEnd(14)} ${grad ? "grad" : "fwd "} measured ${(measured / 2 ** 20).toFixed(2).padStart(8)} MB  retained ${(pr.retained / 2 ** 20).toFixed(2).padStart(8)} tape ${(pr.tape / 2 ** 20).toFixed(2).padStart(8)} peakLive ${(pr.peakLive / 2 ** 20).toFixed(2).padStart(8)} largest ${(pr.largest / 2 ** 20).toFixed(2)}  ratio ${(measured / est).toFixed(2)}`,
    );
    ops.dispose();
    tf.dispose(xs);
  }
}
