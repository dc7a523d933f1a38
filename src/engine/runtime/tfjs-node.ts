/**
 * tfjs in Node (CLI, eval, bench, tests): tfjs-backend-wasm (10–25× faster than the pure-JS cpu backend on
 * the model paths), falling back to cpu. tfjs-node is not an option here (it downloads a native binary).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { startTfjsWasm } from "./tfjs-backend.js";

let wasmStarted: Promise<boolean> | null = null;

/** Registers and initialises the wasm backend once; resolves false if it cannot start. */
export function ensureTfjsWasm(): Promise<boolean> {
  wasmStarted ??= (async () => {
    try {
      const dir = join(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm")), "/");
      // Emscripten's Node loader reads `__dirname`, which an ESM bundle (tools/run.mjs) lacks.
      if (typeof __dirname === "undefined") (globalThis as { __dirname?: string }).__dirname = dir;
      const prev = tf.getBackend();
      const name = await startTfjsWasm(dir);
      if (prev && prev !== name) await tf.setBackend(prev);
      return name === "wasm";
    } catch {
      return false;
    }
  })();
  return wasmStarted;
}

/** Select the fastest available tfjs backend for Node ("wasm", else "cpu"); production mode (no debug checks). */
export async function startTfjsNode(prefer: "wasm" | "cpu" = "wasm"): Promise<"wasm" | "cpu"> {
  tf.env().set("PROD", true);
  const name = prefer === "wasm" && (await ensureTfjsWasm()) ? "wasm" : "cpu";
  await tf.setBackend(name);
  await tf.ready();
  return name;
}
