/**
 * Issue 11 item 6: fuzzing the worker protocol validator (src/workers/protocol.ts) and the two ends that rely on
 * it: the worker host (src/workers/host.ts) fed arbitrary and near-valid requests, and the UI client
 * (src/workers/client.ts) fed arbitrary worker messages.
 * Properties: the validators never throw (they return a failure); the host never throws, hands a handler only
 * params its job's schema accepts, answers every refused request that carries an id with a BAD_INPUT error for
 * that id, and posts only messages the client's schema accepts; the client never throws, and a job it holds ends
 * only with a result that passed its job's schema or with a typed StudioError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, StudioError } from "../../src/engine/errors.js";
import { WorkerClient, type WorkerPortHandlers } from "../../src/workers/client.js";
import { hostJobs, type JobHandlers } from "../../src/workers/host.js";
import {
  type FromWorker,
  FromWorkerSchema,
  type JobType,
  jobTable,
  jobTypes,
  parseParams,
  parseResult,
  ToWorkerSchema,
} from "../../src/workers/protocol.js";
import { CASES, check, type Tally, timed, timedAsync } from "../support/fuzz.js";

/** Valid params of a few jobs, to mutate (the generate job's shape is covered by its own schema tests). */
const VALID: { job: JobType; params: Record<string, unknown> }[] = [
  { job: "probe", params: {} },
  { job: "engine-memory", params: {} },
  { job: "selftest-slow", params: { iterations: 3, delayMs: 0 } },
  { job: "selftest-crash", params: { mode: "throw" } },
  { job: "packs-verify", params: { id: "tiny" } },
  { job: "mux", params: {} }, // a media job sent to the engine worker
];

const anyValue = fc.anything({ withTypedArray: true, withMap: true, withSet: true, withNullPrototype: true });

/** A valid params object with one field replaced, removed or added. */
const nearParams = fc
  .record({
    base: fc.constantFrom(...VALID),
    key: fc.string({ maxLength: 12 }),
    value: anyValue,
    op: fc.nat(3),
  })
  .map(({ base, key, value, op }) => {
    const p: Record<string, unknown> = { ...base.params };
    const keys = Object.keys(p);
    if (op === 0 && keys.length) p[keys[key.length % keys.length]!] = value;
    else if (op === 1 && keys.length) delete p[keys[key.length % keys.length]!];
    else if (op === 2) p[key] = value;
    return { job: base.job as string, params: op === 3 ? value : p };
  });

const idArb = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 64 }), weight: 4 },
  fc.constantFrom("", "x".repeat(65), "__proto__", "constructor"),
  anyValue,
);
const jobArb = fc.oneof(
  { arbitrary: fc.constantFrom(...jobTypes), weight: 3 },
  fc.constantFrom("__proto__", "toString", "hasOwnProperty", "constructor", ""),
  fc.string({ maxLength: 20 }),
);

/** UI → worker messages: arbitrary values, and run/cancel messages with near-valid fields. */
const toWorkerArb = fc.oneof(
  anyValue,
  fc.record({ kind: fc.constant("run"), id: idArb, job: jobArb, params: anyValue }),
  fc.tuple(nearParams, idArb).map(([n, id]) => ({ kind: "run", id, job: n.job, params: n.params })),
  fc.record({ kind: fc.constantFrom("cancel", "Cancel", "run "), id: idArb }),
);

