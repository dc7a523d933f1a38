/**
 * Offline use, against the production build: the first load registers the service worker, which precaches the
 * app and then the bundled pack; with the browser offline *and* the server stopped, a reload still renders the
 * studio, stays cross-origin isolated (the cached responses keep COOP/COEP/CSP), the runtime probe is ready, and
 * the bundled pack — read in place over HTTP Range, as the studio reads it — installs, loads and generates.
 *
 * The file runs its own `vite preview` of the built app (the same server and headers as `npm start`) so that it
 * can stop it: the origin then really has no server behind it.
 */
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { type PreviewServer, preview } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Browser,
  foreignRequests,
  launchBrowser,
  openStudio,
  type StudioPage,
} from "./support/browser.js";
import { probed, runJob, t2aParams, value } from "./support/studio.js";

let server: PreviewServer | null = null;
let browser: Browser | null = null;
let studio: StudioPage | null = null;
let origin = "";

beforeAll(async () => {
  server = await preview({ logLevel: "warn", preview: { host: "127.0.0.1", port: 0, strictPort: false } });
  origin = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  studio = await openStudio(browser, `${origin}/`);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const page = () => studio!.page;

describe("offline", () => {
  it("on first load the service worker takes control, precaches the app and caches the bundled pack", async () => {
    await page().waitForFunction(() => navigator.serviceWorker.controller !== null, null, {
      timeout: 60_000,
    });
    await page().keyboard.press("Alt+6");
    const line = page().getByTestId("offline-status");
    await page().waitForSelector('[data-testid="offline-status"][data-offline="ready"]', {
      timeout: 120_000,
    });
    expect(await line.getByRole("status").textContent()).toMatch(
      /^Available offline: the app and the bundled pack/,
    );
    const stored = await page().evaluate(async () => {
      const out: Record<string, string[]> = {};
      for (const name of await caches.keys()) {
        out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
      }
      return out;
    });
    const shell = Object.entries(stored).find(([n]) => n.startsWith("studio-shell-"))?.[1] ?? [];
    const pack = Object.entries(stored).find(([n]) => n.startsWith("studio-pack-default-"))?.[1] ?? [];
    expect(shell).toContain("/index.html");
    expect(shell).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/assets\/engine\.worker-.*\.js$/)]),
    );
    expect(shell).toEqual(
      expect.arrayContaining([
        "/vendor/ort/ort-wasm-simd-threaded.jsep.wasm",
        "/vendor/ort/ort-wasm-simd-threaded.jsep.mjs",
        "/vendor/ffmpeg/ffmpeg-core.wasm",
        "/vendor/tfjs/tfjs-backend-wasm-simd.wasm",
      ]),
    );
    expect(shell.some((p) => p.endsWith(".map") || p.startsWith("/models/"))).toBe(false);
    const manifest = (await (await fetch(`${origin}/models/default/manifest.json`)).json()) as {
      files: { path: string }[];
    };
    expect(pack.sort()).toEqual(
      ["manifest.json", ...manifest.files.map((f) => f.path)].map((p) => `/models/default/${p}`).sort(),
    );
  });

  it("with the network off and the server stopped, a reload renders the studio, cross-origin isolated", async () => {
    await browser!.context.setOffline(true);
    await server!.close();
    server = null;
    expect(
      await fetch(`${origin}/`).then(
        () => "up",
        () => "down",
      ),
    ).toBe("down");
    const res = await page().reload();
    await page().getByRole("tablist").waitFor();
    expect(res?.fromServiceWorker()).toBe(true);
    const h = res!.headers();
    expect(h["cross-origin-opener-policy"]).toBe("same-origin");
    expect(h["cross-origin-embedder-policy"]).toBe("require-corp");
    expect(h["content-security-policy"]).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    expect(await page().evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await probed(page())).toBe("ready");
    const report = value(await runJob(page(), "probe", {}));
    expect(report.crossOriginIsolated).toBe(true); // the engine worker, its script served by the service worker
    await page().keyboard.press("Alt+6");
    await page().waitForSelector('[data-testid="offline-status"][data-offline="ready"]');
    await mkdir("e2e/artifacts", { recursive: true });
    await page().getByTestId("offline-status").screenshot({ path: "e2e/artifacts/offline-status.png" });
  });

  it("serves byte ranges of the cached pack like the server did", async () => {
    const r = await page().evaluate(async () => {
      const url = "/models/default/audioldm/vae/model.safetensors";
      const probe = await fetch(url, { headers: { Range: "bytes=0-0" }, cache: "no-store" });
      const whole = new Uint8Array(await (await fetch(url)).arrayBuffer());
      const part = await fetch(url, {
        headers: { Range: "bytes=8-15", "If-Range": probe.headers.get("Last-Modified") ?? "" },
      });
      const bytes = new Uint8Array(await part.arrayBuffer());
      return {
        probe: [probe.status, probe.headers.get("Content-Range")],
        part: [part.status, part.headers.get("Content-Range")],
        same: bytes.every((b, i) => b === whole[i + 8]) && bytes.length === 8,
        size: whole.length,
        corp: part.headers.get("Cross-Origin-Resource-Policy"),
      };
    });
    expect(r.probe).toEqual([206, `bytes 0-0/${r.size}`]);
    expect(r.part).toEqual([206, `bytes 8-15/${r.size}`]);
    expect(r.same).toBe(true);
    expect(r.corp).toBe("same-origin");
  });

  it("installs the bundled pack from the cache, every file's sha256 checked, and loads it", async () => {
    const installed = value(
      await runJob(page(), "packs-install", {
        mirrors: [`${origin}/models/default/`],
        expectedId: "default",
      }),
    );
    expect(installed.id).toBe("default");
    const loaded = value(await runJob(page(), "packs-load", { id: "default" }));
    expect((loaded.components as unknown[]).length).toBe(9);
  });

  it("generates with the bundled pack read in place over HTTP Range (answered by the service worker)", {
    timeout: 240_000,
  }, async () => {
    const out = value(await runJob(page(), "generate", t2aParams({ steps: 1 })));
    expect(out.packId).toBe("default");
    const wave = (out.runs as { vanilla?: { waveform?: number[] } }).vanilla?.waveform ?? [];
    expect(wave.length).toBeGreaterThan(0);
    expect(wave.every(Number.isFinite)).toBe(true);
  });

  it("made no request off its origin and had no CSP violation or page error", () => {
    expect(foreignRequests(browser!.requests, origin)).toEqual([]);
    expect(studio!.problems.filter((p) => /CSP violation|pageerror/.test(p))).toEqual([]);
  });
});
