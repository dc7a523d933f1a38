/**
 * Module trees instantiated at full size (no weights allocated) must match 100% of the keys and shapes of the
 * real checkpoints, as listed in the golden manifests.
 */
import { describe, expect, it } from "vitest";
import { ClapTextModelWithProjection } from "../src/engine/models/clap/model.js";
import { CLIPTextModel } from "../src/engine/models/clip/model.js";
import { AutoencoderKL } from "../src/engine/models/diffusers/autoencoder_kl.js";
import { UNet2DConditionModel } from "../src/engine/models/diffusers/unet_2d_condition.js";
import { MotionAdapter, UNetMotionModel } from "../src/engine/models/diffusers/unet_motion_model.js";
import { SpeechT5HifiGan } from "../src/engine/models/hifigan/model.js";
import { imagebindHugeArgs } from "../src/engine/models/imagebind/config.js";
import { ImageBindModel } from "../src/engine/models/imagebind/model.js";
import { checkKeys, describeKeyCheck, isCleanKeyCheck, namedParams } from "../src/engine/ops/param.js";
import { hasGolden } from "./support/golden.js";
import { readManifest } from "./support/manifest.js";

const cases: {
  manifest: string;
  build: (config: Record<string, unknown> | undefined, raw: Record<string, unknown>) => object;
}[] = [
  {
    manifest: "imagebind_huge",
    build: (_c, raw) => new ImageBindModel({ ...imagebindHugeArgs, ...(raw.imagebind_huge_args as object) }),
  },
  // position_ids / token_type_ids are persistent int64 buffers in this checkpoint
  { manifest: "audioldm_m_full_text_encoder_clap", build: (c) => new ClapTextModelWithProjection(c ?? {}) },
  // position_ids is a non-persistent buffer: absent here, optional in our tree (older SD 1.5 files carry it)
  { manifest: "sd15_clip_text_encoder", build: (c) => new CLIPTextModel(c ?? {}) },
  // mean / scale buffers are present although normalize_before is false
  { manifest: "audioldm_m_full_vocoder", build: (c) => new SpeechT5HifiGan(c ?? {}) },
  // diffusers models: the manifests carry partial config.json's; the rest are diffusers' defaults
  { manifest: "audioldm_m_full_unet", build: (c) => new UNet2DConditionModel(c ?? {}) },
  { manifest: "sd15_unet", build: (c) => new UNet2DConditionModel(c ?? {}) },
  { manifest: "audioldm_m_full_vae", build: (c) => new AutoencoderKL(c ?? {}) },
  // the sinusoidal pos_embed.pe tables are persistent buffers of the adapter checkpoint
  { manifest: "animatediff_motion_adapter_v1_5_2", build: (c) => new MotionAdapter(c ?? {}) },
];

describe.skipIf(!hasGolden())("module trees match the real checkpoints' manifests", () => {
  for (const c of cases) {
    it(c.manifest, () => {
      const m = readManifest(c.manifest);
      const model = c.build(m.config, m.raw);
      const check = checkKeys(model, m.entries);
      expect(describeKeyCheck(check)).toBe("");
      // optional buffers a checkpoint may lack (non-persistent position_ids) count only where it has them
      const ours = new Map(namedParams(model).filter(([k, p]) => !p.optional || m.entries.has(k)));
      expect(ours.size).toBe(m.entries.size);
      for (const [key, e] of m.entries) {
        const p = ours.get(key)!;
        expect(p.buffer, `${key} buffer-ness`).toBe(e.buffer);
        expect(p.dtype, `${key} dtype`).toBe(e.dtype);
      }
      // parameter count matches the manifest's total (no weights are allocated to compute it)
      const total = [...ours.values()].reduce((a, p) => a + p.size, 0);
      expect(total).toBe(m.raw.total_state_dict_elements);
    });
  }

  it("UNetMotionModel (SD 1.5 UNet + motion adapter v1-5-2) is exactly the union of the two checkpoints", () => {
    const unet = readManifest("sd15_unet");
    const adapter = readManifest("animatediff_motion_adapter_v1_5_2");
    const model = new UNetMotionModel(unet.config ?? {}, adapter.config ?? {});
    const union = new Map([...unet.entries, ...adapter.entries]);
    expect(union.size).toBe(unet.entries.size + adapter.entries.size);
    expect(describeKeyCheck(checkKeys(model, union))).toBe("");
    expect(namedParams(model).length).toBe(union.size);
  });

  it("optional buffers load from checkpoints with and without them (CLIP and CLAP position/token-type ids)", () => {
    for (const [name, Model] of [
      ["sd15_clip_text_encoder", CLIPTextModel],
      ["audioldm_m_full_text_encoder_clap", ClapTextModelWithProjection],
    ] as const) {
      const m = readManifest(name);
      const model = new Model(m.config ?? {});
      const optional = namedParams(model).filter(([, p]) => p.optional);
      expect(optional.length, name).toBeGreaterThan(0);
      const withAll = new Map(m.entries);
      for (const [k, p] of optional) withAll.set(k, { shape: p.shape, dtype: p.dtype, buffer: true });
      const without = new Map([...m.entries].filter(([k]) => !optional.some(([o]) => o === k)));
      expect(isCleanKeyCheck(checkKeys(model, withAll)), `${name} with buffers`).toBe(true);
      expect(isCleanKeyCheck(checkKeys(model, without)), `${name} without buffers`).toBe(true);
      // the computed defaults are what upstream registers: arange for position ids, zeros for token types
      for (const [k, p] of optional) {
        const v = p.values();
        expect(v.length, k).toBe(p.size);
        expect(v[3], k).toBe(k.endsWith("position_ids") ? 3 : 0);
      }
    }
  });
});
