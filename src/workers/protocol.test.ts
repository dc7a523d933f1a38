import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BadInputError,
  CancelledError,
  deserializeError,
  serializeError,
  WorkerCrashedError,
} from "../engine/errors.js";
import {
  FromWorkerSchema,
  jobTable,
  jobTypes,
  parseParams,
  parseResult,
  SerializedErrorSchema,
  ToWorkerSchema,
} from "./protocol.js";

describe("job table", () => {
  it("is frozen and assigns every job to the engine or the media worker", () => {
    expect(Object.isFrozen(jobTable)).toBe(true);
    for (const job of jobTypes) expect(["engine", "media"]).toContain(jobTable[job].worker);
    expect(jobTable.mux.worker).toBe("media");
    expect(jobTable.probe.worker).toBe("engine");
  });
});

describe("UI → worker messages", () => {
  it("accepts run and cancel", () => {
    expect(ToWorkerSchema.safeParse({ kind: "run", id: "engine-1", job: "probe", params: {} }).success).toBe(
      true,
    );
    expect(ToWorkerSchema.safeParse({ kind: "cancel", id: "engine-1" }).success).toBe(true);
  });

  it("rejects unknown kinds, missing or empty ids", () => {
    for (const m of [
      { kind: "exec", id: "a" },
      { kind: "run", job: "probe", params: {} },
      { kind: "cancel", id: "" },
      { kind: "cancel", id: "x".repeat(65) },
      null,
      "run",
    ]) {
      expect(ToWorkerSchema.safeParse(m).success).toBe(false);
    }
  });
});

describe("job params", () => {
  it("validates the slow self-test's bounds", () => {
    expect(parseParams("selftest-slow", { iterations: 10, delayMs: 5 }).ok).toBe(true);
    const bad = parseParams("selftest-slow", { iterations: 0, delayMs: 5 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/iterations/);
  });

  it("requires binary payloads to be typed arrays (structured-clone safe)", () => {
    const frames = { kind: "frames", width: 2, height: 2, fps: 1, data: new Uint8Array(16) };
    expect(parseParams("mux", { video: frames, audioWav: null, formats: ["mp4"] }).ok).toBe(true);
    expect(
      parseParams("mux", { video: { ...frames, data: [0, 1] }, audioWav: null, formats: ["mp4"] }).ok,
    ).toBe(false);
    expect(parseParams("mux", { video: frames, audioWav: null, formats: ["avi"] }).ok).toBe(false);
    expect(parseParams("mux", { video: frames, audioWav: null, formats: [] }).ok).toBe(false);
  });

  it("rejects extra keys on jobs without params", () => {
    expect(parseParams("probe", {}).ok).toBe(true);
    expect(parseParams("probe", { backend: "wasm" }).ok).toBe(false);
  });
});

describe("worker → UI messages", () => {
  it("accepts each progress event of the union", () => {
    for (const event of [
      { type: "phase", phase: "loading" },
      { type: "progress", phase: "loading", done: 3, total: 10 },
      { type: "step", i: 1, n: 30, loss: 0.5 },
      { type: "log", level: "info", message: "hi" },
    ]) {
      expect(FromWorkerSchema.safeParse({ kind: "event", id: "j", event }).success).toBe(true);
    }
  });

  it("rejects malformed events", () => {
    for (const event of [
      { type: "progress", phase: "x", done: -1, total: 10 },
      { type: "progress", phase: "x", done: 1, total: 0 },
      { type: "step", i: 1.5, n: 3 },
      { type: "teleport" },
    ]) {
      expect(FromWorkerSchema.safeParse({ kind: "event", id: "j", event }).success).toBe(false);
    }
  });

  it("checks results against the job's schema", () => {
    expect(parseResult("selftest-slow", { completed: 3 }).ok).toBe(true);
    expect(parseResult("selftest-slow", { completed: "3" }).ok).toBe(false);
  });

  it("carries typed errors across the boundary (serialize → validate → rebuild)", () => {
    for (const err of [
      new BadInputError("bad", { field: "seed" }),
      new CancelledError(),
      new WorkerCrashedError("gone"),
    ]) {
      const wire = structuredClone(serializeError(err));
      const parsed = SerializedErrorSchema.parse(wire);
      const back = deserializeError(parsed as Parameters<typeof deserializeError>[0]);
      expect(back).toBeInstanceOf(err.constructor);
      expect(back.message).toBe(err.message);
      expect(back.details).toEqual(err.details);
    }
  });
});

describe("validator robustness", () => {
  it("never throws on arbitrary input (it returns a failure instead)", () => {
    fc.assert(
      fc.property(fc.anything({ withTypedArray: true, withMap: true, withSet: true }), (v) => {
        ToWorkerSchema.safeParse(v);
        FromWorkerSchema.safeParse(v);
        for (const job of jobTypes) parseParams(job, v);
      }),
      { numRuns: 3000 },
    );
  });

  it("never accepts a run message whose id is not a short string", () => {
    fc.assert(
      fc.property(fc.anything(), (id) => {
        const ok = ToWorkerSchema.safeParse({ kind: "run", id, job: "probe", params: {} }).success;
        return ok === (typeof id === "string" && id.length >= 1 && id.length <= 64);
      }),
      { numRuns: 2000 },
    );
  });
});
