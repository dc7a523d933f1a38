/**
 * What a running engine job sees: a cancellation signal and an event sink (STYLE.md 10–11).
 * Events are plain, structured-clone-safe objects — a discriminated union on `type` — so a worker can post
 * them unchanged; the zod schema validates them where they cross the worker boundary.
 */
import { z } from "zod";
import { CancelledError } from "../errors.js";
import { bytesSchema, float32Schema } from "./schema.js";

const RunNameSchema = z.enum(["vanilla", "guided"]);

export const JobEventSchema = z.discriminatedUnion("type", [
  /** The job entered a named phase (loading, encoding, denoising, decoding, muxing, …); `run` in compare mode. */
  z.object({
    type: z.literal("phase"),
    phase: z.string().min(1),
    message: z.string().optional(),
    run: RunNameSchema.optional(),
    detail: z.string().optional(),
  }),
  /** Progress within the current phase; `done` never exceeds `total`. */
  z.object({
    type: z.literal("progress"),
    phase: z.string().min(1),
    done: z.number().nonnegative(),
    total: z.number().positive(),
  }),
  /**
   * One iteration of a loop (a denoising step, a self-test iteration); `loss` when there is one. Pipelines add
   * which run it belongs to, the timestep, whether the aligner acted, its loss terms and the step's time.
   */
  z.object({
    type: z.literal("step"),
    i: z.number().int().nonnegative(),
    n: z.number().int().positive(),
    loss: z.number().optional(),
    run: RunNameSchema.optional(),
    t: z.number().optional(),
    guided: z.boolean().optional(),
    terms: z.record(z.string(), z.number()).optional(),
    innerLosses: z.array(z.number()).optional(),
    ms: z.number().nonnegative().optional(),
  }),
  z.object({ type: z.literal("log"), level: z.enum(["debug", "info", "warn"]), message: z.string() }),
  /** The prompt a generation uses (the automatic one with its ranked candidates when none was given). */
  z.object({
    type: z.literal("prompt"),
    prompt: z.string(),
    auto: z.boolean(),
    candidates: z.array(z.object({ label: z.string(), score: z.number() })).optional(),
  }),
  /** A cheap x0 preview: a log-mel image [frames, bins] or RGB frames [n, h, w, 3] (buffers are transferred). */
  z.object({
    type: z.literal("preview"),
    run: RunNameSchema,
    i: z.number().int().nonnegative(),
    preview: z.object({
      kind: z.enum(["mel", "frames"]),
      data: z.union([float32Schema(), bytesSchema()]),
      shape: z.array(z.number().int().nonnegative()),
    }),
  }),
  /** Guided prompt tuning moved the prompt embedding (`norm`: its distance from the encoded prompt). */
  z.object({ type: z.literal("prompt-update"), run: RunNameSchema, i: z.number().int(), norm: z.number() }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;

export interface JobContext {
  /** Aborted when the job is cancelled; check it once per iteration / step. */
  readonly signal: AbortSignal;
  emit(event: JobEvent): void;
}

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError();
}

/** Resolves after `ms`, or rejects with `CancelledError` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CancelledError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** `p`, or a CancelledError as soon as `signal` aborts (`p` itself goes on, e.g. a session being built). */
export function untilCancelled<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
