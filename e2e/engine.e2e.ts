/**
 * The engine worker in real Chromium: the probe's shared WebGPU device, the ONNX and gradient self-tests,
 * cancellation, and crash recovery.
 */
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed, runJob, value } from "./support/studio.js";

const session = studioSession({ query: "?heartbeatTimeoutMs=3000" });

describe("engine worker", () => {
  it("probe reports a WebGPU adapter and one device shared by ORT and tfjs at the adapter's max limits", async () => {
    expect(await probed(session.studio.page)).toBe("ready");
    const r = value(await runJob(session.studio.page, "probe", {}));
    expect(r.backend).toBe("webgpu");
    expect(r.fallbackReason).toBeNull();
    const gpu = r.webgpu as { [k: string]: { [k: string]: number } } & {
      sharedDevice: boolean;
      features: string[];
    };
    expect(gpu.sharedDevice).toBe(true);
    for (const limit of ["maxStorageBufferBindingSize", "maxBufferSize"]) {
      expect(gpu.deviceLimits![limit]).toBe(gpu.adapterLimits![limit]);
    }
    expect(Array.isArray(gpu.features)).toBe(true);
    expect(r.tfjs).toMatchObject({ backend: "webgpu" });
    expect(r.ort).toMatchObject({ executionProviders: ["webgpu", "wasm"] });
    expect(r.crossOriginIsolated).toBe(true);
  });

  it("runs an ONNX model built in code with the emitter on the WebGPU and wasm EPs, equal within 1e-5", async () => {
    const r = value(await runJob(session.studio.page, "selftest-onnx", {}));
    expect(r.webgpu).not.toBeNull();
    expect(r.maxAbsDiff as number).toBeLessThanOrEqual(1e-5);
    expect(r.maxAbsDiffVsReference as number).toBeLessThanOrEqual(1e-5);
    expect((r.webgpu as { p: number[] }).p).toHaveLength(144);
    expect((r.wasm as { p: number[] }).p).toHaveLength(144);
  });

  it("runs the emitted backward (the aligner's default gradient path) on the WebGPU and wasm EPs: both equal float64 finite differences", async () => {
    const r = value(await runJob(session.studio.page, "selftest-onnx-grad", {}));
    const webgpu = r.webgpu as { relL2: number; loss: number } | null;
    const wasm = r.wasm as { relL2: number; loss: number };
    expect(webgpu).not.toBeNull();
    expect(webgpu!.relL2).toBeLessThan(1e-3);
    expect(wasm.relL2).toBeLessThan(1e-3);
    expect(r.maxAbsDiff as number).toBeLessThan(1e-4);
    expect(Math.abs(wasm.loss - (r.lossReference as number))).toBeLessThan(1e-5);
    console.log(
      `ONNX gradient: WebGPU EP rel L2 ${webgpu!.relL2}, wasm EP ${wasm.relL2} vs finite differences`,
    );
  });

  it("computes a tfjs-webgpu gradient of conv+layerNorm+softmax+cosine equal to float64 finite differences", async () => {
    const r = value(await runJob(session.studio.page, "selftest-grad", {}));
    expect(r.backend).toBe("webgpu");
    expect(Math.abs((r.loss as number) - (r.lossReference as number))).toBeLessThan(1e-5);
    expect(r.relL2 as number).toBeLessThan(1e-3);
  });

  it("cancels a long job mid-way from the UI, and the same worker then accepts the next job", async () => {
    const { page } = session.studio;
    await page.keyboard.press("Alt+6");
    const pending = runJob(page, "selftest-slow", { iterations: 10_000, delayMs: 20 });
    const row = page.locator('li[data-job="selftest-slow"][data-status="running"]');
    await page.waitForFunction(() =>
      window.__studio!.store.getState().jobs.some((j) => j.job === "selftest-slow" && (j.progress ?? 0) > 0),
    );
    await row.getByRole("button", { name: "Cancel" }).click();
    const cancelled = await pending;
    expect(cancelled).toMatchObject({ ok: false, code: "CANCELLED" });
    await page.locator('li[data-job="selftest-slow"][data-status="cancelled"]').first().waitFor();
    expect(value(await runJob(page, "selftest-slow", { iterations: 3, delayMs: 1 }))).toEqual({
      completed: 3,
    });
    // Cooperative: the worker stopped the job itself and was not restarted.
    expect(await page.evaluate(() => window.__studio!.store.getState().workers.engine?.restarts)).toBe(0);
  });

  for (const mode of ["throw", "close", "hang"] as const) {
    it(`detects a crashed worker (${mode}), fails the job with WorkerCrashedError and restarts the worker`, async () => {
      const { page } = session.studio;
      const before = await page.evaluate(
        () => window.__studio!.store.getState().workers.engine?.restarts ?? 0,
      );
      const t0 = Date.now();
      const crashed = await runJob(page, "selftest-crash", { mode });
      expect(crashed).toMatchObject({ ok: false, name: "WorkerCrashedError", code: "WORKER_CRASHED" });
      expect(Date.now() - t0).toBeLessThan(15_000);
      const status = await page.evaluate(() => window.__studio!.store.getState().workers.engine);
      expect(status?.restarts).toBe(before + 1);
      // The restarted worker serves the next job.
      expect(value(await runJob(page, "selftest-slow", { iterations: 2, delayMs: 1 }))).toEqual({
        completed: 2,
      });
      await page.waitForFunction(() => window.__studio!.store.getState().workers.engine?.state === "ready");
      const row = page.locator('li[data-job="selftest-crash"][data-status="failed"]').first();
      expect(await row.getByRole("alert").textContent()).toMatch(/stopped unexpectedly.*restarted/);
    });
  }

  it("fetched everything from its own origin (including worker-loaded wasm) with no CSP violation", () => {
    expect(session.browser.requests).toContain(
      `${session.origin}/vendor/ort/ort-wasm-simd-threaded.jsep.wasm`,
    );
    session.expectClean();
  });
});
