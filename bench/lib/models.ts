/** The real (full-size) configs of every studio model, from the golden manifests (Node only: reads files). */
import {
  type ImageBindConfig,
  imagebindDefaults,
  imagebindHugeArgs,
} from "../../src/engine/models/imagebind/config.js";
import {
  AUDIOLDM,
  IMAGEBIND,
  MOTION_ADAPTER,
  STABLE_DIFFUSION,
} from "../../src/engine/packs/default-configs.js";
import { readManifest } from "../../test/support/manifest.js";

export interface FullConfigs {
  audioUnet: Record<string, unknown>;
  audioVae: Record<string, unknown>;
  vocoder: Record<string, unknown>;
  sdUnet: Record<string, unknown>;
  motionAdapter: Record<string, unknown>;
  imagebind: Partial<ImageBindConfig>;
}

export function fullConfigs(): FullConfigs {
  const cfg = (name: string) => readManifest(name).config ?? {};
  return {
    audioUnet: cfg("audioldm_m_full_unet"),
    audioVae: cfg("audioldm_m_full_vae"),
    vocoder: cfg("audioldm_m_full_vocoder"),
    sdUnet: cfg("sd15_unet"),
    motionAdapter: cfg("animatediff_motion_adapter_v1_5_2"),
    imagebind: { ...imagebindDefaults, ...imagebindHugeArgs },
  };
}

// In quick mode every model is the bundled default pack's (real topology, small widths) at short lengths.
export const SMALL: FullConfigs = {
  audioUnet: AUDIOLDM.unet,
  audioVae: AUDIOLDM.vae,
  vocoder: AUDIOLDM.vocoder,
  sdUnet: STABLE_DIFFUSION.unet,
  motionAdapter: MOTION_ADAPTER,
  imagebind: IMAGEBIND,
};
