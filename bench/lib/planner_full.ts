/**
 * The memory planner's estimate for the REAL checkpoints: the bundled default pack's manifest with every
 * component's config replaced by the full-size one from the golden manifests (the planner builds modules from
 * configs, so no weights are needed).
 */
import { imagebindDefaults, imagebindHugeArgs } from "../../src/engine/models/imagebind/config.js";
import { MemoryPlanner } from "../../src/engine/packs/planner.js";
import type { PackManifest } from "../../src/engine/packs/schema.js";
import { readManifest } from "../../test/support/manifest.js";

export function fullSizeConfigs(): Record<string, Record<string, unknown>> {
  const cfg = (name: string) => readManifest(name).config ?? {};
  return {
    "audioldm/unet": cfg("audioldm_m_full_unet"),
    "audioldm/vae": cfg("audioldm_m_full_vae"),
    "audioldm/vocoder": cfg("audioldm_m_full_vocoder"),
    "audioldm/text_encoder": cfg("audioldm_m_full_text_encoder_clap"),
    "stable-diffusion/unet": cfg("sd15_unet"),
    "stable-diffusion/text_encoder": cfg("sd15_clip_text_encoder"),
    "motion-adapter/motion_adapter": cfg("animatediff_motion_adapter_v1_5_2"),
    "imagebind/imagebind": { ...imagebindDefaults, ...imagebindHugeArgs },
  };
}

/** A manifest shaped like `base` (the default pack's) whose configs are the real models'. */
export function fullSizeManifest(base: PackManifest): PackManifest {
  const m = structuredClone(base) as PackManifest;
  const full = fullSizeConfigs();
  for (const [mid, model] of Object.entries(m.models))
    for (const [cid, c] of Object.entries(model.components)) {
      const f = full[`${mid}/${cid}`];
      if (f) (c as { config: Record<string, unknown> }).config = { ...(c.config as object), ...f };
    }
  // the SD VAE config of the default pack is small; the real one is diffusers' AutoencoderKL defaults for SD
  const sdVae = m.models["stable-diffusion"]?.components.vae as
    | { config: Record<string, unknown> }
    | undefined;
  if (sdVae)
    sdVae.config = {
      ...sdVae.config,
      block_out_channels: [128, 256, 512, 512],
      down_block_types: new Array(4).fill("DownEncoderBlock2D"),
      up_block_types: new Array(4).fill("UpDecoderBlock2D"),
      latent_channels: 4,
      in_channels: 3,
      out_channels: 3,
      norm_num_groups: 32,
      scaling_factor: 0.18215,
    };
  return m;
}

export function fullSizePlanner(base: PackManifest): MemoryPlanner {
  return new MemoryPlanner(fullSizeManifest(base));
}
