import { describe, expect, it } from "vitest";
import { initialState, jobEvent, jobSettled, jobStarted, MAX_JOBS, type StudioState } from "./store.js";

const apply = (s: StudioState, patch: Partial<StudioState>): StudioState => ({ ...s, ...patch });

describe("store reducers", () => {
  it("track a job from start through phase, progress and steps to done", () => {
    let s = apply(initialState(), jobStarted(initialState(), "e-1", "selftest-slow", "Slow", 100));
    expect(s.jobs[0]).toMatchObject({
      id: "e-1",
      status: "running",
      phase: null,
      progress: null,
      startedAt: 100,
    });
    s = apply(s, jobEvent(s, "e-1", { type: "phase", phase: "looping" }));
    expect(s.jobs[0]).toMatchObject({ phase: "looping", progress: null });
    s = apply(s, jobEvent(s, "e-1", { type: "progress", phase: "looping", done: 30, total: 10 }));
    expect(s.jobs[0]!.progress).toBe(1);
    s = apply(s, jobEvent(s, "e-1", { type: "step", i: 1, n: 4 }));
    expect(s.jobs[0]!.progress).toBe(0.25);
    s = apply(s, jobSettled(s, "e-1", { summary: "4 iterations" }, 200));
    expect(s.jobs[0]).toMatchObject({ status: "done", summary: "4 iterations", progress: 1, endedAt: 200 });
  });

  it("mark cancellations as cancelled and other errors as failed", () => {
    let s = initialState();
    s = apply(s, jobStarted(s, "a", "probe", "A", 0));
    s = apply(s, jobStarted(s, "b", "probe", "B", 0));
    s = apply(s, jobSettled(s, "a", { error: { code: "CANCELLED", message: "x" } }, 1));
    s = apply(s, jobSettled(s, "b", { error: { code: "WORKER_CRASHED", message: "y" } }, 1));
    expect(s.jobs.map((j) => [j.id, j.status])).toEqual([
      ["b", "failed"],
      ["a", "cancelled"],
    ]);
  });

  it("keep only the most recent jobs and leave other jobs untouched", () => {
    let s = initialState();
    for (let i = 0; i < MAX_JOBS + 5; i++) s = apply(s, jobStarted(s, `j${i}`, "probe", "P", i));
    expect(s.jobs).toHaveLength(MAX_JOBS);
    expect(s.jobs[0]!.id).toBe(`j${MAX_JOBS + 4}`);
    const before = s.jobs[1];
    s = apply(s, jobEvent(s, s.jobs[0]!.id, { type: "phase", phase: "x" }));
    expect(s.jobs[1]).toBe(before);
    expect(jobEvent(s, "unknown", { type: "log", level: "info", message: "m" })).toEqual({});
  });
});
