/**
 * The client against the real host, connected by an in-process fake worker that structured-clones every
 * message (with transfer), so ids, events, validation, cancel and crash handling run exactly as in a browser.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { UnsupportedError } from "../engine/errors.js";
import { memoryCache } from "../engine/packs/cache.js";
import { packJobHandlers } from "../engine/packs/jobs.js";
import type { JobEvent } from "../engine/runtime/job.js";
import type { CapabilityReport } from "../engine/runtime/report.js";
import { selftestSlow } from "../engine/runtime/selftest/slow.js";
import { type ClientOptions, WorkerClient, type WorkerFactory } from "./client.js";
import { hostJobs, type JobHandlers } from "./host.js";
import type { FromWorker, ToWorker, WorkerNameType } from "./protocol.js";

interface FakeWorker {
  /** Simulates the browser's `error` event (uncaught exception, failed script load). */
  fail(reason: string): void;
  /** Stops delivering the worker's messages, as if it hung or closed itself. */
  mute(): void;
  /** Delivers a raw message from the "worker" to the client. */
  inject(message: unknown): void;
  terminated: boolean;
  received: ToWorker[];
}

const deliver = (fn: () => void) => setTimeout(fn, 0);

function fakeWorkers<W extends WorkerNameType>(worker: W, handlers: JobHandlers<W>) {
  const started: FakeWorker[] = [];
  const factory: WorkerFactory = (client) => {
    let toHost: ((data: unknown) => void) | null = null;
    let muted = false;
    const fake: FakeWorker = {
      terminated: false,
      received: [],
      fail: (reason) => client.error(reason),
      mute: () => {
        muted = true;
      },
      inject: (m) => client.message(m),
    };
    const host = hostJobs(
      {
        postMessage: (m: FromWorker, transfer) => {
          const copy = structuredClone(m, { transfer });
          deliver(() => {
            if (!muted && !fake.terminated) client.message(copy);
          });
        },
        onMessage: (h) => {
          toHost = h;
        },
        onUnhandled: () => {},
      },
      worker,
      handlers,
      { heartbeatMs: 50 },
    );
    started.push(fake);
    return {
      post: (m, transfer) => {
        const copy = structuredClone(m, { transfer });
        fake.received.push(copy);
        deliver(() => {
          if (!fake.terminated) toHost?.(copy);
        });
      },
      terminate: () => {
        fake.terminated = true;
        host.stop();
      },
    };
  };
  return { factory, started };
}

const report: CapabilityReport = {
  backend: "wasm",
  fallbackReason: "test",
  webgpu: null,
  crossOriginIsolated: false,
  hardwareConcurrency: 1,
  userAgent: "node",
  ort: { version: "0", executionProviders: ["wasm"], wasmThreads: 1 },
  tfjs: { version: "0", backend: "cpu" },
  startupMs: 0,
};

const never = () => new Promise<never>(() => {});
const engineHandlers: JobHandlers<"engine"> = {
  // model-pack jobs over an in-memory cache (src/engine/packs/jobs.ts)
  ...packJobHandlers({
    cache: async () => memoryCache(),
    limits: async () => ({ budgetBytes: 2 ** 30, maxBufferSize: 2 ** 28 }),
  }),
  probe: async () => report,
  "selftest-onnx": () => Promise.reject(new UnsupportedError("not in unit tests")),
  "selftest-grad": () => Promise.reject(new UnsupportedError("not in unit tests")),
  "selftest-onnx-grad": () => Promise.reject(new UnsupportedError("not in unit tests")),
  "selftest-slow": (p, ctx) => selftestSlow(p, ctx),
  "selftest-crash": never,
  generate: () => Promise.reject(new UnsupportedError("not in unit tests")),
  "engine-memory": async () => ({ numTensors: 0, numBytes: 0, numDataBuffers: 0, engines: 0 }),
};
const mediaStubs = { decode: never, "av-align": never };

const clients: WorkerClient<WorkerNameType>[] = [];
function engineClient(opts: ClientOptions = {}, handlers = engineHandlers) {
  const fakes = fakeWorkers("engine", handlers);
  const client = new WorkerClient("engine", fakes.factory, opts);
  clients.push(client);
  return { client, ...fakes };
}

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  vi.useRealTimers();
});

