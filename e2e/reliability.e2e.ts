/**
 * Issue 11 item 3 in the browser: the shared GPUDevice (ORT's WebGPU EP + tfjs-webgpu, on SwiftShader here) is
 * destroyed while a generate job is denoising → the job fails with DeviceLostError and a message that says what
 * to do, the engine worker is replaced (a new wasm heap and a new device), and the next generate job succeeds
 * on WebGPU. The fault is injected as a GPU reset would happen: from outside the job, through the engine
 * worker's "studio-faults" BroadcastChannel (src/workers/engine.worker.ts).
 */
import { describe, expect, it } from "vitest";
import type { JobParams } from "../src/workers/protocol.js";
import { studioSession } from "./support/session.js";
import { probed, runJob, value } from "./support/studio.js";

const session = studioSession();

/** T2A on the bundled pack at its smallest: 1 s of audio, no aligner, forward passes on ORT's WebGPU EP. */
const t2a = (steps: number): JobParams<"generate"> => ({
  task: "t2a",
  pack: { kind: "bundled" },
  prompt: "rain on a tin roof",
  seed: 3,
  steps,
  compare: false,
  previewEvery: 0,
  durationS: 1,
  guidanceScale: 2.5,
  executor: "auto",
  aligner: {
    enabled: false,
    warmup: 0.2,
    iterations: 1,
    optimizer: "adam",
    lambda: 0.1,
    weights: { text: 1, vision: 1 },
    promptTuning: { enabled: false, lambda: 0 },
  },
});

describe("GPU device lost mid-job", () => {
  it("fails the job with DeviceLostError, restarts the engine on a new device, and the next job succeeds", {
    timeout: 720_000,
  }, async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    const probe = value(await runJob(page, "probe", {}));
    expect(probe.backend).toBe("webgpu");
    const before = await page.evaluate(() => window.__studio!.store.getState().workers.engine?.restarts ?? 0);

    const tStart = Date.now();
    const pending = runJob(page, "generate", t2a(40));
    // denoising has started: a step event arrived after the model load
    await page.waitForFunction(
      () =>
        window
          .__studio!.store.getState()
          .jobs.some(
            (j) =>
              j.job === "generate" &&
              j.status === "running" &&
              j.phase === "denoising" &&
              (j.progress ?? 0) > 0,
          ),
      null,
      { timeout: 360_000, polling: 50 },
    );
    const t0 = Date.now();
    console.info(`denoising after ${Math.round((t0 - tStart) / 1000)} s`);
    await page.evaluate(() => new BroadcastChannel("studio-faults").postMessage({ fault: "destroy-device" }));
    const lost = await pending;
    const failMs = Date.now() - t0;
    if (!lost.ok) console.info(`the job failed with ${lost.name}: ${lost.message}`);
    expect(lost).toMatchObject({ ok: false, name: "DeviceLostError", code: "DEVICE_LOST" });
    if (!lost.ok) expect(lost.message).toMatch(/GPU device was lost \(destroyed.*run the job again/);
    expect(failMs).toBeLessThan(10_000);

    // the client replaced the worker; the fresh one says "ready"
    await page.waitForFunction(
      (n) => {
        const w = window.__studio!.store.getState().workers.engine;
        return w?.state === "ready" && w.restarts === n + 1;
      },
      before,
      { timeout: 60_000 },
    );
    const status = await page.evaluate(() => window.__studio!.store.getState().workers.engine);
    expect(status?.lastCrash).toMatch(/GPU device was lost/);

    // the next job runs on a new WebGPU device and produces finite audio
    console.info(`restarted after ${Math.round((Date.now() - t0) / 1000)} s`);
    const again = value(await runJob(page, "probe", {}));
    expect(again.backend).toBe("webgpu");
    const out = value(await runJob(page, "generate", t2a(2)));
    expect(out.executors).toMatchObject({ forward: "onnxruntime-web webgpu" });
    const wave = (out.runs as { vanilla?: { waveform?: number[] } }).vanilla?.waveform ?? [];
    expect(wave.length).toBeGreaterThan(0);
    expect(wave.every(Number.isFinite)).toBe(true);
    console.info(`device lost → job failed in ${failMs} ms; restarted; next job ok (${wave.length} samples)`);
    session.expectClean();
  });
});
