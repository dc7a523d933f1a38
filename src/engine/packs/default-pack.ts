/**
 * The random-weights pack (`npm run pack -- random`): small models with the real topologies (default-configs.ts)
 * and seeded random weights (synthetic.ts), laid out as upstream ships them — diffusers folders with
 * model_index.json, an adapter folder, an ImageBind checkpoint — and converted by the same `convertPack` as
 * real checkpoints, so the app loads it through exactly the code real packs take. Deterministic: the same
 * inputs give byte-identical files (a test builds it twice and compares every sha256).
 *
 * The bundled default pack (public/models/default/) has the same layout and id with trained weights
 * (tools/train/build-pack.ts); this one runs every task without a training run.
 */
import { ClapTextModelWithProjection } from "../models/clap/model.js";
import { CLIPTextModel } from "../models/clip/model.js";
import { AutoencoderKL } from "../models/diffusers/autoencoder_kl.js";
import { UNet2DConditionModel } from "../models/diffusers/unet_2d_condition.js";
import { MotionAdapter } from "../models/diffusers/unet_motion_model.js";
import { SpeechT5HifiGan } from "../models/hifigan/model.js";
import { ImageBindModel } from "../models/imagebind/model.js";
import { IMAGEBIND_STUDIO_MODALITIES, imagebindPrefixes } from "../models/registry.js";
import { bytesToUnicode } from "../preprocess/tokenizers/bpe.js";
import { gunzip } from "../preprocess/tokenizers/load.js";
import { type ConvertModelInput, type ConvertOptions, convertPack } from "./convert.js";
import { AUDIOLDM, IMAGEBIND, MOTION_ADAPTER, STABLE_DIFFUSION } from "./default-configs.js";
import { DEFAULT_PACK, RANDOM_PACK } from "./default-pack-info.js";
import { generateRobertaVocab } from "./default-vocab.js";
import type { PackManifest } from "./schema.js";
import type { PackSink } from "./sink.js";
import { safetensorsFile, syntheticStateDict } from "./synthetic.js";
import { memoryTree } from "./tree.js";

export { DEFAULT_PACK, RANDOM_PACK };

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const SOURCE = { repo: "seeing-hearing-studio/default-pack", revision: `seed-${RANDOM_PACK.seed}` };

/**
 * HF `vocab.json` + `merges.txt` for CLIP, from OpenAI's `bpe_simple_vocab_16e6.txt` (the same table SD 1.5's
 * tokenizer ships: byte symbols, the same with `</w>`, the 48 894 merges, then the two special tokens).
 */
export function clipHfFiles(bpeText: string): { vocabJson: string; mergesTxt: string } {
  const merges = bpeText.split("\n").slice(1, 49152 - 256 - 2 + 1);
  const bytes = [...bytesToUnicode()].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const symbols = [
    ...bytes,
    ...bytes.map((c) => `${c}</w>`),
    ...merges.map((m) => m.split(" ").join("")),
    "<|startoftext|>",
    "<|endoftext|>",
  ];
  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => {
    vocab[s] = i;
  });
  return { vocabJson: `${JSON.stringify(vocab)}\n`, mergesTxt: `#version: 0.2\n${merges.join("\n")}\n` };
}

const weights = (module: object, salt: number, keep?: (k: string) => boolean) =>
  safetensorsFile(syntheticStateDict(module, RANDOM_PACK.seed + salt, keep));

