/**
 * Issue 11 item 3 in the browser: the shared GPUDevice (ORT's WebGPU EP + tfjs-webgpu, on SwiftShader here) is
 * destroyed while a generate job is denoising → the job fails with DeviceLostError and a message that says what
 * to do, the engine worker is replaced (a new wasm heap and a new device), and the next generate job succeeds. The fault is injected as a GPU reset would happen: from outside the job, through the engine
 * worker's "studio-faults" BroadcastChannel (src/workers/engine.worker.ts).
 */
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed, runJob, t2aParams, value } from "./support/studio.js";

const session = studioSession();

/** T2A on the bundled pack at its smallest: 1 s of audio, no aligner, forward passes on ORT's WebGPU EP. */
const t2a = (steps: number, executor: "auto" | "wasm" = "auto") =>
  t2aParams({ prompt: "rain on a tin roof", seed: 3, steps, executor, gradExecutor: undefined });

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

    // the fresh worker has a new WebGPU device, and the next job produces finite audio (its forward passes on
    // the wasm EP: a second WebGPU model load costs SwiftShader ~3 min here, and the WebGPU EP is covered above)
    console.info(`restarted after ${Math.round((Date.now() - t0) / 1000)} s`);
    const again = value(await runJob(page, "probe", {}));
    expect(again.backend).toBe("webgpu");
    expect((again.webgpu as { sharedDevice: boolean }).sharedDevice).toBe(true);
    const out = value(await runJob(page, "generate", t2a(2, "wasm")));
    expect(out.executors).toMatchObject({ forward: "onnxruntime-web wasm" });
    const wave = (out.runs as { vanilla?: { waveform?: number[] } }).vanilla?.waveform ?? [];
    expect(wave.length).toBeGreaterThan(0);
    expect(wave.every(Number.isFinite)).toBe(true);
    console.info(`device lost → job failed in ${failMs} ms; restarted; next job ok (${wave.length} samples)`);
    session.expectClean();
  });
});

/**
 * Issue 11 item 4, the gallery's IndexedDB writes (src/ui/studio/gallery-db.ts, the module the studio uses, served
 * by a Vite dev server so the page can import it): a reload while a save is in flight leaves either the old entry
 * with its old media or the complete new one, never a mix. (Quota exceeded, with a real QuotaExceededError from
 * CDP's Storage.overrideQuotaForOrigin, is e2e/quota.e2e.ts.)
 */
/** The gallery module as the dev server serves it. */
const MODULE = "/src/ui/studio/gallery-db.ts";
type GalleryModule = typeof import("../src/ui/studio/gallery-db.js");

describe("gallery storage", () => {
  type Probe = { version: number | null; blobs: Record<string, string> };

  it("a reload during a save leaves either the old entry or the complete new one", {
    timeout: 300_000,
  }, async () => {
    const { createServer } = await import("vite");
    const dev = await createServer({
      logLevel: "warn",
      server: { host: "127.0.0.1", port: 0, strictPort: false, hmr: false },
    });
    await dev.listen();
    const base = dev.resolvedUrls!.local[0]!;
    const page = await session.browser.context.newPage();
    try {
      // any same-origin document; the module is imported by a string expression (vitest rewrites import() in
      // functions it transforms, so a function handed to evaluate cannot import)
      const load = () =>
        page.evaluate(
          `import(${JSON.stringify(MODULE)}).then((m) => { window.__gallery = m; return true; })`,
        );
      await page.goto(`${base}src/ui/studio/gallery-db.ts`);
      await load();
      /** Saves version `v` of entry "e" (two blobs of `mb` MB, each starting with its version). */
      const save = (v: number, mb: number, reloadAfterMs: number | null) =>
        page.evaluate(
          async ([v, mb, reloadAfterMs]) => {
            const { openGalleryDb } = (window as unknown as { __gallery: GalleryModule }).__gallery;
            const db = openGalleryDb("reliability-gallery");
            const blob = (name: string) => {
              const bytes = new Uint8Array(mb * 1024 * 1024);
              bytes.set(new TextEncoder().encode(`v${v}:${name}:`));
              return new Blob([bytes]);
            };
            const meta = { id: "e", createdAt: v, title: `version ${v}` } as never;
            const saving = db.save(meta, { input: blob("input"), guided: blob("guided") });
            if (reloadAfterMs === null) {
              await saving;
              return "saved";
            }
            saving.catch(() => undefined);
            setTimeout(() => location.reload(), reloadAfterMs);
            return "reloading";
          },
          [v, mb, reloadAfterMs] as const,
        );
      const read = () =>
        page.evaluate(async (): Promise<Probe> => {
          const { openGalleryDb } = (window as unknown as { __gallery: GalleryModule }).__gallery;
          const db = openGalleryDb("reliability-gallery");
          const entry = (await db.list()).find((e) => e.id === "e");
          const blobs = await db.blobs("e");
          const heads: Record<string, string> = {};
          for (const [k, b] of Object.entries(blobs)) heads[k] = (await b.slice(0, 16).text()).split(":")[0]!;
          return { version: entry ? entry.createdAt : null, blobs: heads };
        });

      expect(await save(1, 1, null)).toBe("saved");
      expect(await read()).toEqual({ version: 1, blobs: { input: "v1", guided: "v1" } });

      // reloads at several points of a 2 × 24 MB save
      const outcomes: string[] = [];
      let current = 1;
      for (const [i, delay] of [0, 5, 20, 60, 150, 400, 1000].entries()) {
        const v = 10 + i;
        await save(v, 24, delay);
        await page.waitForEvent("load", { timeout: 60_000 });
        await load();
        const got = await read();
        // all or nothing: the metadata and every blob are of one version, the old one or the new one
        expect([current, v]).toContain(got.version);
        expect(got.blobs).toEqual({ input: `v${got.version}`, guided: `v${got.version}` });
        outcomes.push(`${delay} ms: ${got.version === v ? "new" : "old"}`);
        current = got.version!;
      }
      console.info(`reload during save → ${outcomes.join(", ")}`);
      // at least one reload landed before the commit (a 48 MB transaction cannot commit within one task)
      expect(outcomes.some((o) => o.endsWith("old"))).toBe(true);
    } finally {
      await page.close();
      await dev.close();
    }
  });
});
