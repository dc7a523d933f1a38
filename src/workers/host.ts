/**
 * The worker side of the protocol: receives `run`/`cancel`, validates params against the job table, runs
 * jobs one at a time (a job queued behind another waits; a cancelled one is dropped), posts events, results
 * and typed errors, and sends a heartbeat so the client can tell a busy worker from a dead one.
 */
import { BadInputError, CancelledError, ErrorCode, StudioError, serializeError } from "../engine/errors.js";
import type { JobContext, JobEvent } from "../engine/runtime/job.js";
import { isOutOfMemory, outOfMemoryError } from "../engine/runtime/oom.js";
import {
  type FromWorker,
  isJobType,
  type JobParams,
  type JobResult,
  type JobsOf,
  jobTable,
  MAX_ID_LENGTH,
  PROTOCOL_VERSION,
  parseParams,
  ToWorkerSchema,
  type WorkerNameType,
} from "./protocol.js";

export const HEARTBEAT_INTERVAL_MS = 1000;

/** The global scope of a worker, narrowed to what the host uses (a fake implements it in unit tests). */
export interface WorkerScope {
  postMessage(message: FromWorker, transfer: Transferable[]): void;
  onMessage(handler: (data: unknown) => void): void;
  /** Errors that escape every job (unhandled rejections). */
  onUnhandled(handler: (reason: unknown) => void): void;
}

export interface HostJobContext extends JobContext {
  /** Marks buffers of the result to be transferred (not copied) to the UI thread. */
  transfer(...items: Transferable[]): void;
  /** Posts an event whose buffers (e.g. a preview image) are transferred, not copied; the sender must not reuse them. */
  emitTransfer(event: JobEvent, transfer: Transferable[]): void;
}

export type JobHandler<J extends JobsOf<WorkerNameType>> = (
  params: JobParams<J>,
  ctx: HostJobContext,
) => Promise<JobResult<J>>;

export type JobHandlers<W extends WorkerNameType> = { [J in JobsOf<W>]: JobHandler<J> };

interface Queued {
  id: string;
  run: () => Promise<void>;
  abort: AbortController;
  /** Its result or error was posted (by the job, or by `failAll` before the job noticed). */
  answered: boolean;
}

export interface Host {
  stop(): void;
  /**
   * Fails the running job and every queued one with `err` now (the running one is aborted; whatever it returns
   * later is dropped). For faults that end the worker's usefulness, e.g. a lost GPU device.
   */
  failAll(err: StudioError): void;
  /** Asks the client to replace this worker with a fresh one (a new wasm heap, a new GPU device). */
  restart(reason: string): void;
}

export function hostJobs<W extends WorkerNameType>(
  scope: WorkerScope,
  worker: W,
  handlers: JobHandlers<W>,
  opts: {
    heartbeatMs?: number;
    /** What to suggest when `job` ran out of memory (the planner's advice for its params), or null. */
    outOfMemoryAdvice?: (job: JobsOf<W>, params: unknown) => Promise<string | null>;
  } = {},
): Host {
  const queue: Queued[] = [];
  let running: Queued | null = null;
  const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);
  const fail = (id: string, err: unknown) => post({ kind: "error", id, error: serializeError(err) });

  const pump = async () => {
    if (running) return;
    const next = queue.shift();
    if (!next) return;
    running = next;
    try {
      await next.run();
    } finally {
      running = null;
      void pump();
    }
  };

  const start = (id: string, job: string, rawParams: unknown) => {
    if (!isJobType(job) || jobTable[job].worker !== worker) {
      return fail(id, new BadInputError(`The ${worker} worker has no job "${job}".`));
    }
    const parsed = parseParams(job, rawParams);
    if (!parsed.ok) return fail(id, new BadInputError(`Invalid parameters for "${job}": ${parsed.reason}`));
    const handler = (handlers as Record<string, JobHandler<JobsOf<W>>>)[job];
    if (!handler) return fail(id, new StudioError(ErrorCode.Internal, `No handler registered for "${job}".`));
    const abort = new AbortController();
    const transfer: Transferable[] = [];
    const ctx: HostJobContext = {
      signal: abort.signal,
      emit: (event: JobEvent) => post({ kind: "event", id, event }),
      emitTransfer: (event, items) => post({ kind: "event", id, event }, items),
      transfer: (...items) => transfer.push(...items),
    };
    const entry: Queued = { id, run: async () => {}, abort, answered: false };
    entry.run = async () => {
      try {
        if (abort.signal.aborted) throw new CancelledError();
        const result = await handler(parsed.value as JobParams<JobsOf<W>>, ctx);
        if (entry.answered) return;
        if (abort.signal.aborted) throw new CancelledError();
        entry.answered = true;
        try {
          post({ kind: "result", id, result }, transfer);
        } catch (err) {
          fail(
            id,
            new StudioError(ErrorCode.Internal, `The result of "${job}" could not be sent: ${String(err)}`),
          );
        }
      } catch (err) {
        if (entry.answered) return;
        let error = err;
        // an allocation failure becomes an OutOfMemoryError that says what to change
        if (!abort.signal.aborted && isOutOfMemory(err)) {
          const advice = opts.outOfMemoryAdvice
            ? await opts.outOfMemoryAdvice(job as JobsOf<W>, parsed.value).catch(() => null)
            : null;
          error = outOfMemoryError(err, advice);
        }
        if (entry.answered) return;
        entry.answered = true;
        fail(id, abort.signal.aborted ? new CancelledError() : error);
      }
    };
    queue.push(entry);
    void pump();
  };

  const cancel = (id: string) => {
    if (running?.id === id) return running.abort.abort();
    const i = queue.findIndex((q) => q.id === id);
    if (i >= 0) {
      const [q] = queue.splice(i, 1);
      q!.answered = true;
      fail(id, new CancelledError());
    }
  };

  const failAll = (err: StudioError) => {
    for (const q of [...(running ? [running] : []), ...queue.splice(0)]) {
      if (q.answered) continue;
      q.answered = true;
      q.abort.abort();
      fail(q.id, err);
    }
  };

  scope.onMessage((data) => {
    const msg = ToWorkerSchema.safeParse(data);
    if (!msg.success) {
      // answered only under an id the client could have sent (an answer under any other id is itself invalid)
      const maybeId = (data as { id?: unknown } | null)?.id;
      if (typeof maybeId === "string" && maybeId.length >= 1 && maybeId.length <= MAX_ID_LENGTH)
        fail(maybeId, new BadInputError("Malformed request to the worker."));
      return;
    }
    if (msg.data.kind === "run") start(msg.data.id, msg.data.job, msg.data.params);
    else cancel(msg.data.id);
  });
  scope.onUnhandled((reason) => post({ kind: "fatal", error: serializeError(reason) }));

  post({ kind: "ready", worker, protocol: PROTOCOL_VERSION });
  const beat = setInterval(() => post({ kind: "heartbeat" }), opts.heartbeatMs ?? HEARTBEAT_INTERVAL_MS);
  return {
    stop: () => clearInterval(beat),
    failAll,
    restart: (reason) => post({ kind: "restart", reason }),
  };
}
