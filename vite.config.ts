/**
 * Vite config for the studio: React UI, module workers, and the security headers every server sends.
 *
 * - Cross-origin isolation (COOP same-origin + COEP require-corp) so wasm threads and SharedArrayBuffer work.
 * - A CSP that allows only same-origin scripts and workers plus `'wasm-unsafe-eval'` (never `'unsafe-eval'`).
 *   The dev server additionally needs a nonce for the React refresh preamble it inlines; `vite preview` /
 *   `npm start` serve the built app, which has no inline script or style at all.
 * - Runtime files that libraries fetch by URL (onnxruntime-web's wasm + its pthread module, ffmpeg core,
 *   tfjs-backend-wasm binaries) are served from the app's own origin under `/vendor/` — never from a CDN; the
 *   one CDN default left in a dependency (@ffmpeg/ffmpeg's core URL) is rewritten to that path at build time.
 * - Production builds get a service worker (`/sw.js`, src/sw/) that caches the app and the bundled pack.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { DEFAULT_PACK } from "./src/engine/packs/default-pack-info.js";
import { extraMirrorSources, MODEL_MIRROR_SOURCES } from "./src/engine/packs/mirrors.js";
import { serviceWorkerPlugin } from "./src/sw/build.js";

/** A file inside an installed package (some packages do not export their package.json, so no require.resolve). */
const nm = (path: string): string => fileURLToPath(new URL(`./node_modules/${path}`, import.meta.url));

/** URL path under `/vendor/` → file on disk. The runtime (src/engine/runtime/assets.ts) names the same paths. */
export const vendorFiles: Readonly<Record<string, string>> = Object.freeze({
  // onnxruntime-web "extern wasm" build: JSEP (WebGPU + wasm EPs). Its pthread workers start from the .mjs.
  "ort/ort-wasm-simd-threaded.jsep.mjs": nm("onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.mjs"),
  "ort/ort-wasm-simd-threaded.jsep.wasm": nm("onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm"),
  // ffmpeg.wasm single-thread core, ESM build (loaded by @ffmpeg/ffmpeg's module worker).
  "ffmpeg/ffmpeg-core.js": nm("@ffmpeg/core/dist/esm/ffmpeg-core.js"),
  "ffmpeg/ffmpeg-core.wasm": nm("@ffmpeg/core/dist/esm/ffmpeg-core.wasm"),
  // tfjs-backend-wasm binaries (the fallback backend when WebGPU is absent).
  "tfjs/tfjs-backend-wasm.wasm": nm("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"),
  "tfjs/tfjs-backend-wasm-simd.wasm": nm("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm"),
});

const mimeTypes: Readonly<Record<string, string>> = {
  js: "text/javascript",
  mjs: "text/javascript",
  wasm: "application/wasm",
};

/** Model downloads may reach the official repositories (and a deployment's own mirrors), nothing else. */
const MIRRORS = [...MODEL_MIRROR_SOURCES, ...extraMirrorSources(process.env.STUDIO_MODEL_MIRRORS)];

function csp(nonce: string | null): string {
  const n = nonce ? ` 'nonce-${nonce}'` : "";
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval'${n}`,
    "worker-src 'self'",
    `connect-src ${["'self'", ...MIRRORS].join(" ")}`,
    `style-src 'self'${n}`,
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function securityHeaders(nonce: string | null): Record<string, string> {
  return {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": csp(nonce),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
}

/** Serves `vendorFiles` in dev/preview and emits them into the build. */
function vendorPlugin(): Plugin {
  const serve = (url: string | undefined, res: ServerResponse): boolean => {
    const path = url?.split("?")[0]?.replace(/^\/vendor\//, "");
    const file = path ? vendorFiles[path] : undefined;
    if (!file) return false;
    res.setHeader("Content-Type", mimeTypes[file.split(".").pop() ?? ""] ?? "application/octet-stream");
    res.end(readFileSync(file));
    return true;
  };
  return {
    name: "studio:vendor",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!req.url?.startsWith("/vendor/") || !serve(req.url, res)) next();
      });
    },
    generateBundle() {
      for (const [path, file] of Object.entries(vendorFiles)) {
        this.emitFile({ type: "asset", fileName: `vendor/${path}`, source: readFileSync(file) });
      }
    },
  };
}

/**
 * @ffmpeg/ffmpeg's worker falls back to a core on unpkg.com when `load()` gets no `coreURL`. The studio always
 * passes one, but the URL would still sit in the bundle; point the fallback at our own copy instead, and fail
 * the build if a new version moved it (so a remote script URL cannot slip back in unnoticed).
 */
function noRemoteFfmpegCore(base: string): Plugin {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the exact source text of the dependency's template literal
  const remote = "`https://unpkg.com/@ffmpeg/core@${CORE_VERSION}/dist/umd/ffmpeg-core.js`";
  return {
    name: "studio:no-remote-ffmpeg-core",
    transform(code, id) {
      if (!/[\\/]@ffmpeg[\\/]ffmpeg[\\/]dist[\\/]esm[\\/]const\.js$/.test(id.split("?")[0] ?? ""))
        return null;
      if (!code.includes(remote))
        this.error(
          `${id}: @ffmpeg/ffmpeg no longer declares its core URL as expected; update vite.config.ts`,
        );
      return { code: code.replace(remote, JSON.stringify(`${base}vendor/ffmpeg/ffmpeg-core.js`)), map: null };
    },
  };
}

export default defineConfig(({ command, isPreview }) => {
  // The dev server inlines React's refresh preamble; it gets a per-server-start nonce. Builds need none.
  const nonce = command === "serve" && !isPreview ? randomBytes(16).toString("base64") : null;
  const base = "/";
  return {
    plugins: [
      react(),
      vendorPlugin(),
      noRemoteFfmpegCore(base),
      serviceWorkerPlugin({
        entry: fileURLToPath(new URL("./src/sw/sw.ts", import.meta.url)),
        packDir: DEFAULT_PACK.path,
        packsRoot: "models/",
      }),
    ],
    base,
    html: nonce ? { cspNonce: nonce } : {},
    resolve: {
      // The "extern wasm" build loads its wasm glue from env.wasm.wasmPaths (our /vendor/ort/), so ORT's
      // pthread workers start from a small same-origin module instead of re-running our worker bundle.
      alias: [{ find: /^onnxruntime-web$/, replacement: nm("onnxruntime-web/dist/ort.min.mjs") }],
    },
    optimizeDeps: {
      // ffmpeg's classes spawn their worker by URL and ORT loads its wasm glue by URL: leave them unbundled.
      exclude: ["@ffmpeg/ffmpeg", "@ffmpeg/util", "onnxruntime-web"],
      // Pre-bundle every tfjs entry in one pass so they share one tfjs-core (two copies break its registries),
      // and so the dev server does not discover them late (from the workers) and reload the page.
      include: [
        "@tensorflow/tfjs-core",
        "@tensorflow/tfjs-core/dist/register_all_gradients",
        "@tensorflow/tfjs-backend-webgpu",
        "@tensorflow/tfjs-backend-wasm",
        "@tensorflow/tfjs-backend-cpu",
      ],
    },
    // ffmpeg's worker.js (the one importing the core URL) is bundled by the worker pipeline, which runs only the
    // plugins listed here.
    worker: { format: "es", plugins: () => [noRemoteFfmpegCore(base)] },
    build: { target: "es2022", sourcemap: true, chunkSizeWarningLimit: 4096 },
    server: { headers: securityHeaders(nonce) },
    preview: { headers: securityHeaders(null) },
  };
});