describe("fuzz: worker protocol", () => {
  it(`validators, host and client on arbitrary and near-valid messages (${CASES} each)`, async () => {
    const counts: number[] = [];

    // 1. the schemas themselves
    const t1: Tally = { slowest: 0 };
    counts.push(
      await check(
        "protocol/validators",
        fc.property(
          fc.oneof(anyValue, toWorkerArb),
          fc.constantFrom(...jobTypes),
          timed(t1, (v: unknown, job: JobType) => {
            ToWorkerSchema.safeParse(v);
            FromWorkerSchema.safeParse(v);
            const p = parseParams(job, v);
            if (!p.ok && !p.reason) throw new Error("a refusal without a reason");
            parseResult(job, v);
          }),
        ),
        CASES,
        t1,
      ),
    );

    // 2. the worker host: one host, every message through it
    const posted: FromWorker[] = [];
    let send: (d: unknown) => void = () => {};
    const calls: { job: JobType; params: unknown }[] = [];
    const handlers = Object.fromEntries(
      jobTypes
        .filter((j) => jobTable[j].worker === "engine")
        .map((j) => [
          j,
          async (params: unknown) => {
            calls.push({ job: j, params });
            return {};
          },
        ]),
    ) as unknown as JobHandlers<"engine">;
    const host = hostJobs(
      { postMessage: (m) => posted.push(m), onMessage: (h) => (send = h), onUnhandled: () => {} },
      "engine",
      handlers,
      { heartbeatMs: 60_000 },
    );
    const t2: Tally = { slowest: 0, accepted: 0 };
    try {
      counts.push(
        await check(
          "protocol/host",
          fc.asyncProperty(
            toWorkerArb,
            timedAsync(t2, async (msg: unknown) => {
              posted.length = 0;
              calls.length = 0;
              send(msg); // must not throw
              await new Promise((r) => setImmediate(r)); // let the queue run (and finish) the job
              for (const c of calls) {
                t2.accepted = (t2.accepted ?? 0) + 1;
                if (!parseParams(c.job, c.params).ok)
                  throw new Error(`the ${c.job} handler got params its schema refuses`);
              }
              for (const m of posted)
                if (!FromWorkerSchema.safeParse(m).success)
                  throw new Error(`the host posted an invalid message: ${JSON.stringify(m).slice(0, 200)}`);
              const r = msg as { kind?: unknown; id?: unknown; job?: unknown; params?: unknown };
              const valid = ToWorkerSchema.safeParse(msg).success;
              const runnable =
                valid &&
                r.kind === "run" &&
                typeof r.job === "string" &&
                Object.hasOwn(jobTable, r.job) &&
                jobTable[r.job as JobType].worker === "engine" &&
                parseParams(r.job as JobType, r.params).ok;
              if (runnable && calls.length !== 1)
                throw new Error("a valid request did not reach its handler");
              if (!runnable && calls.length) throw new Error("an invalid request reached a handler");
              if (
                r?.kind === "run" &&
                !runnable &&
                typeof r.id === "string" &&
                r.id.length >= 1 &&
                r.id.length <= 64
              ) {
                const answer = posted.find((m) => m.kind === "error" && m.id === r.id);
                if (answer?.kind !== "error" || answer.error.code !== ErrorCode.BadInput)
                  throw new Error(`a refused request (id ${JSON.stringify(r.id)}) got no BAD_INPUT answer`);
              }
            }),
          ),
          CASES,
          t2,
        ),
      );
    } finally {
      host.stop();
    }
    expect(t2.accepted, "some generated requests are valid and run").toBeGreaterThan(CASES / 20);

    // 3. the client: one job in flight, then an arbitrary message (or a near-valid one for that job's id)
    let handlersOfPort: WorkerPortHandlers | null = null;
    const client = new WorkerClient(
      "engine",
      (h) => {
        handlersOfPort = h;
        return { post: () => {}, terminate: () => {} };
      },
      { heartbeatTimeoutMs: 3_600_000, maxStartFailures: 1_000_000 },
    );
    const t3: Tally = { slowest: 0, accepted: 0 };
    const fromWorkerArb = (id: string) =>
      fc.oneof(
        anyValue,
        fc.record({ kind: fc.constant("result"), id: fc.constant(id), result: anyValue }),
        fc.record({
          kind: fc.constant("result"),
          id: fc.constant(id),
          result: fc.record({ completed: fc.oneof(fc.integer(), anyValue) }),
        }),
        fc.record({ kind: fc.constant("event"), id: fc.constant(id), event: anyValue }),
        fc.record({
          kind: fc.constant("error"),
          id: fc.constant(id),
          error: fc.record({
            name: fc.oneof(fc.string(), anyValue),
            code: fc.oneof(fc.constantFrom(...Object.values(ErrorCode)), fc.string()),
            message: fc.oneof(fc.string(), anyValue),
            details: fc.option(fc.dictionary(fc.string(), anyValue)),
          }),
        }),
        fc.record({ kind: fc.constantFrom("ready", "heartbeat"), worker: anyValue, protocol: anyValue }),
      );
    try {
      counts.push(
        await check(
          "protocol/client",
          fc.asyncProperty(
            fc.nat(1_000_000).chain((n) => fromWorkerArb(`engine-${n}`).map((m) => ({ n, m }))),
            timedAsync(t3, async ({ m }) => {
              const job = client.run("selftest-slow", { iterations: 1, delayMs: 0 });
              const injected =
                m && typeof m === "object" && "id" in m && typeof m.id === "string"
                  ? { ...m, id: job.id }
                  : m;
              handlersOfPort?.message(injected); // must not throw
              job.cancel();
              handlersOfPort?.message({
                kind: "error",
                id: job.id,
                error: { name: "x", code: "CANCELLED", message: "c" },
              });
              const outcome = await job.result.then(
                (v) => ({ ok: true as const, v }),
                (e: unknown) => ({ ok: false as const, e }),
              );
              if (outcome.ok) {
                t3.accepted = (t3.accepted ?? 0) + 1;
                if (!parseResult("selftest-slow", outcome.v).ok)
                  throw new Error("the client passed on an invalid result");
              } else if (!(outcome.e instanceof StudioError))
                throw new Error(`untyped failure: ${String(outcome.e)}`);
            }),
          ),
          CASES,
          t3,
        ),
      );
    } finally {
      client.dispose();
    }
    expect(t3.accepted, "some generated results are valid and delivered").toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(CASES);
  });
});
