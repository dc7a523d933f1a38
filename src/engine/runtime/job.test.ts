import { describe, expect, it } from "vitest";
import { CancelledError } from "../errors.js";
import { JobEventSchema, sleep, throwIfCancelled } from "./job.js";

describe("job helpers", () => {
  it("sleep resolves, or rejects with CancelledError as soon as the signal aborts", async () => {
    const a = new AbortController();
    await expect(sleep(1, a.signal)).resolves.toBeUndefined();
    const t0 = Date.now();
    const pending = sleep(10_000, a.signal);
    a.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(sleep(1, a.signal)).rejects.toBeInstanceOf(CancelledError);
  });

  it("throwIfCancelled throws only once aborted", () => {
    const a = new AbortController();
    expect(() => throwIfCancelled(a.signal)).not.toThrow();
    a.abort();
    expect(() => throwIfCancelled(a.signal)).toThrow(CancelledError);
  });

  it("events are plain data that survive structured cloning", () => {
    const e = { type: "step", i: 3, n: 10, loss: 0.25 } as const;
    expect(JobEventSchema.parse(structuredClone(e))).toEqual(e);
  });
});
