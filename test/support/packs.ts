/**
 * Synthetic upstream-layout folders for pack tests: the default pack's small configs, seeded random weights with
 * upstream key names, written exactly as diffusers/transformers save them (config.json, single or sharded
 * safetensors with an index, tokenizer/, scheduler/, model_index.json), optionally under a top folder.
 */

import { ClapTextModelWithProjection } from "../../src/engine/models/clap/model.js";
import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import { AUDIOLDM } from "../../src/engine/packs/default-configs.js";
import { generateRobertaVocab } from "../../src/engine/packs/default-vocab.js";
import type { PackSource } from "../../src/engine/packs/loader.js";
import { parseManifest } from "../../src/engine/packs/schema.js";
import {
  type RawTensor,
  safetensorsFile,
  shardedSafetensors,
  syntheticStateDict,
} from "../../src/engine/packs/synthetic.js";
import { type InputTree, memoryTree } from "../../src/engine/packs/tree.js";
import { bytesSource } from "../../src/engine/weights/source.js";

const json = (v: unknown) => JSON.stringify(v, null, 2);

export interface SyntheticAudioLDM {
  files: Record<string, Uint8Array | string>;
  tree: InputTree;
  /** Source state dicts per component (upstream keys). */
  state: Record<"unet" | "vae" | "vocoder" | "text_encoder", Record<string, RawTensor>>;
  configs: Record<"unet" | "vae" | "vocoder" | "text_encoder", Record<string, unknown>>;
}

export interface SyntheticOptions {
  /** Split the UNet into this many shards with a diffusers index (default 3). */
  unetShards?: number;
  /** Put everything under this top folder (as a browser folder pick does). */
  root?: string;
  seed?: number;
  /** Mutate the UNet state dict before it is written (tests of missing/extra/mis-shaped keys). */
  editUnet?: (sd: Record<string, RawTensor>) => void;
}

export function syntheticAudioLDM(opts: SyntheticOptions = {}): SyntheticAudioLDM {
  const seed = opts.seed ?? 7;
  const vocab = generateRobertaVocab(200);
  const configs = {
    unet: { ...AUDIOLDM.unet } as Record<string, unknown>,
    vae: { ...AUDIOLDM.vae } as Record<string, unknown>,
    vocoder: { ...AUDIOLDM.vocoder } as Record<string, unknown>,
    text_encoder: { ...AUDIOLDM.text_encoder, vocab_size: vocab.vocabSize } as Record<string, unknown>,
  };
  const state = {
    unet: syntheticStateDict(new UNet2DConditionModel(configs.unet), seed + 1),
    vae: syntheticStateDict(new AutoencoderKL(configs.vae), seed + 2),
    vocoder: syntheticStateDict(new SpeechT5HifiGan(configs.vocoder), seed + 3),
    text_encoder: syntheticStateDict(new ClapTextModelWithProjection(configs.text_encoder), seed + 4),
  };
  opts.editUnet?.(state.unet);
  const files: Record<string, Uint8Array | string> = {
    "model_index.json": json(AUDIOLDM.model_index),
    "unet/config.json": json(configs.unet),
    "vae/config.json": json(configs.vae),
    "vae/diffusion_pytorch_model.safetensors": safetensorsFile(state.vae),
    "vocoder/config.json": json(configs.vocoder),
    "vocoder/model.safetensors": safetensorsFile(state.vocoder),
    "text_encoder/config.json": json(configs.text_encoder),
    "text_encoder/model.safetensors": safetensorsFile(state.text_encoder),
    "tokenizer/vocab.json": vocab.vocabJson,
    "tokenizer/merges.txt": vocab.mergesTxt,
    "scheduler/scheduler_config.json": json(AUDIOLDM.scheduler),
    "README.md": "not part of any component",
  };
  const n = opts.unetShards ?? 3;
  if (n > 1) {
    for (const [name, bytes] of Object.entries(shardedSafetensors(state.unet, "diffusion_pytorch_model", n)))
      files[`unet/${name}`] = bytes;
  } else files["unet/diffusion_pytorch_model.safetensors"] = safetensorsFile(state.unet);
  const rooted = opts.root
    ? Object.fromEntries(Object.entries(files).map(([k, v]) => [`${opts.root}/${k}`, v]))
    : files;
  return { files: rooted, tree: memoryTree(rooted), state, configs };
}

/** A PackSource over files held in memory (a memory sink's output). */
export function memoryPack(files: ReadonlyMap<string, Uint8Array>): PackSource {
  const m = files.get("manifest.json");
  if (!m) throw new Error("no manifest.json");
  const manifest = parseManifest(m);
  return {
    id: manifest.id,
    manifest,
    async open(path) {
      const b = files.get(path);
      if (!b) throw new Error(`no ${path}`);
      return bytesSource(b, path);
    },
  };
}

/** Float values of a raw F32 tensor. */
export function f32(t: RawTensor): Float32Array {
  return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
}

/** Bit-identical typed arrays (fast, unlike a deep equality on millions of elements). */
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return Buffer.compare(x, y) === 0;
}
