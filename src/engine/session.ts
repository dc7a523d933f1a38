/**
 * From a model pack to ready-to-run task engines: loads the components a task needs (verified weights through
 * packs/loader), builds the tokenizers from the pack's files and the scheduler from its config. The same code
 * runs in a worker (onnxruntime-web + tfjs-webgpu) and in Node (onnxruntime-node + tfjs-wasm/cpu).
 */
import { ModelPackError } from "./errors.js";
import type { ClapTextModelWithProjection } from "./models/clap/model.js";
import type { CLIPTextModel } from "./models/clip/model.js";
import type { AutoencoderKL } from "./models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "./models/diffusers/unet_2d_condition.js";
import { type MotionAdapter, UNetMotionModel } from "./models/diffusers/unet_motion_model.js";
import type { SpeechT5HifiGan } from "./models/hifigan/model.js";
import type { ImageBindModel } from "./models/imagebind/model.js";
import { namedParams } from "./ops/param.js";
import { type LoadComponentOptions, loadPackModels, type PackSource } from "./packs/loader.js";
import { AudioTaskEngine, type EngineExecutors } from "./pipelines/audio_engine.js";
import type { JointEngine } from "./pipelines/joint.js";
import { type VideoEngineParts, VideoTaskEngine } from "./pipelines/video_engine.js";
import { ClipTokenizer } from "./preprocess/tokenizers/clip.js";
import { gunzip } from "./preprocess/tokenizers/load.js";
import { RobertaTokenizer } from "./preprocess/tokenizers/roberta.js";
import type { DDIMSchedulerConfig } from "./schedulers/ddim.js";
import { readAll } from "./weights/source.js";

async function packText(pack: PackSource, path: string): Promise<string> {
  const src = await pack.open(path);
  let bytes: Uint8Array;
  try {
    bytes = await readAll(src, 64 * 1024 * 1024);
  } finally {
    await (src as { close?: () => Promise<void> }).close?.();
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes);
  return new TextDecoder("utf-8").decode(bytes);
}

function modelEntry(pack: PackSource, id: string) {
  const m = pack.manifest.models[id];
  if (!m)
    throw new ModelPackError(
      `pack "${pack.id}" has no "${id}" model (it has: ${Object.keys(pack.manifest.models).join(", ")})`,
      { pack: pack.id },
    );
  return m;
}

/** The ImageBind BPE tokenizer shipped with the pack's imagebind model. */
export async function packClipBpe(pack: PackSource, modelId = "imagebind"): Promise<ClipTokenizer> {
  const t = modelEntry(pack, modelId).tokenizers;
  const bpe = Object.values(t).find((x) => x.kind === "clip-bpe");
  if (!bpe)
    throw new ModelPackError(`pack "${pack.id}": model "${modelId}" ships no CLIP BPE vocabulary`, {
      pack: pack.id,
    });
  return new ClipTokenizer(await packText(pack, bpe.files.bpe));
}

export async function packRobertaTokenizer(pack: PackSource, modelId: string): Promise<RobertaTokenizer> {
  const t = Object.values(modelEntry(pack, modelId).tokenizers).find((x) => x.kind === "roberta-bpe");
  if (!t)
    throw new ModelPackError(`pack "${pack.id}": model "${modelId}" ships no RoBERTa tokenizer`, {
      pack: pack.id,
    });
  const cfg = t.files.config
    ? (JSON.parse(await packText(pack, t.files.config)) as { model_max_length?: number })
    : {};
  const [vocab, merges] = await Promise.all([packText(pack, t.files.vocab), packText(pack, t.files.merges)]);
  return new RobertaTokenizer(
    vocab,
    merges,
    cfg.model_max_length ? { modelMaxLength: cfg.model_max_length } : {},
  );
}

export function packScheduler(pack: PackSource, modelId: string): Partial<DDIMSchedulerConfig> {
  const s = modelEntry(pack, modelId).scheduler;
  if (!s)
    throw new ModelPackError(`pack "${pack.id}": model "${modelId}" has no scheduler config`, {
      pack: pack.id,
    });
  // Any diffusers scheduler config carries the keys DDIM reads (betas, offsets): DDIMScheduler.from_config(…)
  return s.config as Partial<DDIMSchedulerConfig>;
}

export interface OpenEngineOptions extends LoadComponentOptions {
  audioModel?: string;
  imagebindModel?: string;
  /** Stable Diffusion model of the video tasks (unet, vae, text_encoder, HF CLIP tokenizer). */
  videoModel?: string;
  /** The AnimateDiff motion adapter. */
  motionModel?: string;
}

/** SD's HF CLIP tokenizer (`clip-hf`: vocab.json + merges.txt) shipped with `modelId`. */
export async function packClipHf(pack: PackSource, modelId: string): Promise<ClipTokenizer> {
  const t = Object.values(modelEntry(pack, modelId).tokenizers).find((x) => x.kind === "clip-hf");
  if (!t)
    throw new ModelPackError(`pack "${pack.id}": model "${modelId}" ships no CLIP (HF) tokenizer`, {
      pack: pack.id,
    });
  const [vocab, merges] = await Promise.all([packText(pack, t.files.vocab), packText(pack, t.files.merges)]);
  return ClipTokenizer.fromHfFiles(JSON.parse(vocab) as Record<string, number>, merges);
}

/**
 * AnimateDiff's denoiser from two pack components (diffusers `UNetMotionModel.from_unet2d` + `load_motion_modules`):
 * the SD UNet's and the adapter's parameters, matched by key (the weights are shared, not copied).
 */
