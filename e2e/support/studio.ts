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