describe("WorkerClient", () => {
  it("runs a job, yields its events in order, and resolves with the validated result", async () => {
    const { client } = engineClient();
    const seen: JobEvent[] = [];
    const job = client.run("selftest-slow", { iterations: 3, delayMs: 1 }, { onEvent: (e) => seen.push(e) });
    const iterated: JobEvent[] = [];
    for await (const e of job.events) iterated.push(e);
    expect(await job.result).toEqual({ completed: 3 });
    expect(seen.map((e) => e.type)).toEqual(["phase", "step", "step", "step"]);
    expect(iterated).toEqual(seen);
    expect(client.status).toMatchObject({ state: "ready", restarts: 0, inFlight: 0 });
  });

  it("gives each job its own id and routes results by id", async () => {
    const { client } = engineClient();
    const a = client.run("selftest-slow", { iterations: 2, delayMs: 1 });
    const b = client.run("probe", {});
    expect(a.id).not.toBe(b.id);
    expect(await a.result).toEqual({ completed: 2 });
    expect((await b.result).backend).toBe("wasm");
  });

  it("transfers the buffers it is told to (they are detached on the UI side)", async () => {
    const fakes = fakeWorkers("media", {
      ...mediaStubs,
      mux: async (p) => ({
        files: [
          { format: "mp4", mimeType: "video/mp4", fileName: "x.mp4", bytes: p.video.data.slice(0, 4), ms: 0 },
        ],
      }),
    });
    const client = new WorkerClient("media", fakes.factory);
    clients.push(client);
    const data = new Uint8Array(2 * 2 * 4).fill(7);
    const job = client.run(
      "mux",
      { video: { kind: "frames", width: 2, height: 2, fps: 1, data }, audioWav: null, formats: ["mp4"] },
      { transfer: [data.buffer] },
    );
    expect(data.byteLength).toBe(0);
    const r = await job.result;
    expect(Array.from(r.files[0]!.bytes)).toEqual([7, 7, 7, 7]);
  });

  it("rejects invalid params with BadInputError before posting anything", async () => {
    const { client, started } = engineClient();
    const job = client.run("selftest-slow", { iterations: -1, delayMs: 0 });
    await expect(job.result).rejects.toMatchObject({ name: "BadInputError", code: "BAD_INPUT" });
    expect(started[0]!.received).toEqual([]);
  });

  it("cancels through an AbortSignal; the worker stays up and takes the next job", async () => {
    const { client, started } = engineClient();
    const abort = new AbortController();
    const job = client.run(
      "selftest-slow",
      { iterations: 10_000, delayMs: 5 },
      {
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === "step" && e.i === 2) abort.abort();
        },
      },
    );
    await expect(job.result).rejects.toMatchObject({ name: "CancelledError", code: "CANCELLED" });
    expect(await client.run("selftest-slow", { iterations: 1, delayMs: 0 }).result).toEqual({ completed: 1 });
    expect(started).toHaveLength(1);
    expect(client.status.restarts).toBe(0);
  });

  it("cancels a queued job without running it", async () => {
    const { client } = engineClient();
    const first = client.run("selftest-slow", { iterations: 5, delayMs: 5 });
    const queued = client.run(
      "selftest-slow",
      { iterations: 5, delayMs: 5 },
      { onEvent: () => expect.fail("ran") },
    );
    queued.cancel();
    await expect(queued.result).rejects.toMatchObject({ code: "CANCELLED" });
    expect(await first.result).toEqual({ completed: 5 });
  });

  it("fails in-flight jobs with WorkerCrashedError on a worker error, then restarts the worker", async () => {
    const statuses: string[] = [];
    const { client, started } = engineClient({ onStatus: (s) => statuses.push(`${s.state}/${s.restarts}`) });
    await client.run("probe", {}).result;
    const job = client.run("selftest-crash", { mode: "throw" });
    started[0]!.fail("Uncaught Error: boom");
    await expect(job.result).rejects.toMatchObject({ name: "WorkerCrashedError", code: "WORKER_CRASHED" });
    await expect(job.result).rejects.toThrow(/boom.*restarted/);
    expect(started[0]!.terminated).toBe(true);
    expect(started).toHaveLength(2);
    expect(await client.run("selftest-slow", { iterations: 1, delayMs: 0 }).result).toEqual({ completed: 1 });
    expect(client.status).toMatchObject({ state: "ready", restarts: 1, lastCrash: "Uncaught Error: boom" });
    expect(statuses).toContain("starting/1");
  });

  it("declares a silent worker crashed after the heartbeat timeout", async () => {
    vi.useFakeTimers();
    const { client, started } = engineClient({ heartbeatTimeoutMs: 2000 });
    await vi.advanceTimersByTimeAsync(100);
    const job = client.run("selftest-crash", { mode: "hang" });
    const outcome = job.result.catch((e: Error) => e);
    started[0]!.mute();
    await vi.advanceTimersByTimeAsync(1900);
    expect(client.status.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(1200);
    expect(await outcome).toMatchObject({
      name: "WorkerCrashedError",
      message: expect.stringMatching(/no heartbeat/),
    });
    expect(started).toHaveLength(2);
  });

  it("restarts a worker that ignores a cancel; the job still ends as cancelled", async () => {
    const { client, started } = engineClient({ cancelGraceMs: 50 });
    const job = client.run("selftest-crash", { mode: "hang" });
    await new Promise((r) => setTimeout(r, 10));
    job.cancel();
    await expect(job.result).rejects.toMatchObject({ code: "CANCELLED" });
    expect(started).toHaveLength(2);
    expect(client.status.lastCrash).toMatch(/did not stop within 50 ms/);
  });

  it("treats a fatal message (an error outside any job) as a crash", async () => {
    const { client, started } = engineClient();
    await client.run("probe", {}).result;
    const job = client.run("selftest-crash", { mode: "throw" });
    started[0]!.inject({
      kind: "fatal",
      error: { name: "Error", code: "INTERNAL", message: "unhandled rejection" },
    });
    await expect(job.result).rejects.toThrow(/unhandled rejection/);
    expect(started).toHaveLength(2);
  });

  it("reports a result that fails its schema as an internal error instead of passing it on", async () => {
    const { client } = engineClient(
      {},
      { ...engineHandlers, probe: async () => ({ backend: "quantum" }) as never },
    );
    await expect(client.run("probe", {}).result).rejects.toMatchObject({
      code: "INTERNAL",
      message: expect.stringMatching(/Invalid result for "probe"/),
    });
  });

  it("ignores malformed messages that belong to no job", async () => {
    const { client, started } = engineClient();
    await client.run("probe", {}).result;
    started[0]!.inject({ kind: "result" });
    started[0]!.inject("garbage");
    expect(await client.run("probe", {}).result).toMatchObject({ backend: "wasm" });
    expect(client.status.restarts).toBe(0);
  });

  it("gives up after repeated start failures and says why", async () => {
    const factory: WorkerFactory = (h) => {
      setTimeout(() => h.error("the worker script failed to load"), 0);
      return { post: () => {}, terminate: () => {} };
    };
    const client = new WorkerClient("engine", factory, { maxStartFailures: 3 });
    clients.push(client);
    await vi.waitFor(() => expect(client.status.state).toBe("failed"));
    expect(client.status.restarts).toBe(3);
    await expect(client.run("probe", {}).result).rejects.toMatchObject({
      name: "WorkerCrashedError",
      message: expect.stringMatching(/could not be started.*failed to load.*gave up after 3/),
    });
  });
});

describe("worker host", () => {
  it("answers unknown jobs and bad params with BadInputError, keyed by the request id", async () => {
    const out: FromWorker[] = [];
    let send: (d: unknown) => void = () => {};
    const host = hostJobs(
      { postMessage: (m) => out.push(m), onMessage: (h) => (send = h), onUnhandled: () => {} },
      "media",
      { mux: never, ...mediaStubs },
    );
    send({ kind: "run", id: "a", job: "probe", params: {} });
    send({ kind: "run", id: "b", job: "mux", params: { video: null } });
    send({ kind: "nonsense", id: "c" });
    host.stop();
    const errors = out.filter((m) => m.kind === "error");
    expect(errors.map((m) => m.kind === "error" && [m.id, m.error.code])).toEqual([
      ["a", "BAD_INPUT"],
      ["b", "BAD_INPUT"],
      ["c", "BAD_INPUT"],
    ]);
    expect(out[0]).toEqual({ kind: "ready", worker: "media", protocol: 1 });
  });
});
