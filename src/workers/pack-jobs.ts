/**
 * The model-pack jobs as the engine worker hosts them: packs live in OPFS, and the memory planner's limits
 * come from the runtime's WebGPU device (`maxBufferSize`); WebGPU does not report how much memory the GPU has,
 * so the budget is a conservative default unless the UI passes one.
 */

import type { PackCache } from "../engine/packs/cache.js";
import { opfsCache } from "../engine/packs/cache-opfs.js";
import { packJobHandlers } from "../engine/packs/jobs.js";
import type { Runtime } from "../engine/runtime/runtime.js";

const GiB = 1024 ** 3;
/** Default budgets: a mid-range GPU, or what a wasm32 heap can hold. */
export const DEFAULT_BUDGET = Object.freeze({ webgpu: 4 * GiB, wasm: 2 * GiB });

export function enginePackJobs(getRuntime: () => Promise<Runtime>) {
  let cache: Promise<PackCache> | null = null;
  return packJobHandlers({
    cache: () => {
      if (!cache) {
        cache = opfsCache();
        cache.catch(() => {
          cache = null; // retried by the next job
        });
      }
      return cache;
    },
    limits: async () => {
      const rt = await getRuntime();
      const limits = rt.report.webgpu?.deviceLimits;
      return {
        budgetBytes: rt.device ? DEFAULT_BUDGET.webgpu : DEFAULT_BUDGET.wasm,
        maxBufferSize: limits?.maxBufferSize ?? 2 * GiB,
      };
    },
  });
}
