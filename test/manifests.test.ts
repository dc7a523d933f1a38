/**
 * Module trees instantiated at full size (no weights allocated) must match 100% of the keys and shapes of the
 * real checkpoints, as listed in the golden manifests.
 */
import { describe, expect, it } from "vitest";
import { imagebindHugeArgs } from "../src/engine/models/imagebind/config.js";
import { ImageBindModel } from "../src/engine/models/imagebind/model.js";
import { checkKeys, describeKeyCheck, namedParams } from "../src/engine/ops/param.js";
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
];

describe.skipIf(!hasGolden())("module trees match the real checkpoints' manifests", () => {
  for (const c of cases) {
    it(c.manifest, () => {
      const m = readManifest(c.manifest);
      const model = c.build(m.config, m.raw);
      const check = checkKeys(model, m.entries);
      expect(describeKeyCheck(check)).toBe("");
      const ours = new Map(namedParams(model));
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
});
