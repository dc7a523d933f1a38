/**
 * The browser section: bundles bench/browser/entry.ts for the browser (esbuild, onnxruntime-web's extern-wasm
 * build as the app uses it), serves it with the app's cross-origin-isolation headers and the same /vendor/
 * runtime files as vite.config.ts, and runs it in headless Chromium through the e2e harness's launcher
 * (e2e/support/browser.ts: same binary, flags and WebGPU switch as the e2e suite).
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { CHROMIUM_PATH, launchBrowser } from "../../e2e/support/browser.js";
import type { BrowserResult } from "./results.js";

export interface BrowserOptions {
  quick: boolean;
  /** the page stops starting new cases after this long */
  budgetMs: number;
  log: (s: string) => void;
}

/** The runtime files the engine loads by URL (mirrors `vendorFiles` in vite.config.ts). */
const VENDOR: Readonly<Record<string, string>> = {
  "ort/ort-wasm-simd-threaded.jsep.mjs": "onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.mjs",
  "ort/ort-wasm-simd-threaded.jsep.wasm": "onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm",
  "tfjs/tfjs-backend-wasm.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
  "tfjs/tfjs-backend-wasm-simd.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
};

const HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

async function bundle(): Promise<string> {
  const { build } = await import("esbuild");
  const out = resolve(".cache/bench-browser/bench.js");
  await build({
    entryPoints: ["bench/browser/entry.ts"],
    outfile: out,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    mainFields: ["module", "main"],
    ignoreAnnotations: true,
    logLevel: "warning",
    alias: { "onnxruntime-web": resolve("node_modules/onnxruntime-web/dist/ort.min.mjs") },
    define: { "process.env.NODE_ENV": '"production"' },
  });
  return out;
}

function serve(bundlePath: string): Promise<Server> {
  const page =
    '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { "Content-Type": type, ...HEADERS });
      res.end(body);
    };
    if (url === "/") return send("text/html", page);
    if (url === "/bench.js") return send("text/javascript", readFileSync(bundlePath));
    const v = VENDOR[url.replace(/^\/vendor\//, "")];
    if (v)
      return send(
        v.endsWith(".wasm") ? "application/wasm" : "text/javascript",
        readFileSync(join("node_modules", v)),
      );
    res.writeHead(404, HEADERS);
    res.end();
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

export async function runBrowserBench(o: BrowserOptions): Promise<BrowserResult> {
  let server: Server | null = null;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | null = null;
  try {
    const file = await bundle();
    server = await serve(file);
    const port = (server.address() as AddressInfo).port;
    browser = await launchBrowser({ webgpu: true });
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => "__bench" in globalThis, null, { timeout: 60_000 });
    o.log(`browser: ${CHROMIUM_PATH}`);
    const r = (await page.evaluate(
      (opts) => (globalThis as unknown as { __bench(x: typeof opts): Promise<unknown> }).__bench(opts),
      { quick: o.quick, repeats: o.quick ? 1 : 2, budgetMs: o.budgetMs },
    )) as BrowserResult;
    if (errors.length) r.notes = [...(r.notes ?? []), ...errors.map((e) => `page error: ${e}`)];
    const a = r.adapter;
    o.log(
      `browser adapter: ${a ? `${a.vendor} ${a.architecture} ${a.description}` : "none (wasm fallback)"}`,
    );
    for (const c of r.components ?? [])
      o.log(`  ${c.component} ${c.shape} ${c.executor}: median ${c.medianMs.toFixed(0)} ms`);
    return r;
  } catch (e) {
    return { skipped: `browser bench failed: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    await browser?.close();
    server?.close();
  }
}
