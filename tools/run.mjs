#!/usr/bin/env node
/**
 * Runs a TypeScript entry point of tools/ (or bench/) in Node.
 *
 * Why a bundle: tfjs-core registers its gradients only from its ESM sources, whose extensionless imports plain
 * Node ESM cannot resolve (DESIGN.md "Known pitfalls"). esbuild bundles the entry with tfjs into one file under
 * .cache/tools/ (onnxruntime-node and other native packages stay external), then this script imports it.
 * Usage: node tools/run.mjs tools/cli.ts [args...]
 */
import { spawn } from "node:child_process";
import { mkdirSync, renameSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * glibc's malloc, as Node ships it, serves blocks of up to 32 MiB from its heaps once a few large blocks have been
 * freed (its mmap threshold adapts upwards), and those heaps fragment under ONNX Runtime's allocate-and-free
 * pattern: the 10-s ORT guidance step on the full-size models peaked at +7.23 GiB in its bench child, and a
 * session kept +2.7 to +4.3 GiB mapped after its runs. With the threshold fixed at 1 MiB every large tensor is its
 * own mapping, returned when freed: +5.61 GiB, 49.1 s instead of 55.0 (bench/results/2026-11-26-vm.md,
 * docs/memory.md). So every tool re-runs itself with MALLOC_MMAP_THRESHOLD_ set, unless it is set already or
 * STUDIO_MALLOC=default asks for glibc's own behaviour. Other C libraries ignore the variable.
 */
if (
  process.platform === "linux" &&
  !("MALLOC_MMAP_THRESHOLD_" in process.env) &&
  process.env.STUDIO_MALLOC !== "default"
) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: "1048576" },
  });
  // a terminal's Ctrl-C reaches the whole process group, the child too: this process only waits for it (the tools
  // treat a second SIGINT as "quit now"); a SIGTERM or SIGHUP sent to this process alone is passed on
  process.on("SIGINT", () => {});
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    console.error(`tools/run.mjs: could not start ${process.execPath}: ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else await runEntry();

async function runEntry() {
  // imported here: the re-running parent above never bundles
  const { build } = await import("esbuild");
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
}
