/**
 * The models the converter knows: for each family, where upstream keeps each component (the diffusers layout:
 * `<component>/config.json` + weights; ImageBind's single `.pth`; an adapter folder), which component kind it
 * is, whether it only ever runs forward (then `--quant q4` stores its Linear weights as 4-bit blocks), its
 * tokenizers and scheduler. `MODEL_SPECS` names concrete upstream models and their official file URLs.
 */
import { imagebindHugeArgs } from "../models/imagebind/config.js";
import type { ComponentKind } from "./schema.js";

export interface ComponentLayout {
  kind: ComponentKind;
  /** Folder of config.json + weights ("" = the root of the input). */
  folder: string;
  /** Runs only forward (ORT): q4 applies. Gradient-path components (VAE, vocoder, ImageBind) stay fp16/fp32. */
  forwardOnly: boolean;
  /** Constructor arguments when upstream ships no config.json (ImageBind). */
  fixedConfig?: Readonly<Record<string, unknown>>;
}

export interface TokenizerLayout {
  kind: "clip-bpe" | "clip-hf" | "roberta-bpe";
  folder: string;
  /** role → file name in `folder` (`optional` roles are copied when present). */
  files: Readonly<Record<string, { name: string; optional?: boolean }>>;
}

export interface FamilyLayout {
  components: Readonly<Record<string, ComponentLayout>>;
  tokenizers: Readonly<Record<string, TokenizerLayout>>;
  /** scheduler/scheduler_config.json (diffusers pipelines). */
  scheduler: { folder: string; file: string } | null;
  /** A file whose presence marks the root of the input (diffusers: model_index.json). */
  rootMarker: string | null;
}

const hfTokenizerExtras = {
  config: { name: "tokenizer_config.json", optional: true },
  special_tokens: { name: "special_tokens_map.json", optional: true },
} as const;

export const FAMILIES = Object.freeze({
  audioldm: {
    components: {
      text_encoder: { kind: "audioldm.text_encoder", folder: "text_encoder", forwardOnly: true },
      unet: { kind: "audioldm.unet", folder: "unet", forwardOnly: true },
      vae: { kind: "audioldm.vae", folder: "vae", forwardOnly: false },
      vocoder: { kind: "audioldm.vocoder", folder: "vocoder", forwardOnly: false },
    },
    tokenizers: {
      tokenizer: {
        kind: "roberta-bpe",
        folder: "tokenizer",
        files: { vocab: { name: "vocab.json" }, merges: { name: "merges.txt" }, ...hfTokenizerExtras },
      },
    },
    scheduler: { folder: "scheduler", file: "scheduler_config.json" },
    rootMarker: "model_index.json",
  },
  "stable-diffusion": {
    components: {
      text_encoder: { kind: "sd.text_encoder", folder: "text_encoder", forwardOnly: true },
      unet: { kind: "sd.unet", folder: "unet", forwardOnly: true },
      vae: { kind: "sd.vae", folder: "vae", forwardOnly: false },
    },
    tokenizers: {
      tokenizer: {
        kind: "clip-hf",
        folder: "tokenizer",
        files: { vocab: { name: "vocab.json" }, merges: { name: "merges.txt" }, ...hfTokenizerExtras },
      },
    },
    scheduler: { folder: "scheduler", file: "scheduler_config.json" },
    rootMarker: "model_index.json",
  },
  "motion-adapter": {
    components: {
      motion_adapter: { kind: "animatediff.motion_adapter", folder: "", forwardOnly: true },
    },
    tokenizers: {},
    scheduler: null,
    rootMarker: "config.json",
  },
  imagebind: {
    components: {
      imagebind: { kind: "imagebind", folder: "", forwardOnly: false, fixedConfig: imagebindHugeArgs },
    },
    tokenizers: {
      bpe: { kind: "clip-bpe", folder: "", files: { bpe: { name: "bpe_simple_vocab_16e6.txt.gz" } } },
    },
    scheduler: null,
    rootMarker: null,
  },
} as const satisfies Record<string, FamilyLayout>);

export type FamilyId = keyof typeof FAMILIES;

export interface ModelSpec {
  family: FamilyId;
  name: string;
  /** Upstream repository (Hugging Face repo id, or a GitHub repo for ImageBind). */
  repo: string;
  license: string;
  /**
   * Official file URL template ({file}, {revision}); the loader's default mirror for upstream files.
   * Hugging Face: https://huggingface.co/<repo>/resolve/<revision>/<file>.
   */
  fileUrl: string;
}

const hf = (repo: string) => `https://huggingface.co/${repo}/resolve/{revision}/{file}`;

export const MODEL_SPECS = Object.freeze({
  "audioldm-m-full": {
    family: "audioldm",
    name: "AudioLDM m-full",
    repo: "cvssp/audioldm-m-full",
    license: "CC-BY-NC-SA-4.0",
    fileUrl: hf("cvssp/audioldm-m-full"),
  },
  "audioldm-s-full": {
    family: "audioldm",
    name: "AudioLDM s-full",
    repo: "cvssp/audioldm",
    license: "CC-BY-NC-SA-4.0",
    fileUrl: hf("cvssp/audioldm"),
  },
  "audioldm-s-full-v2": {
    family: "audioldm",
    name: "AudioLDM s-full v2",
    repo: "cvssp/audioldm-s-full-v2",
    license: "CC-BY-NC-SA-4.0",
    fileUrl: hf("cvssp/audioldm-s-full-v2"),
  },
  "audioldm-l-full": {
    family: "audioldm",
    name: "AudioLDM l-full",
    repo: "cvssp/audioldm-l-full",
    license: "CC-BY-NC-SA-4.0",
    fileUrl: hf("cvssp/audioldm-l-full"),
  },
  "stable-diffusion-v1-5": {
    family: "stable-diffusion",
    name: "Stable Diffusion 1.5",
    repo: "runwayml/stable-diffusion-v1-5",
    license: "CreativeML-OpenRAIL-M",
    fileUrl: hf("runwayml/stable-diffusion-v1-5"),
  },
  "animatediff-motion-adapter-v1-5-2": {
    family: "motion-adapter",
    name: "AnimateDiff motion adapter v1-5-2",
    repo: "guoyww/animatediff-motion-adapter-v1-5-2",
    license: "Apache-2.0",
    fileUrl: hf("guoyww/animatediff-motion-adapter-v1-5-2"),
  },
  "imagebind-huge": {
    family: "imagebind",
    name: "ImageBind huge",
    repo: "facebookresearch/ImageBind",
    license: "CC-BY-NC-SA-4.0",
    fileUrl: "https://dl.fbaipublicfiles.com/imagebind/{file}",
  },
} as const satisfies Record<string, ModelSpec>);

export type ModelSpecId = keyof typeof MODEL_SPECS;

export function isModelSpecId(s: string): s is ModelSpecId {
  return Object.hasOwn(MODEL_SPECS, s);
}

/** The official URL of an upstream file (`revision` "main" when unknown). */
export function upstreamFileUrl(spec: ModelSpecId, file: string, revision = "main"): string {
  return MODEL_SPECS[spec].fileUrl
    .replace("{revision}", encodeURIComponent(revision))
    .replace("{file}", file);
}
