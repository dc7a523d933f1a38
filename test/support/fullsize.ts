/**
 * Pack manifests of the real checkpoints without their weights: configs from the golden manifests (the shapes
 * every key of the real files has), component entries with an empty tensor index. The memory planner and the
 * converter's shard plan read only configs, so real-size numbers can be computed without 6 GB of weights.
 */

import { imagebindHugeArgs } from "../../src/engine/models/imagebind/config.js";
import {
  componentClass,
  IMAGEBIND_STUDIO_MODALITIES,
  imagebindPrefixes,
} from "../../src/engine/models/registry.js";
import type { ComponentKind, ComponentManifest, PackManifest } from "../../src/engine/packs/schema.js";
import { readManifest } from "./manifest.js";

/** SD 1.5's vae/config.json (diffusers AutoencoderKL; not among the golden manifests). */
export const SD15_VAE = {
  in_channels: 3,
  out_channels: 3,
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
  block_out_channels: [128, 256, 512, 512],
  layers_per_block: 2,
  latent_channels: 4,
  norm_num_groups: 32,
  sample_size: 512,
  scaling_factor: 0.18215,
};

function component(kind: ComponentKind, config: Record<string, unknown>): ComponentManifest {
  const c = componentClass(kind);
  return {
    kind,
    class: c.class,
    config,
    source: { repo: "golden-manifest", revision: "none", files: [] },
    dtype: "fp16",
    quantization: "none",
    ...(c.defaultKeyPrefixes ? { keyPrefixes: [...c.defaultKeyPrefixes] } : {}),
    parameters: 0,
    bytes: 0,
    tensors: {},
    q4: {},
  };
}

const cfg = (name: string) => readManifest(name).config ?? {};

export function fullSizeManifest(): PackManifest {
  const ib = readManifest("imagebind_huge").raw.imagebind_huge_args as Record<string, unknown> | undefined;
  const model = (name: string, components: Record<string, ComponentManifest>) => ({
    spec: name,
    name,
    source: { repo: name, revision: "none", files: [] },
    components,
    tokenizers: {},
    scheduler: null,
  });
  return {
    format: "seeing-hearing-pack",
    formatVersion: 1,
    id: "full-size",
    name: "real checkpoints (configs only)",
    version: "0.0.0",
    generator: { tool: "test", version: "0" },
    maxShardBytes: 256 * 1024 * 1024,
    models: {
      audioldm: model("audioldm-m-full", {
        unet: component("audioldm.unet", cfg("audioldm_m_full_unet")),
        vae: component("audioldm.vae", cfg("audioldm_m_full_vae")),
        vocoder: component("audioldm.vocoder", cfg("audioldm_m_full_vocoder")),
        text_encoder: component("audioldm.text_encoder", cfg("audioldm_m_full_text_encoder_clap")),
      }),
      sd: model("stable-diffusion-v1-5", {
        unet: component("sd.unet", cfg("sd15_unet")),
        vae: component("sd.vae", SD15_VAE),
        text_encoder: component("sd.text_encoder", cfg("sd15_clip_text_encoder")),
      }),
      adapter: model("animatediff-motion-adapter-v1-5-2", {
        motion_adapter: component("animatediff.motion_adapter", cfg("animatediff_motion_adapter_v1_5_2")),
      }),
      imagebind: model("imagebind-huge", {
        imagebind: component("imagebind", { ...imagebindHugeArgs, ...ib }),
      }),
    },
    files: [],
  };
}

export { IMAGEBIND_STUDIO_MODALITIES, imagebindPrefixes };
