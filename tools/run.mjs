#!/usr/bin/env node
import { mkdirSync, renameSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
/**
 * Runs a TypeScript entry point of tools/ (or bench/) in Node.
 *
 * Why a bundle: tfjs-core registers its gradients only from its ESM sources, whose extensionless imports plain
 * Node ESM cannot resolve (DESIGN.md "Known pitfalls"). esbuild bundles the entry with tfjs into one file under
 * .cache/tools/ (onnxruntime-node and other native packages stay external), then this script imports it.
 * Usage: node tools/run.mjs tools/cli.ts [args...]
 */
import { build } from "esbuild";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node tools/run.mjs <entry.ts> [args...]");
  process.exit(2);
}
const outdir = resolve(".cache/tools");
mkdirSync(outdir, { recursive: true });
const name = basename(entry).replace(/\.ts$/, "");
const outfile = resolve(outdir, `${name}.mjs`);
// Built under a name of this process, then renamed into place (atomic): processes started together on the same
// entry (e.g. four `npm run eval` tasks side by side) never import a bundle another one is still writing.
const tmpfile = resolve(outdir, `${name}.${process.pid}.tmp.mjs`);
await build({
  entryPoints: [entry],
  outfile: tmpfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
  // Prefer ESM builds (one copy of tfjs-core, with its gradients) and keep side-effect imports such as
  // "@tensorflow/tfjs-backend-cpu" (their package.json sideEffects lists would otherwise drop them).
  mainFields: ["module", "main"],
  ignoreAnnotations: true,
  external: ["onnxruntime-node", "onnxruntime-web", "playwright-core", "fast-check", "esbuild", "vite"],
  // Bundled CommonJS dependencies may call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});
renameSync(tmpfile, outfile);
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
