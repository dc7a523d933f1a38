/**
 * The worker side of the protocol: receives `run`/`cancel`, validates params against the job table, runs
 * jobs one at a time (a job queued behind another waits; a cancelled one is dropped), posts events, results
 * and typed errors, and sends a heartbeat so the client can tell a busy worker from a dead one.
 */
import { BadInputError, CancelledError, ErrorCode, StudioError, serializeError } from "../engine/errors.js";
import type { JobContext, JobEvent } from "../engine/runtime/job.js";
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
}

export interface Host {
  stop(): void;
}

export function hostJobs<W extends WorkerNameType>(
  scope: WorkerScope,
  worker: W,
  handlers: JobHandlers<W>,
  opts: { heartbeatMs?: number } = {},
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
    const run = async () => {
      try {
        if (abort.signal.aborted) throw new CancelledError();
        const result = await handler(parsed.value as JobParams<JobsOf<W>>, ctx);
        if (abort.signal.aborted) throw new CancelledError();
        try {
          post({ kind: "result", id, result }, transfer);
        } catch (err) {
          fail(
            id,
            new StudioError(ErrorCode.Internal, `The result of "${job}" could not be sent: ${String(err)}`),
          );
        }
      } catch (err) {
        fail(id, abort.signal.aborted ? new CancelledError() : err);
      }
    };
    queue.push({ id, run, abort });
    void pump();
  };

  const cancel = (id: string) => {
    if (running?.id === id) return running.abort.abort();
    const i = queue.findIndex((q) => q.id === id);
    if (i >= 0) {
      queue.splice(i, 1);
      fail(id, new CancelledError());
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
  return { stop: () => clearInterval(beat) };
}
