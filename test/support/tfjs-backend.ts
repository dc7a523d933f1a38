/**
 * Run a block of a test on a chosen tfjs backend, then restore the previous one.
 *
 * Why: the cpu backend's broadcasting binary ops, softmax, slice and transpose are per-element index loops
 * (~1 µs per element), so attention-heavy models (the diffusers UNets) take minutes per fixture there, while
 * tfjs-backend-wasm runs the same programs 10–25× faster within the same tolerances. Families that need the
 * cpu backend's accumulation order keep using it (the default). `PARITY_TFJS_BACKEND=cpu` forces cpu.
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";

let wasmReady: Promise<boolean> | null = null;

/** Register and initialise tfjs-backend-wasm once (single-threaded, as in the browser under COOP/COEP). */
function startWasm(): Promise<boolean> {
  wasmReady ??= (async () => {
    try {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const dir = join(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm")), "/");
      // Emscripten's Node loader reads `__dirname`, which an ESM bundle (tools/run.mjs) does not define
      // (vitest and CommonJS do): only there, provide it as a global.
      if (typeof __dirname === "undefined") (globalThis as { __dirname?: string }).__dirname = dir;
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      wasm.setWasmPaths(dir);
      const prev = tf.getBackend();
      const ok = await tf.setBackend("wasm");
      if (prev) await tf.setBackend(prev);
      return ok;
    } catch {
      return false;
    }
  })();
  return wasmReady;
}

/** The backend `withTfjsBackend(preferred, …)` will actually use. */
export async function resolveBackend(preferred: "wasm" | "cpu"): Promise<"wasm" | "cpu"> {
  if (process.env.PARITY_TFJS_BACKEND === "cpu" || preferred === "cpu") return "cpu";
  return (await startWasm()) ? "wasm" : "cpu";
}

export async function withTfjsBackend<R>(preferred: "wasm" | "cpu", f: () => Promise<R>): Promise<R> {
  const want = await resolveBackend(preferred);
  const prev = tf.getBackend();
  if (prev === want) return f();
  await tf.setBackend(want);
  try {
    return await f();
  } finally {
    await tf.setBackend(prev);
  }
}
