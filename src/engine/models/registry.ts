/**
 * Component kind → module class: how a pack (or the converter) turns a verbatim upstream config into the
 * module tree whose state-dict keys the checkpoint must match. A frozen table (STYLE.md 14); add a kind here
 * when its class lands. Kinds without an entry are refused by the converter and the loader with a message
 * naming the kind.
 */
import { ModelPackError } from "../errors.js";
import type { ComponentKind } from "../packs/schema.js";
import { ClapTextModelWithProjection } from "./clap/model.js";
import { CLIPTextModel } from "./clip/model.js";
import { AutoencoderKL, type AutoencoderKLConfig } from "./diffusers/autoencoder_kl.js";
import { type UNet2DConditionConfig, UNet2DConditionModel } from "./diffusers/unet_2d_condition.js";
import { MotionAdapter, type MotionAdapterConfig } from "./diffusers/unet_motion_model.js";
import { SpeechT5HifiGan } from "./hifigan/model.js";
import type { ImageBindConfig } from "./imagebind/config.js";
import { ImageBindModel, type Modality } from "./imagebind/model.js";

export type UpstreamConfig = Readonly<Record<string, unknown>>;

export interface ComponentClass {
  /** Upstream class name (recorded in the manifest). */
  readonly class: string;
  /** Build the module tree from the verbatim config (no weights are allocated). `source` names the pack/file. */
  build(config: UpstreamConfig, source: string): object;
  /**
   * Keys of parameters that the model feeds to `ops.linear` without a `Linear` module (e.g. a packed
   * `in_proj_weight`), so q4 packs store them as 4-bit blocks too. `Linear` weights are found by walking the tree.
   */
  readonly extraLinearKeys?: RegExp;
  /** Keys a pack keeps by default (others stay out of the pack); absent: all. */
  readonly defaultKeyPrefixes?: readonly string[];
}

/** The ImageBind modalities the studio runs (SPEC §3, §4): depth, thermal and IMU are left out of packs. */
export const IMAGEBIND_STUDIO_MODALITIES: readonly Modality[] = ["vision", "text", "audio"];

export function imagebindPrefixes(modalities: readonly Modality[]): string[] {
  return modalities.flatMap((m) => [
    `modality_preprocessors.${m}.`,
    `modality_trunks.${m}.`,
    `modality_heads.${m}.`,
    `modality_postprocessors.${m}.`,
  ]);
}

const unet: ComponentClass = {
  class: "UNet2DConditionModel",
  build: (c, source) => new UNet2DConditionModel(c as Partial<UNet2DConditionConfig>, source),
};
const vae: ComponentClass = {
  class: "AutoencoderKL",
  build: (c, source) => new AutoencoderKL(c as Partial<AutoencoderKLConfig>, source),
};

export const COMPONENT_CLASSES: Readonly<Partial<Record<ComponentKind, ComponentClass>>> = Object.freeze({
  imagebind: {
    class: "ImageBindModel",
    build: (c) => new ImageBindModel(c as Partial<ImageBindConfig>),
    extraLinearKeys: /\.attn\.in_proj_weight$/,
    defaultKeyPrefixes: imagebindPrefixes(IMAGEBIND_STUDIO_MODALITIES),
  },
  "audioldm.unet": unet,
  "audioldm.vae": vae,
  "audioldm.vocoder": { class: "SpeechT5HifiGan", build: (c) => new SpeechT5HifiGan(c) },
  "audioldm.text_encoder": {
    class: "ClapTextModelWithProjection",
    build: (c) => new ClapTextModelWithProjection(c),
  },
  "sd.unet": unet,
  "sd.vae": vae,
  "sd.text_encoder": { class: "CLIPTextModel", build: (c) => new CLIPTextModel(c) },
  "animatediff.motion_adapter": {
    class: "MotionAdapter",
    build: (c) => new MotionAdapter(c as Partial<MotionAdapterConfig>),
  },
});

/** The class for `kind`, or a ModelPackError saying this build cannot instantiate it. */
export function componentClass(kind: ComponentKind, where = "pack"): ComponentClass {
  const c = COMPONENT_CLASSES[kind];
  if (!c) {
    throw new ModelPackError(
      `${where}: component kind "${kind}" has no module class in this build yet (known: ${Object.keys(COMPONENT_CLASSES).join(", ")})`,
      { kind },
    );
  }
  return c;
}
