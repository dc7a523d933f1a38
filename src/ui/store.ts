/**
 * The studio's state: a zustand store whose only writers are the reducers below, applied to worker events by
 * the command layer (commands.ts). Components read it through selectors (STYLE.md 20).
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import type { JobEvent } from "../engine/runtime/job.js";
import type { CapabilityReport } from "../engine/runtime/report.js";
import type { ClientStatus } from "../workers/client.js";
import type { JobType, WorkerNameType } from "../workers/protocol.js";
import { initialStudio, type StudioSlice } from "./studio/state.js";
import type { TabId } from "./tabs.js";

export type JobStatus = "running" | "done" | "failed" | "cancelled";

export interface JobView {
  id: string;
  job: JobType;
  label: string;
  status: JobStatus;
  phase: string | null;
  /** 0..1 within the current phase, when known. */
  progress: number | null;
  summary: string | null;
  error: { code: string; message: string } | null;
  startedAt: number;
  endedAt: number | null;
}

export interface StudioState {
  tab: TabId;
  workers: Record<WorkerNameType, ClientStatus | null>;
  capabilities: {
    status: "idle" | "running" | "ready" | "error";
    report: CapabilityReport | null;
    error: string | null;
  };
  /** Most recent first. */
  jobs: JobView[];
  /** Generation tabs, results and the gallery (reducers in studio/reducers.ts). */
  studio: StudioSlice;
}

export const MAX_JOBS = 50;

export function initialState(): StudioState {
  return {
    tab: "v2a",
    workers: { engine: null, media: null },
    capabilities: { status: "idle", report: null, error: null },
    jobs: [],
    studio: initialStudio(),
  };
}

export type StudioStore = StoreApi<StudioState>;

export function createStudioStore(): StudioStore {
  return createStore<StudioState>()(() => initialState());
}

// --- reducers: pure (state, input) → partial state --------------------------------------------------------------

export function jobStarted(
  s: StudioState,
  id: string,
  job: JobType,
  label: string,
  now: number,
): Partial<StudioState> {
  const view: JobView = {
    id,
    job,
    label,
    status: "running",
    phase: null,
    progress: null,
    summary: null,
    error: null,
    startedAt: now,
    endedAt: null,
  };
  return { jobs: [view, ...s.jobs].slice(0, MAX_JOBS) };
}

function patchJob(s: StudioState, id: string, patch: (j: JobView) => Partial<JobView>): Partial<StudioState> {
  return { jobs: s.jobs.map((j) => (j.id === id ? { ...j, ...patch(j) } : j)) };
}

export function jobEvent(s: StudioState, id: string, e: JobEvent): Partial<StudioState> {
  switch (e.type) {
    case "phase":
      return patchJob(s, id, () => ({ phase: e.phase, progress: null }));
    case "progress":
      return patchJob(s, id, () => ({ phase: e.phase, progress: Math.min(1, e.done / e.total) }));
    case "step":
      return patchJob(s, id, () => ({ progress: e.i / e.n }));
    case "log":
    case "prompt":
    case "preview":
    case "prompt-update":
      return {};
  }
}

export function jobSettled(
  s: StudioState,
  id: string,
  outcome: { summary: string } | { error: { code: string; message: string } },
  now: number,
): Partial<StudioState> {
  if ("summary" in outcome) {
    return patchJob(s, id, () => ({ status: "done", summary: outcome.summary, progress: 1, endedAt: now }));
  }
  const status: JobStatus = outcome.error.code === "CANCELLED" ? "cancelled" : "failed";
  return patchJob(s, id, () => ({ status, error: outcome.error, endedAt: now }));
}
