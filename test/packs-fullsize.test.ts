/**
 * Real checkpoints, sized from the golden manifests' configs (no weights needed): how the converter shards
 * each component (every shard under 256 MiB; q4 smaller than fp16 for the forward-only models), and what the
 * memory planner says about the real models — vanilla V2A fits a 4 GiB budget, the guided runs do not, and
 * AnimateDiff at 512² needs attention buffers over any adapter's maxBufferSize.
 */
import { describe, expect, it } from "vitest";
import { componentClass } from "../src/engine/models/registry.js";
import { namedParams } from "../src/engine/ops/param.js";
import { linearWeightKeys, planStorage } from "../src/engine/packs/encode.js";
import { MemoryPlanner, planMemory } from "../src/engine/packs/planner.js";
import { DEFAULT_MAX_SHARD_BYTES, planShards } from "../src/engine/packs/shards.js";
import { fullSizeManifest } from "./support/fullsize.js";
import { hasGolden } from "./support/golden.js";

const GiB = 1024 ** 3;
const FORWARD_ONLY = new Set([
  "audioldm.unet",
  "audioldm.text_encoder",
  "sd.unet",
  "sd.text_encoder",
  "animatediff.motion_adapter",
]);

describe.skipIf(!hasGolden())("real-size packs and plans", () => {
  it("shards every real component under 256 MiB; q4 shrinks the forward-only ones", () => {
    const m = fullSizeManifest();
    for (const model of Object.values(m.models)) {
      for (const [cid, c] of Object.entries(model.components)) {
        const cls = componentClass(c.kind);
        const module = cls.build(c.config, cid);
        const params = namedParams(module).filter(
          ([k]) => !c.keyPrefixes || c.keyPrefixes.some((p) => k.startsWith(p)),
        );
        const never = async () => Promise.reject(new Error("weights are not read while planning"));
        const size = (quant: "fp16" | "q4") => {
          const q4 = quant === "q4" && FORWARD_ONLY.has(c.kind);
          const plan = planStorage(params, never, {
            storage: "fp16",
            q4: q4 ? { keys: linearWeightKeys(module, cls.extraLinearKeys), blockSize: 32 } : undefined,
          });
          const shards = planShards(plan.tensors, DEFAULT_MAX_SHARD_BYTES, (i, n) => `${i}/${n}`);
          for (const s of shards)
            expect(s.size, `${c.kind} shard`).toBeLessThanOrEqual(DEFAULT_MAX_SHARD_BYTES);
          return shards.reduce((a, s) => a + s.size, 0);
        };
        const fp16 = size("fp16");
        const elements = params.reduce((a, [, p]) => a + p.size, 0);
        expect(fp16, c.kind).toBeGreaterThan(1.9 * elements);
        expect(fp16, c.kind).toBeLessThan(2.1 * elements);
        if (FORWARD_ONLY.has(c.kind)) expect(size("q4"), c.kind).toBeLessThan(0.8 * fp16);
      }
    }
  });

  it("plans the real models: vanilla V2A fits 4 GiB; guided 10-s V2A needs 4–8 GiB (checkpointed backward); AnimateDiff at 512² is refused with reasons", () => {
    const planner = new MemoryPlanner(fullSizeManifest());
    const gpu = { budgetBytes: 4 * GiB, maxBufferSize: 2 * GiB };
    const vanilla = planMemory(planner, { task: "v2a", seconds: 10, guidance: false }, gpu);
    expect(vanilla.ok).toBe(true);
    expect(vanilla.estimate.peakBytes).toBeLessThan(GiB);
    const guided = planMemory(planner, { task: "v2a", seconds: 10 }, gpu);
    expect(guided.ok).toBe(false);
    expect(guided.message).toMatch(/denoise phase .*activations \d+ MB for the guidance backward/);
    expect(guided.message).toMatch(/shorter audio length \(now 10 s\)/);
    const roomy = planMemory(planner, { task: "v2a", seconds: 10 }, { ...gpu, budgetBytes: 8 * GiB });
    expect(roomy.ok).toBe(true);
    expect(roomy.estimate.peakPhase).toBe("denoise");
    expect(roomy.estimate.peakBytes).toBeGreaterThan(4 * GiB);
    expect(roomy.estimate.peakBytes).toBeLessThan(8 * GiB);
    const video = planMemory(
      planner,
      { task: "a2v", frames: 16, height: 512, width: 512, guidance: false },
      gpu,
    );
    expect(video.ok).toBe(false);
    expect(video.fallbacks).toEqual([
      "UNet and text-encoder weights held as 4-bit (q4) instead of fp16",
      "8 frames instead of 16",
    ]);
    expect(video.message).toMatch(/needs a single \d+ MB buffer, over this GPU's 2048 MB maxBufferSize/);
  });
});
