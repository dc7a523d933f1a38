/**
 * Self-test (c): a long, cancellable job. It checks cancellation once per iteration (STYLE.md 10), so a
 * cancel returns within one iteration and the worker is free for the next job.
 */
import { z } from "zod";
import { type JobContext, sleep, throwIfCancelled } from "../job.js";

export const SlowParamsSchema = z.object({
  iterations: z.number().int().min(1).max(100_000),
  delayMs: z.number().min(0).max(10_000),
});
export type SlowParams = z.infer<typeof SlowParamsSchema>;
export const SlowResultSchema = z.object({ completed: z.number().int() });

export async function selftestSlow(p: SlowParams, ctx: JobContext): Promise<{ completed: number }> {
  ctx.emit({ type: "phase", phase: "looping" });
  for (let i = 0; i < p.iterations; i++) {
    throwIfCancelled(ctx.signal);
    await sleep(p.delayMs, ctx.signal);
    ctx.emit({ type: "step", i: i + 1, n: p.iterations });
  }
  return { completed: p.iterations };
}
