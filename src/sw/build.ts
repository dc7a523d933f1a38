/**
 * Build step for the service worker (Node only; used by vite.config.ts). After vite has written the app, it
 * lists the built files (the shell), reads the bundled pack's manifest, hashes everything into the build's
 * version, and bundles sw.ts with that list into `<outDir>/sw.js`.
 *
 * It runs in `closeBundle`, when the public/ files and the worker bundles are on disk too, and lists the output
 * folder itself rather than rollup's bundle object, so nothing the app serves is missed.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { build as esbuild } from "esbuild";
import type { Plugin, ResolvedConfig } from "vite";
import { ModelPackError } from "../engine/errors.js";
import { parseManifest } from "../engine/packs/schema.js";
import { isShellFile, type SwBuild } from "./plan.js";

const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)).split(sep).join("/"))
    .sort();
}

/**
 * The precache list for the app built into `outDir`. `packDir` is the bundled pack's folder relative to the
 * app's base ("models/default/"); `packsRoot` the folder holding every pack ("models/"), none of which is shell.
 */
export function planBuild(outDir: string, packDir: string, packsRoot: string): SwBuild {
  const shell = listFiles(outDir).filter((p) => isShellFile(p, packsRoot));
  if (!shell.includes("index.html")) throw new Error(`service worker: ${outDir} has no index.html`);
  const version = createHash("sha256");
  for (const p of shell) version.update(`${p}\0${sha256(readFileSync(join(outDir, p)))}\n`);
  let pack: SwBuild["pack"] = null;
  const manifestPath = join(outDir, packDir, "manifest.json");
  let bytes: Buffer | null = null;
  try {
    bytes = readFileSync(manifestPath);
  } catch {
    bytes = null; // a build without the bundled pack: nothing to cache for it
  }
  if (bytes) {
    const manifest = parseManifest(new Uint8Array(bytes), manifestPath);
    for (const f of manifest.files) {
      const size = readFileSync(join(outDir, packDir, f.path)).length;
      if (size !== f.size)
        throw new ModelPackError(`${packDir}${f.path}: ${size} bytes, its manifest says ${f.size}`, {
          file: f.path,
        });
    }
    const manifestSha256 = sha256(bytes);
    pack = {
      id: manifest.id,
      dir: packDir,
      manifestSha256,
      files: [
        { path: "manifest.json", size: bytes.length, sha256: manifestSha256 },
        ...manifest.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
      ],
    };
    version.update(`pack\0${manifestSha256}\n`);
  }
  return { version: version.digest("hex").slice(0, 16), shell, pack };
}

/** Bundles `entry` (sw.ts) with `build` defined in it (a classic script: every browser with workers runs it). */
export async function bundleServiceWorker(entry: string, build: SwBuild, minify: boolean): Promise<string> {
  const out = await esbuild({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "iife",
    target: "es2022",
    platform: "browser",
    minify,
    legalComments: "none",
    define: { __STUDIO_SW_BUILD__: JSON.stringify(build) },
  });
  return out.outputFiles[0]!.text;
}

/**
 * Writes `<outDir>/sw.js` after each build, and defines `__STUDIO_SW__` (whether there is one) for the app.
 * `entry`: the absolute path of sw.ts.
 */
export function serviceWorkerPlugin(opts: { entry: string; packDir: string; packsRoot: string }): Plugin {
  let config: ResolvedConfig | null = null;
  return {
    name: "studio:service-worker",
    config(_, env) {
      // ui/offline.ts registers the worker only where this build wrote one (not under the dev server). Not
      // import.meta.env.PROD: a build started from vitest (e2e) runs with NODE_ENV=test and reads as non-PROD.
      return { define: { __STUDIO_SW__: JSON.stringify(env.command === "build") } };
    },
    configResolved(c) {
      config = c;
    },
    async closeBundle() {
      if (config?.command !== "build" || config.build.ssr) return;
      const outDir = resolve(config.root, config.build.outDir);
      const plan = planBuild(outDir, opts.packDir, opts.packsRoot);
      const code = await bundleServiceWorker(opts.entry, plan, Boolean(config.build.minify));
      writeFileSync(join(outDir, "sw.js"), code);
    },
  };
}
