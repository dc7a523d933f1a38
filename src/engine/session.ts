/**
 * From a model pack to ready-to-run task engines: loads the components a task needs (verified weights through
 * packs/loader), builds the tokenizers from the pack's files and the scheduler from its config. The same code
 * runs in a worker (onnxruntime-web + tfjs-webgpu) and in Node (onnxruntime-node + tfjs-wasm/cpu).
 */
import { ModelPackError } from "./errors.js";
import type { ClapTextModelWithProjection } from "./models/clap/model.js";
import type { AutoencoderKL } from "./models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "./models/diffusers/unet_2d_condition.js";
import type { SpeechT5HifiGan } from "./models/hifigan/model.js";
import type { ImageBindModel } from "./models/imagebind/model.js";
import { type LoadComponentOptions, loadPackModels, type PackSource } from "./packs/loader.js";
import { AudioTaskEngine, type EngineExecutors } from "./pipelines/audio_engine.js";
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
