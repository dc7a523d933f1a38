/**
 * Out-of-memory at run time (issue 11 item 3): the planner refuses runs it knows cannot fit (planner.ts,
 * `requirePlan`), but its budget is an estimate — a GPU shared with other tabs, or a wasm heap that cannot grow,
 * can still fail an allocation mid-job. Each library says so differently; this recognises them and turns them
 * into one OutOfMemoryError whose message says what ran out and what to change (the planner's suggestions for
 * the run when the caller can give them: src/workers/oom-advice.ts).
 */

import { ErrorCode, OutOfMemoryError, StudioError } from "../errors.js";

/** Messages of allocation failures: V8, Emscripten/wasm heaps, onnxruntime, tfjs, WebGPU. */
const OOM_MESSAGE =
  /array buffer allocation failed|out of memory|\boom\b|bad_alloc|failed to allocate|cannot enlarge memory|could not allocate memory|allocation of .* failed|exceeds the maximum buffer size|maxBufferSize|maxStorageBufferBindingSize/i;

/** True for an error that reports an allocation failure (including an OutOfMemoryError itself). */
export function isOutOfMemory(err: unknown): boolean {
  if (err instanceof StudioError) return err.code === ErrorCode.OutOfMemory;
  if (!(err instanceof Error) && !(typeof err === "object" && err !== null && "message" in err)) return false;
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (name === "GPUOutOfMemoryError") return true;
  return typeof message === "string" && OOM_MESSAGE.test(message);
}

const GENERIC_ADVICE =
  "Try a shorter audio length, fewer frames or a lower resolution, running without the aligner, or a pack with " +
  "smaller (q4) models; closing other GPU-heavy tabs also frees memory.";

/**
 * `err` as an OutOfMemoryError that keeps the original message and adds `advice` (or a generic one). An
 * OutOfMemoryError is returned as it is.
 */
export function outOfMemoryError(err: unknown, advice: string | null): OutOfMemoryError {
  if (err instanceof OutOfMemoryError) return err;
  const raw = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
  const what = raw.trim().split("\n")[0]!.slice(0, 300);
  return new OutOfMemoryError(`Not enough memory for this run (${what}). ${advice ?? GENERIC_ADVICE}`, {
    original: what,
  });
}
