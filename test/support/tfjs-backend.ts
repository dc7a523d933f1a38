/**
 * Run a block of a test on a chosen tfjs backend, then restore the previous one.
 *
 * Why: the cpu backend's broadcasting binary ops, softmax, slice and transpose are per-element index loops
 * (~1 µs per element), so attention-heavy models (the diffusers UNets) take minutes per fixture there, while
 * tfjs-backend-wasm runs the same programs 10–25× faster within the same tolerances. Families that need the
 * cpu backend's accumulation order keep using it (the default). `PARITY_TFJS_BACKEND=cpu` forces cpu.
 */

import * as tf from "@tensorflow/tfjs-core";
import { ensureTfjsWasm } from "../../src/engine/runtime/tfjs-node.js";

/** The backend `withTfjsBackend(preferred, …)` will actually use. */
export async function resolveBackend(preferred: "wasm" | "cpu"): Promise<"wasm" | "cpu"> {
  if (process.env.PARITY_TFJS_BACKEND === "cpu" || preferred === "cpu") return "cpu";
  return (await ensureTfjsWasm()) ? "wasm" : "cpu";
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
