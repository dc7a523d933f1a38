/**
 * tfjs for training in Node: tfjs-backend-wasm (XNNPACK) with the training kernels it lacks registered
 * (src/engine/ops/tfjs_train.ts), including the faster input-gradient conv. Falls back to the cpu backend
 * (10–20× slower) when wasm cannot start.
 */
import { join } from "node:path";
import { registerWasmTrainingKernels } from "../../../src/engine/ops/tfjs_train.js";
import { startTfjsNode } from "../../../src/engine/runtime/tfjs-node.js";

export async function startTraining(): Promise<"wasm" | "cpu"> {
  const backend = await startTfjsNode("wasm");
  // after the backend's own kernels are registered, or its import would replace the faster input gradient
  registerWasmTrainingKernels({ fastBackpropInput: true, fastMatMul: true });
  return backend;
}

/** `--key value` flags of a training script. */
export function flags(argv: readonly string[] = process.argv.slice(2)): {
  num: (k: string, d: number) => number;
  str: (k: string, d: string) => string;
  has: (k: string) => boolean;
} {
  const get = (k: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith("--") ? argv[i + 1] : undefined;
  };
  return {
    num: (k, d) => {
      const v = get(k);
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`--${k} needs a number (got ${v})`);
      return n;
    },
    str: (k, d) => get(k) ?? d,
    has: (k) => argv.includes(`--${k}`),
  };
}

/**
 * Root folder of the training runs: .cache/train, or $TRAIN_ROOT (the orchestrator's --root, so a smoke run never
 * marks the real jobs finished).
 */
export const TRAIN_ROOT = process.env.TRAIN_ROOT ?? ".cache/train";

/** `<TRAIN_ROOT>/<job>`: a job's checkpoint folder. */
export function run(job: string): string {
  return join(TRAIN_ROOT, job);
}
