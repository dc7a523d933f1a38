/**
 * guidance_guided / guidance_warmup: one iteration of the official V2A loop (bind_forward_double_loss) run by
 * the studio's own loop code — `denoiseStep` with `predictNoiseCfg` (CFG), the DDIM scheduler, and the aligner
 * hook (`makeAligner` + `audioEmbed`: VAE decoder → vocoder → fbank clips → ImageBind audio → dual loss →
 * fresh Adam) — with the small fake UNet the fixture describes. Twice: the aligner's loss and gradient on tfjs,
 * then on onnxruntime through the emitted backward (aligner/onnx_guidance.ts); taps exist only on tfjs.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { makeAligner, onTfjs } from "../../../src/engine/aligner/hook.js";
import { OnnxGuidance } from "../../../src/engine/aligner/onnx_guidance.js";
import { AutoencoderKL } from "../../../src/engine/models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "../../../src/engine/models/diffusers/unet_2d_condition.js";
import { SpeechT5HifiGan } from "../../../src/engine/models/hifigan/model.js";
import type { ImageBindConfig } from "../../../src/engine/models/imagebind/config.js";
import { ImageBindModel } from "../../../src/engine/models/imagebind/model.js";
import { nameParams, Param } from "../../../src/engine/ops/param.js";
import { forwardRunner } from "../../../src/engine/ops/runner.js";
import { TfjsOps } from "../../../src/engine/ops/tfjs.js";
import { audioEmbed } from "../../../src/engine/pipelines/audio_embed.js";
import { type AudioLDMModels, predictNoiseCfg } from "../../../src/engine/pipelines/audioldm.js";
import { denoiseStep } from "../../../src/engine/pipelines/denoise.js";
import { DDIMScheduler, isGuidedStep } from "../../../src/engine/schedulers/ddim.js";
import { SafetensorsFile } from "../../../src/engine/weights/safetensors.js";
import type { Fixture } from "../../support/golden.js";
import { withTfjsBackend } from "../../support/tfjs-backend.js";
import { loadFixtureWeights } from "../../support/weights.js";
import { compare, fixtureInput, type ParityEnv, type ParityRow, type ParityRunner } from "../harness.js";

interface GuidanceMeta {
  step_index_i: number;
  t: number;
  guided: boolean;
  weights_file: string;
  configs: {
    imagebind: Partial<ImageBindConfig>;
    vae: Record<string, unknown>;
    vocoder: Record<string, unknown>;
    scheduler: Record<string, unknown>;
    num_inference_steps: number;
    guidance_scale: number;
    learning_rate: number;
    num_optimization_steps: number;
    optimization_starting_point: number;
    clips_per_video: number;
  };
}

/** The fixture's FakeUNet: conv3x3(z)·(1 + t/1000) + (class_labels Wᵀ)[:, :, None, None]. */
class FakeUNet {
  readonly conv = { weight: new Param([8, 8, 3, 3]), bias: new Param([8]) };
  readonly proj: { weight: Param };
  constructor(clapDim: number) {
    this.proj = { weight: new Param([8, clapDim]) };
    nameParams(this);
  }
}

export const guidanceRunner: ParityRunner = {
  family: "guidance",
  supports: (name) => name === "guidance_guided" || name === "guidance_warmup",
  run: (fx: Fixture, env: ParityEnv) =>
    withTfjsBackend("wasm", async () => [...(await runGuidance(fx, null)), ...(await runGuidance(fx, env))]),
};

