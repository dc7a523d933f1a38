/**
 * Soak (issue 11 item 7): 20 consecutive jobs in one page session on the bundled pack — text→audio in turn
 * without the aligner, guided with the gradient on onnxruntime-web (the studio's default) and guided with the
 * gradient on tfjs-wasm (switching gradient paths closes and reopens the engine, so that is soaked too) — and
 * nothing may grow: after every job, tfjs tensors and bytes equal those after the first job of the same kind,
 * one engine is held, and the page's JS memory (page + workers, `performance.measureUserAgentSpecificMemory`,
 * eager in this Chromium via ForceEagerMeasureMemory) stays within a stated bound of the first same-kind sample. Forward passes on the wasm EP:
 * on this machine's SwiftShader WebGPU a job takes minutes.
 */
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed, runJob, t2aParams } from "./support/studio.js";

const session = studioSession({ args: ["--enable-blink-features=ForceEagerMeasureMemory"] });

const JOBS = 20;
/** Allowed growth of the page's JS memory (page + workers) from job 1 to job 20. */
const JS_BOUND_BYTES = 32 * 2 ** 20;

interface Sample {
  numTensors: number;
  numBytes: number;
  engines: number;
  jsBytes: number;
}

async function sample(): Promise<Sample> {
  const page = session.studio.page;
  const mem = await runJob(page, "engine-memory", {});
  if (!mem.ok) throw new Error(`engine-memory failed: ${mem.message}`);
  const jsBytes = await page.evaluate(async () => {
    const p = performance as Performance & {
      measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
    };
    if (!p.measureUserAgentSpecificMemory) throw new Error("measureUserAgentSpecificMemory is not available");
    return (await p.measureUserAgentSpecificMemory()).bytes;
  });
  const v = mem.value as { numTensors: number; numBytes: number; engines: number };
  return { numTensors: v.numTensors, numBytes: v.numBytes, engines: v.engines, jsBytes };
}

describe("soak", () => {
  it(`${JOBS} consecutive jobs keep tensors, engines and JS memory at the first job's level`, {
    timeout: 900_000,
  }, async () => {
    const page = session.studio.page;
    expect(await probed(page)).toBe("ready");
    const samples: Sample[] = [];
    const ms: number[] = [];
    const kinds = ["vanilla", "guided on ORT", "guided on tfjs"] as const;
    for (let k = 0; k < JOBS; k++) {
      const kind = kinds[k % 3]!;
      const t0 = Date.now();
      const r = await runJob(
        page,
        "generate",
        t2aParams({
          seed: k,
          gradExecutor: kind === "guided on tfjs" ? "wasm" : "onnx",
          aligner: { ...t2aParams().aligner, enabled: kind !== "vanilla", weights: { text: 1, vision: 0 } },
        }),
      );
      if (!r.ok) throw new Error(`job ${k + 1}: ${r.name}: ${r.message}`);
      ms.push(Date.now() - t0);
      samples.push(await sample());
    }
    // the last job's kind (20 jobs: index 19 → "guided on ORT") against its first occurrence
    const first = samples[(JOBS - 1) % 3]!;
    const last = samples[JOBS - 1]!;
    console.log(
      `soak: ${JOBS} jobs in ${(ms.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} s; tfjs tensors ${samples.map((s) => s.numTensors).join(",")}; JS memory ${(first.jsBytes / 2 ** 20).toFixed(1)} → ${(last.jsBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    samples.forEach((s, k) => {
      const base = samples[k % 3]!;
      expect(s.numTensors, `job ${k + 1} (${kinds[k % 3]})`).toBe(base.numTensors);
      expect(s.numBytes, `job ${k + 1} (${kinds[k % 3]})`).toBe(base.numBytes);
      expect(s.engines).toBe(1);
    });
    // the tfjs-guided jobs really held tensors (the check above is not vacuous)
    expect(samples[2]!.numTensors).toBeGreaterThan(0);
    expect(last.jsBytes - first.jsBytes).toBeLessThan(JS_BOUND_BYTES);
    session.expectClean();
  });
});
