/**
 * The aligner's guidance step (SPEC §3.4 d) on the tfjs executor, exactly as the pipeline runs it: makeAligner
 * (fresh Adam lr 0.1, K = 1, x0 from the post-DDIM latent with ᾱ of the current t) over the V2A embed path
 * VAE decoder → vocoder → fbank → ImageBind audio, with the vision and text targets cached (results identical to
 * recomputing them each step, SPEC §3.5). The embed path is timed piece by piece during the forward (tfjs runs
 * eagerly), so the backward is the rest of the step.
 */
import * as tf from "@tensorflow/tfjs-core";
import { makeAligner, onTfjs } from "../../src/engine/aligner/hook.js";
import { type GuidanceGraphOptions, OnnxGuidance } from "../../src/engine/aligner/onnx_guidance.js";
import type { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import type { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import type { ImageBindModel } from "../../src/engine/models/imagebind/model.js";
import type { OrtModule, SessionOptions } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import { audioEmbed } from "../../src/engine/pipelines/audio_embed.js";
import type { AudioLDMModels } from "../../src/engine/pipelines/audioldm.js";
import type { StepContext } from "../../src/engine/pipelines/denoise.js";
import { audioToImageBindInput } from "../../src/engine/preprocess/audio/imagebind_audio.js";
import { wave } from "./cases.js";
import { type Run, timed } from "./timing.js";

export interface GuidanceParts {
  ops: TfjsOps;
  vae: AutoencoderKL;
  vocoder: SpeechT5HifiGan;
  imagebind: ImageBindModel;
}

export interface GuidanceRun {
  run: Run;
  /** forward time of each piece of the embed path (ms) */
  forward: { vae: number; vocoder: number; fbank: number; imagebind: number; loss: number };
  /** the rest of the step: backward pass, gradient read-back, Adam update (ms) */
  backwardMs: number;
  /** tfjs bytes held after the step / peak during it (tf.memory; the wasm heap) */
  tfjsBytes: number;
  loss: number;
}

/** The step both executors time: official settings (fresh Adam lr 0.1, K = 1), two cached targets, one context. */
function officialStep(p: Omit<GuidanceParts, "ops">, seconds: number) {
  const shape = [1, p.vae.config.latent_channels, Math.round(seconds * 25), 16];
  const n = shape.reduce((a, b) => a * b, 1);
  const dim = p.imagebind.config.out_embed_dim;
  const latent = wave(n, 0, 1);
  const ctx: StepContext = {
    i: 7,
    t: 727,
    n: 30,
    latentIn: latent,
    latent,
    eps: wave(n, 3, 1),
    alphaBarT: 0.3,
    x0: latent,
  };
  return {
    shape,
    clips: Math.max(1, Math.round(seconds)),
    ctx,
    aligner: {
      targets: [
        { name: "text-audio", embedding: wave(dim, 1, 0.03), weight: 1 },
        { name: "vision-audio", embedding: wave(dim, 2, 0.03), weight: 1 },
      ],
      optimizer: { kind: "adam", lr: 0.1 } as const,
      iterations: 1,
      latentShape: shape,
    },
  };
}

/** One guided update of a [1, 8, 25·s, 16] latent; the latent stays the same between calls (timing only). */
export async function guidanceStep(p: GuidanceParts, seconds: number): Promise<GuidanceRun> {
  const { clips, ctx, aligner } = officialStep(p, seconds);
  const fwd = { vae: 0, vocoder: 0, fbank: 0, imagebind: 0, loss: 0 };
  let mark = 0;
  const lap = (k: keyof typeof fwd) => {
    const t = performance.now();
    fwd[k] += t - mark;
    mark = t;
  };
  const sf = p.vae.config.scaling_factor;
  const align = makeAligner({
    ...aligner,
    ops: p.ops,
    embed: (x0) => {
      mark = performance.now();
      const mel4 = p.vae.decode(p.ops, tf.div(x0, sf));
      lap("vae");
      const [b, , mh, mw] = mel4.shape;
      const wav = p.vocoder.forward(p.ops, tf.reshape(mel4, [b, mh, mw]));
      lap("vocoder");
      const input = audioToImageBindInput(p.ops, wav, clips);
      lap("fbank");
      const e = p.imagebind.embed(p.ops, "audio", input);
      lap("imagebind");
      return e;
    },
  });
  const { run, value } = await timed(() => align(ctx));
  const forward = Object.values(fwd).reduce((a, b) => a + b, 0);
  return {
    run,
    forward: fwd,
    backwardMs: run.wallMs - forward,
    tfjsBytes: tf.memory().numBytes,
    loss: value.loss,
  };
}

/**
 * The same guidance step with the loss and its gradient on onnxruntime-node: the pipeline's own embed path
 * (`audioEmbed`) traced with its backward (OnnxGuidance), and the aligner's host-side x0 / chain rule / Adam.
 * The first call builds the session (reported as `buildMs`); each later call is one step. Forward and backward
 * run as one graph, so there is no per-piece split (`forward` stays 0, `backwardMs` is the whole step).
 */
export async function guidanceStepsOrt(
  p: Omit<GuidanceParts, "ops">,
  seconds: number,
  ort: OrtModule,
  session: SessionOptions,
  repeats: number,
  graph: GuidanceGraphOptions = {},
): Promise<{ buildMs: number; runs: GuidanceRun[] }> {
  const { clips, ctx, aligner } = officialStep(p, seconds);
  const models = { vae: p.vae, vocoder: p.vocoder } as unknown as AudioLDMModels; // the embed path reads only these
  const embed = audioEmbed(models, p.imagebind, clips);
  const og = new OnnxGuidance("bench-guidance", embed, { kind: "onnx", ort, session }, graph);
  const tfOps = new TfjsOps();
  const align = makeAligner({
    ...aligner,
    ops: tfOps, // holds no weights: with `onnx` set the aligner never runs the tfjs path
    embed: onTfjs(tfOps, embed),
    onnx: og,
  });
  try {
    const first = await timed(() => align(ctx));
    const runs: GuidanceRun[] = [];
    for (let i = 0; i < repeats; i++) {
      const { run, value } = await timed(() => align(ctx));
      runs.push({
        run,
        forward: { vae: 0, vocoder: 0, fbank: 0, imagebind: 0, loss: 0 },
        backwardMs: run.wallMs,
        tfjsBytes: 0,
        loss: value.loss,
      });
    }
    return { buildMs: first.run.wallMs, runs };
  } finally {
    await og.dispose();
    tfOps.dispose();
  }
}