export function assembleMotionUnet(unet: UNet2DConditionModel, adapter: MotionAdapter): UNetMotionModel {
  const model = new UNetMotionModel(unet.config, adapter.config);
  const from = new Map([...namedParams(unet), ...namedParams(adapter)]);
  const missing: string[] = [];
  for (const [k, p] of namedParams(model)) {
    const src = from.get(k);
    if (!src) missing.push(k);
    else if (src.q4) p.setQ4(src.q4);
    else p.set(src.values());
  }
  if (missing.length)
    throw new ModelPackError(
      `the SD UNet and the motion adapter do not make a UNetMotionModel: ${missing.length} parameters missing (${missing.slice(0, 5).join(", ")})`,
    );
  return model;
}

/** Load AudioLDM + ImageBind from a pack and build the audio task engine. */
export async function openAudioEngine(
  pack: PackSource,
  exec: EngineExecutors,
  opts: OpenEngineOptions = {},
): Promise<AudioTaskEngine> {
  const a = opts.audioModel ?? "audioldm";
  const ib = opts.imagebindModel ?? "imagebind";
  const loaded = await loadPackModels(pack, {
    ...opts,
    components: [`${a}/unet`, `${a}/vae`, `${a}/vocoder`, `${a}/text_encoder`, `${ib}/imagebind`],
  });
  const get = <T>(model: string, comp: string) => loaded[model][comp].module as T;
  const [clapTokenizer, clipTokenizer] = await Promise.all([
    packRobertaTokenizer(pack, a),
    packClipBpe(pack, ib),
  ]);
  return new AudioTaskEngine(
    {
      audioldm: {
        unet: get<UNet2DConditionModel>(a, "unet"),
        vae: get<AutoencoderKL>(a, "vae"),
        vocoder: get<SpeechT5HifiGan>(a, "vocoder"),
      },
      textEncoder: get<ClapTextModelWithProjection>(a, "text_encoder"),
      clapTokenizer,
      scheduler: packScheduler(pack, a),
      imagebind: get<ImageBindModel>(ib, "imagebind"),
      clipTokenizer,
    },
    exec,
  );
}

/** The parts of the video engine, loaded from a pack (shared by `openVideoEngine` and `openJointEngine`). */
async function loadVideoParts(pack: PackSource, opts: OpenEngineOptions, extra: readonly string[] = []) {
  const v = opts.videoModel ?? "stable-diffusion";
  const mm = opts.motionModel ?? "motion-adapter";
  const ib = opts.imagebindModel ?? "imagebind";
  const loaded = await loadPackModels(pack, {
    ...opts,
    components: [
      `${v}/unet`,
      `${v}/vae`,
      `${v}/text_encoder`,
      `${mm}/motion_adapter`,
      `${ib}/imagebind`,
      ...extra,
    ],
  });
  const get = <T>(model: string, comp: string) => loaded[model][comp].module as T;
  const [sdTokenizer, clipTokenizer] = await Promise.all([packClipHf(pack, v), packClipBpe(pack, ib)]);
  const parts: VideoEngineParts = {
    animatediff: {
      unet: assembleMotionUnet(
        get<UNet2DConditionModel>(v, "unet"),
        get<MotionAdapter>(mm, "motion_adapter"),
      ),
      vae: get<AutoencoderKL>(v, "vae"),
    },
    textEncoder: get<CLIPTextModel>(v, "text_encoder"),
    sdTokenizer,
    // the pack's SD scheduler config; AnimateDiff's inference config is DDIM linear 0.00085→0.012,
    // steps_offset 1, clip_sample false, set_alpha_to_one at diffusers' default (SPEC §4.1, §B.2)
    scheduler: packScheduler(pack, v),
    imagebind: get<ImageBindModel>(ib, "imagebind"),
    clipTokenizer,
  };
  return { parts, loaded, get };
}

/** Load AnimateDiff (SD 1.5 + motion adapter) + ImageBind from a pack and build the video task engine. */
export async function openVideoEngine(
  pack: PackSource,
  exec: EngineExecutors,
  opts: OpenEngineOptions = {},
): Promise<VideoTaskEngine> {
  const { parts } = await loadVideoParts(pack, opts);
  return new VideoTaskEngine(parts, exec);
}

/** Both engines over one ImageBind (one set of condition encoders) for joint video+audio generation. */
export async function openJointEngine(
  pack: PackSource,
  exec: EngineExecutors,
  opts: OpenEngineOptions = {},
): Promise<JointEngine> {
  const a = opts.audioModel ?? "audioldm";
  const { parts, get } = await loadVideoParts(pack, opts, [
    `${a}/unet`,
    `${a}/vae`,
    `${a}/vocoder`,
    `${a}/text_encoder`,
  ]);
  const video = new VideoTaskEngine(parts, exec);
  const audio = new AudioTaskEngine(
    {
      audioldm: {
        unet: get<UNet2DConditionModel>(a, "unet"),
        vae: get<AutoencoderKL>(a, "vae"),
        vocoder: get<SpeechT5HifiGan>(a, "vocoder"),
      },
      textEncoder: get<ClapTextModelWithProjection>(a, "text_encoder"),
      clapTokenizer: await packRobertaTokenizer(pack, a),
      scheduler: packScheduler(pack, a),
      imagebind: parts.imagebind,
      clipTokenizer: parts.clipTokenizer,
    },
    exec,
    video.encoders,
  );
  const dispose = async () => {
    await audio.dispose();
    await video.dispose();
  };
  return { audio, video, dispose };
}
