/**
 * Peak RSS one ONNX Runtime guidance graph adds (OnnxGuidance defaults: recompute, no arena), measured in a fresh
 * process: a process that ran other graphs keeps freed pages and would hide the peak. For planner.test.ts.
 *
 *   node tools/run.mjs test/support/ort-guidance-peak.ts <seconds>   → {"peakBytes": …}
 */
import * as ortNode from "onnxruntime-node";
import { procMem, resetPeak } from "../../bench/lib/measure.js";
import { OnnxGuidance } from "../../src/engine/aligner/onnx_guidance.js";
import type { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import type { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import type { ImageBindModel } from "../../src/engine/models/imagebind/model.js";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { loadPackModels } from "../../src/engine/packs/loader.js";
import { folderPack } from "../../src/engine/packs/sink-node.js";
import { audioEmbed } from "../../src/engine/pipelines/audio_embed.js";
import type { AudioLDMModels } from "../../src/engine/pipelines/audioldm.js";
import { repoRoot } from "./golden.js";
import { randn } from "./naive.js";

const seconds = Number(process.argv[2]);
const pack = await folderPack(`${repoRoot}/public/models/default`);
const models = await loadPackModels(pack, {
  components: ["audioldm/vae", "audioldm/vocoder", "imagebind/imagebind"],
});
const m = {
  vae: models.audioldm.vae.module as AutoencoderKL,
  vocoder: models.audioldm.vocoder.module as SpeechT5HifiGan,
} as AudioLDMModels;
const ib = models.imagebind.imagebind.module as ImageBindModel;
const latent = [1, m.vae.config.latent_channels, seconds * 25, 16];
const before = procMem().rss;
resetPeak();
const og = new OnnxGuidance("peak", audioEmbed(m, ib, seconds), {
  kind: "onnx",
  ort: ortNode as unknown as OrtModule,
});
await og.lossAndGrad(
  randn(
    latent.reduce((a, b) => a * b, 1),
    5,
  ),
  latent,
  [{ name: "t", embedding: randn(ib.config.out_embed_dim, 6), weight: 1 }],
);
console.log(JSON.stringify({ peakBytes: procMem().peak - before }));
await og.dispose();
