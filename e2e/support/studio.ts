/** Drives the studio from tests through `window.__studio` — the same commands and store the UI uses. */
import type { Page } from "playwright-core";
import type { JobParams, JobType } from "../../src/workers/protocol.js";

export type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain };

/** A job's outcome with typed arrays turned into plain arrays (so it survives page.evaluate). */
export type Outcome =
  | { ok: true; value: { [k: string]: Plain } }
  | { ok: false; name: string; code: string; message: string };

export function runJob<J extends JobType>(page: Page, job: J, params: JobParams<J>): Promise<Outcome> {
  return page.evaluate(
    async ([job, params]) => {
      const plain = (v: unknown): unknown =>
        ArrayBuffer.isView(v)
          ? Array.from(v as unknown as ArrayLike<number>)
          : Array.isArray(v)
            ? v.map(plain)
            : v && typeof v === "object"
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
              : v;
      try {
        const value = await window.__studio!.commands.run(job as never, params as never);
        return { ok: true, value: plain(value) } as never;
      } catch (e) {
        const err = e as { name: string; code?: string; message: string };
        return { ok: false, name: err.name, code: err.code ?? "", message: err.message } as never;
      }
    },
    [job, params] as const,
  );
}

/** Waits until the capability probe the studio starts on load has finished; returns its status. */
export async function probed(page: Page, timeout = 120_000): Promise<string> {
  await page.waitForFunction(
    () => {
      const s = window.__studio?.store.getState().capabilities.status;
      return s === "ready" || s === "error";
    },
    null,
    { timeout },
  );
  return page.evaluate(() => window.__studio!.store.getState().capabilities.status);
}

export function value(o: Outcome): { [k: string]: Plain } {
  if (!o.ok) throw new Error(`job failed: ${o.name} (${o.code}): ${o.message}`);
  return o.value;
}

type AudioParams = Extract<JobParams<"generate">, { task: "t2a" | "v2a" | "i2a" }>;

/** A plain text→audio job (no aligner, 1 s): the cheapest whole generation, for tests about everything around it. */
export function t2aParams(over: Partial<AudioParams> = {}): AudioParams {
  return {
    task: "t2a",
    pack: { kind: "bundled" },
    prompt: "rain on a tin roof",
    seed: 7,
    steps: 2,
    compare: false,
    previewEvery: 0,
    // onnxruntime's wasm EP: on a CPU-only machine much faster than WebGPU on SwiftShader
    executor: "wasm",
    gradExecutor: "wasm",
    durationS: 1,
    guidanceScale: 2.5,
    aligner: {
      enabled: false,
      warmup: 0.2,
      iterations: 1,
      optimizer: "adam",
      lambda: 0.1,
      weights: { text: 1, vision: 1 },
      promptTuning: { enabled: false, lambda: 0 },
    },
    ...over,
  };
}