/** One fixture step with the aligner's gradient on tfjs (`env` null) or on ONNX Runtime (OnnxGuidance). */
async function runGuidance(fx: Fixture, env: ParityEnv | null): Promise<ParityRow[]> {
  const meta = fx.meta as unknown as GuidanceMeta;
  const cfg = meta.configs;
  const wpath = join(fx.dir, meta.weights_file);
  if (!existsSync(wpath)) throw new Error(`${fx.name}: weights file ${meta.weights_file} not found`);
  const weights = new SafetensorsFile(new Uint8Array(readFileSync(wpath)), wpath);

  const prompt = fixtureInput(fx, "in.prompt_embeds");
  const fake = new FakeUNet(prompt.shape[1]);
  loadFixtureWeights(fake, weights, { stripPrefix: "unet.", only: ["conv.", "proj."] });
  const vae = new AutoencoderKL(cfg.vae);
  loadFixtureWeights(vae, weights, {
    stripPrefix: "vae.",
    only: ["encoder.", "decoder.", "quant_conv.", "post_quant_conv."],
  });
  const vocoder = new SpeechT5HifiGan(cfg.vocoder);
  loadFixtureWeights(vocoder, weights, {
    stripPrefix: "vocoder.",
    only: ["conv_pre.", "upsampler.", "resblocks.", "conv_post.", "mean", "scale"],
  });
  const models = {
    unet: { config: { in_channels: 8 } } as unknown as UNet2DConditionModel,
    vae,
    vocoder,
  } satisfies AudioLDMModels;

  const latents = fixtureInput(fx, "in.latents");
  const t = fx.io!.get("in.t")[0];
  const unet = forwardRunner(
    "fake-unet",
    (ops, xs) => {
      const conv = ops.conv(xs.sample, ops.param(fake.conv.weight), ops.param(fake.conv.bias), {
        padding: 1,
      });
      const scaled = ops.mul(conv, ops.add(ops.div(xs.timestep, 1000), 1));
      const cls = ops.linear(xs.class_labels, fake.proj.weight, null);
      return { eps: ops.add(scaled, ops.reshape(cls, [...ops.shape(cls), 1, 1])) };
    },
    { kind: "tfjs" },
  );
  const scheduler = new DDIMScheduler(cfg.scheduler);
  scheduler.setTimesteps(cfg.num_inference_steps);
  const i = meta.step_index_i;
  if (scheduler.timesteps[i] !== t)
    throw new Error(`${fx.name}: timestep ${scheduler.timesteps[i]} at i=${i}, fixture has ${t}`);

  const results: Record<string, Float32Array> = {};
  const ops = new TfjsOps();
  let align: Parameters<typeof denoiseStep>[0]["align"];
  let onnx: OnnxGuidance | null = null;
  if (fx.io!.has("in.video_input")) {
    const imagebind = new ImageBindModel(cfg.imagebind);
    const only = ["vision", "audio", "text"].flatMap((m) => [
      `modality_preprocessors.${m}.`,
      `modality_trunks.${m}.`,
      `modality_heads.${m}.`,
      `modality_postprocessors.${m}.`,
    ]);
    loadFixtureWeights(imagebind, weights, { stripPrefix: "bind_model.", only });
    // Conditions, once per job (SPEC §3.5: vision/text embeddings are constant inside the loop).
    const video = fixtureInput(fx, "in.video_input");
    const tokens = fixtureInput(fx, "in.text_tokens");
    const eVision = tf.tidy(() => imagebind.embed(ops, "vision", tf.tensor(video.data, [...video.shape])));
    const eText = tf.tidy(() =>
      imagebind.embed(ops, "text", tf.tensor(tokens.data, [...tokens.shape], "int32")),
    );
    results["out.e_vision"] = Float32Array.from(await eVision.data());
    results["out.e_text"] = Float32Array.from(await eText.data());
    eVision.dispose();
    eText.dispose();
    const embed = audioEmbed(models, imagebind, cfg.clips_per_video);
    onnx = env ? new OnnxGuidance("guidance-parity", embed, { kind: "onnx", ort: env.ort }) : null;
    align = makeAligner({
      ops,
      embed: onTfjs(ops, embed),
      onnx,
      targets: [
        { name: "text-audio", embedding: results["out.e_text"], weight: 1 },
        { name: "vision-audio", embedding: results["out.e_vision"], weight: 1 },
      ],
      optimizer: { kind: "adam", lr: cfg.learning_rate },
      iterations: cfg.num_optimization_steps,
      latentShape: latents.shape,
      onTaps: (taps) => {
        const named: Record<string, Float32Array | undefined> = {
          "out.x0": taps.x0,
          "out.mel": taps.mel,
          "out.waveform": taps.waveform,
          "out.audio_input": taps.audio_input,
          "out.e_audio": taps.embedding,
          "grad.latents_temp": taps.grad,
        };
        for (const [k, v] of Object.entries(named)) if (v) results[k] = v;
      },
    });
  }

  const { latent, report } = await denoiseStep(
    {
      scheduler,
      predictEps: async (z, tt) => {
        const r = await predictNoiseCfg(unet, z, latents.shape, tt, prompt, cfg.guidance_scale);
        results["out.noise_pred_uncond"] = Float32Array.from(r.uncond!);
        results["out.noise_pred_text"] = Float32Array.from(r.cond);
        results["out.noise_pred"] = r.eps;
        return r.eps;
      },
      guided: (k) => isGuidedStep(k, cfg.num_inference_steps, cfg.optimization_starting_point),
      align,
      onStep: () => {},
    },
    i,
    t,
    latents.data as Float32Array,
  );
  // the stepped latent is what the aligner received; recompute it for the comparison
  results["out.latents_step"] = scheduler.step(
    results["out.noise_pred"],
    t,
    latents.data as Float32Array,
  ).prevSample;
  results["out.latents_after"] = latent;
  if (report.guided !== meta.guided)
    throw new Error(`${fx.name}: guided=${report.guided}, fixture says ${meta.guided}`);
  if (report.terms) {
    results["out.loss_text"] = Float32Array.of(report.terms["text-audio"]);
    results["out.loss_vision"] = Float32Array.of(report.terms["vision-audio"]);
    results["out.loss"] = Float32Array.of(report.loss!);
  }
  ops.dispose();
  await unet.dispose();
  await onnx?.dispose();
  if (env && !onnx) return []; // a warm-up fixture has no aligner step: the tfjs row covers it
  return [
    {
      fixture: fx.name,
      executor: onnx ? "onnx-fp32" : "tfjs",
      checks: compare(fx, results),
      informational: false,
      note: onnx ? "aligner loss and gradient on onnxruntime (emitted backward)" : undefined,
    },
  ];
}