/** The four upstream-layout inputs of the default pack. `clipBpeGz`: public/models/tokenizers/clip/…txt.gz. */
export async function randomPackInputs(clipBpeGz: Uint8Array): Promise<ConvertModelInput[]> {
  const roberta = generateRobertaVocab();
  const clap = { ...AUDIOLDM.text_encoder, vocab_size: roberta.vocabSize };
  const clip = clipHfFiles(new TextDecoder().decode(await gunzip(clipBpeGz)));
  const audioldm = memoryTree({
    "model_index.json": json(AUDIOLDM.model_index),
    "unet/config.json": json(AUDIOLDM.unet),
    "unet/diffusion_pytorch_model.safetensors": weights(new UNet2DConditionModel(AUDIOLDM.unet), 1),
    "vae/config.json": json(AUDIOLDM.vae),
    "vae/diffusion_pytorch_model.safetensors": weights(new AutoencoderKL(AUDIOLDM.vae), 2),
    "vocoder/config.json": json(AUDIOLDM.vocoder),
    "vocoder/model.safetensors": weights(new SpeechT5HifiGan(AUDIOLDM.vocoder), 3),
    "text_encoder/config.json": json(clap),
    "text_encoder/model.safetensors": weights(new ClapTextModelWithProjection(clap), 4),
    "tokenizer/vocab.json": roberta.vocabJson,
    "tokenizer/merges.txt": roberta.mergesTxt,
    "tokenizer/tokenizer_config.json": json(AUDIOLDM.tokenizer_config),
    "scheduler/scheduler_config.json": json(AUDIOLDM.scheduler),
  });
  const sd = memoryTree({
    "model_index.json": json(STABLE_DIFFUSION.model_index),
    "unet/config.json": json(STABLE_DIFFUSION.unet),
    "unet/diffusion_pytorch_model.safetensors": weights(new UNet2DConditionModel(STABLE_DIFFUSION.unet), 5),
    "vae/config.json": json(STABLE_DIFFUSION.vae),
    "vae/diffusion_pytorch_model.safetensors": weights(new AutoencoderKL(STABLE_DIFFUSION.vae), 6),
    "text_encoder/config.json": json(STABLE_DIFFUSION.text_encoder),
    "text_encoder/model.safetensors": weights(new CLIPTextModel(STABLE_DIFFUSION.text_encoder), 7),
    "tokenizer/vocab.json": clip.vocabJson,
    "tokenizer/merges.txt": clip.mergesTxt,
    "tokenizer/tokenizer_config.json": json(STABLE_DIFFUSION.tokenizer_config),
    "scheduler/scheduler_config.json": json(STABLE_DIFFUSION.scheduler),
  });
  const adapter = memoryTree({
    "config.json": json(MOTION_ADAPTER),
    "diffusion_pytorch_model.safetensors": weights(new MotionAdapter(MOTION_ADAPTER), 8),
  });
  const prefixes = imagebindPrefixes(IMAGEBIND_STUDIO_MODALITIES);
  const imagebind = memoryTree({
    "config.json": json(IMAGEBIND),
    "imagebind.safetensors": weights(new ImageBindModel(IMAGEBIND), 9, (k) =>
      prefixes.some((p) => k.startsWith(p)),
    ),
    "bpe_simple_vocab_16e6.txt.gz": clipBpeGz,
  });
  return [
    {
      spec: "audioldm-m-full",
      id: "audioldm",
      name: "AudioLDM topology (small, random)",
      tree: audioldm,
      ...SOURCE,
    },
    {
      spec: "stable-diffusion-v1-5",
      id: "stable-diffusion",
      name: "Stable Diffusion 1.5 topology (small, random)",
      tree: sd,
      ...SOURCE,
    },
    {
      spec: "animatediff-motion-adapter-v1-5-2",
      id: "motion-adapter",
      name: "AnimateDiff motion adapter v1-5-2 topology (small, random)",
      tree: adapter,
      ...SOURCE,
    },
    {
      spec: "imagebind-huge",
      id: "imagebind",
      name: "ImageBind topology (small, random)",
      tree: imagebind,
      ...SOURCE,
    },
  ];
}

/** Generate the random-weights pack into `sink` (`npm run pack -- random`). */
export async function buildRandomPack(
  sink: PackSink,
  clipBpeGz: Uint8Array,
  opts: Pick<ConvertOptions, "hasher" | "onProgress"> = {},
): Promise<PackManifest> {
  return convertPack(await randomPackInputs(clipBpeGz), sink, {
    id: DEFAULT_PACK.id,
    name: RANDOM_PACK.name,
    version: RANDOM_PACK.version,
    description:
      "Small models with the real AudioLDM, Stable Diffusion 1.5 + AnimateDiff and ImageBind topologies and seeded random weights, so every task runs offline from a fresh clone. Outputs are noise-like until trained weights replace them.",
    quant: "fp16",
    ...opts,
  });
}
