/**
 * Soak on WebGPU (issue 11 item 7, "no growth in … GPU buffers"): consecutive text→audio jobs in one page session
 * with the forward passes on onnxruntime-web's WebGPU EP (SwiftShader here), at the smallest shapes (1 s, 1 step,
 * no aligner). After every job the GPU buffers the engine holds on its shared device — counted by the runtime itself
 * (src/engine/runtime/gpu-buffers.ts, read through the "engine-memory" job) — must be back to the level after the
 * first job, within a stated bound. The page itself never opens a GPU device (an init script counts
 * `requestDevice` calls there), so the engine worker's device holds every GPU buffer the studio has.
 *
 * SwiftShader runs these models slowly (a warm 1-step job ≈ 110 s, the first ≈ 190 s on this 2-core machine; two
 * jobs took 208 s in a CI run), which the 30-minute CI budget cannot hold next to the rest of the suite: the test
 * runs when SOAK_WEBGPU_JOBS ≥ 2 is set (SOAK_WEBGPU_JOBS=4 gave the figures in docs/reliability.md; 20 for the
 * full soak, ≈ 35 min here, minutes on a real GPU).
 */
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed, runJob, t2aParams } from "./support/studio.js";

const JOBS = Number(process.env.SOAK_WEBGPU_JOBS ?? 0);
/** The browser starts only when the soak runs. */
const session = JOBS >= 2 ? studioSession() : null;
/**
 * Allowed growth of live GPU buffers / bytes from the level after the first job. Measured: the second job adds
 * 85 buffers (3.56 MiB) — ORT's WebGPU buffer pools filling — and later jobs add nothing.
 */
const BOUND = { buffers: 256, bytes: 8 * 2 ** 20 };

interface GpuSample {
  live: number;
  liveBytes: number;
  created: number;
  peakBytes: number;
  byUsage: Record<string, { live: number; liveBytes: number }>;
}

/** What changed per usage flag set between two samples ("usage: +buffers / +bytes"). */
function usageDelta(a: GpuSample, b: GpuSample): string {
  const keys = new Set([...Object.keys(a.byUsage), ...Object.keys(b.byUsage)]);
  const rows: string[] = [];
  for (const k of keys) {
    const x = a.byUsage[k] ?? { live: 0, liveBytes: 0 };
    const y = b.byUsage[k] ?? { live: 0, liveBytes: 0 };
    if (x.live !== y.live || x.liveBytes !== y.liveBytes)
      rows.push(`usage ${k}: ${y.live - x.live} buffers, ${y.liveBytes - x.liveBytes} B`);
  }
  return rows.join("; ") || "none";
}

async function gpuSample(): Promise<GpuSample> {
  const mem = await runJob(session!.studio.page, "engine-memory", {});
  if (!mem.ok) throw new Error(`engine-memory failed: ${mem.message}`);
  const g = (mem.value as { gpuBuffers?: GpuSample }).gpuBuffers;
  if (!g) throw new Error("engine-memory reports no GPU buffers: the engine is not on WebGPU");
  return g;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

describe.skipIf(JOBS < 2)("soak on WebGPU (SOAK_WEBGPU_JOBS ≥ 2)", () => {
  it(`${JOBS} consecutive WebGPU jobs keep the engine's GPU buffers at the first job's level`, {
    timeout: 300_000 + JOBS * 240_000,
  }, async () => {
    const page = session!.studio.page;
    await page.addInitScript(() => {
      const w = window as unknown as { __pageDevices: number };
      w.__pageDevices = 0;
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = function (this: GPUAdapter, ...args) {
        w.__pageDevices++;
        return request.apply(this, args);
      };
    });
    await page.reload();
    await page.getByRole("tablist").waitFor();
    expect(await probed(page)).toBe("ready");
    const probe = await runJob(page, "probe", {});
    expect(probe.ok && probe.value.backend).toBe("webgpu");

    const before = await gpuSample();
    const samples: GpuSample[] = [];
    const ms: number[] = [];
    for (let k = 0; k < JOBS; k++) {
      const t0 = Date.now();
      const r = await runJob(page, "generate", t2aParams({ seed: k, steps: 1, executor: "auto" }));
      if (!r.ok) throw new Error(`job ${k + 1}: ${r.name}: ${r.message}`);
      expect(r.value.executors).toMatchObject({ forward: "onnxruntime-web webgpu" });
      ms.push(Date.now() - t0);
      samples.push(await gpuSample());
      const s = samples[k]!;
      console.info(
        `job ${k + 1}: ${((Date.now() - t0) / 1000).toFixed(0)} s; GPU buffers ${s.live} live, ${mib(s.liveBytes)} (created ${s.created}, peak ${mib(s.peakBytes)}); change: ${usageDelta(samples[k - 1] ?? before, s)}`,
      );
    }
    const first = samples[0]!;
    console.info(
      `WebGPU soak: ${JOBS} jobs in ${(ms.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} s; before the first job ${before.live} buffers, ${mib(before.liveBytes)}; live buffers ${samples.map((s) => s.live).join(",")}; live ${samples.map((s) => mib(s.liveBytes)).join(", ")}`,
    );
    // the count is not vacuous: the first job put its sessions' weights and work buffers on the GPU
    expect(first.liveBytes).toBeGreaterThan(before.liveBytes);
    samples.forEach((s, k) => {
      expect(Math.abs(s.live - first.live), `job ${k + 1}: live GPU buffers`).toBeLessThanOrEqual(
        BOUND.buffers,
      );
      expect(Math.abs(s.liveBytes - first.liveBytes), `job ${k + 1}: live GPU bytes`).toBeLessThanOrEqual(
        BOUND.bytes,
      );
    });
    expect(await page.evaluate(() => (window as unknown as { __pageDevices: number }).__pageDevices)).toBe(0);
    session?.expectClean();
  });
});
