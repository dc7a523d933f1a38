/**
 * The UI side of the protocol: one `WorkerClient` per worker. It posts jobs with ids, yields their events,
 * cancels them (also via AbortSignal), and watches the worker: an `error` event, a `fatal` message, silence
 * longer than the heartbeat timeout, or a cancel that is not honoured in time all count as a crash. On a
 * crash every job in flight fails with `WorkerCrashedError` (a cancelled one with `CancelledError`) and a
 * fresh worker is started; after repeated failures to start, the client stops trying and says so.
 */
import {
  BadInputError,
  CancelledError,
  deserializeError,
  ErrorCode,
  StudioError,
  WorkerCrashedError,
} from "../engine/errors.js";
import type { JobEvent } from "../engine/runtime/job.js";
import { Channel } from "./channel.js";
import {
  asSerializedError,
  FromWorkerSchema,
  type JobParams,
  type JobResult,
  type JobsOf,
  type JobType,
  parseParams,
  parseResult,
  type ToWorker,
  type WorkerNameType,
} from "./protocol.js";

/** A started worker, narrowed to what the client needs (a fake implements it in unit tests). */
export interface WorkerPort {
  post(message: ToWorker, transfer: Transferable[]): void;
  terminate(): void;
}

export interface WorkerPortHandlers {
  message(data: unknown): void;
  /** The worker reported an uncaught error or an undecodable message; `reason` is human-readable. */
  error(reason: string): void;
}

export type WorkerFactory = (handlers: WorkerPortHandlers) => WorkerPort;

export type ClientState = "starting" | "ready" | "failed";

export interface ClientStatus {
  worker: WorkerNameType;
  state: ClientState;
  restarts: number;
  inFlight: number;
  lastCrash: string | null;
}

export interface ClientOptions {
  /** Silence (no heartbeat or any other message) longer than this counts as a crash. Default 30 s. */
  heartbeatTimeoutMs?: number;
  /** How long a cancelled job may take to stop before the worker is restarted. Default 5 s. */
  cancelGraceMs?: number;
  /** Consecutive crashes before the worker ever said "ready" after which the client gives up. Default 3. */
  maxStartFailures?: number;
  onStatus?: (status: ClientStatus) => void;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Buffers inside `params` to transfer rather than copy (they are detached on this side). */
  transfer?: Transferable[];
  onEvent?: (event: JobEvent) => void;
}

export interface JobHandle<R> {
  readonly id: string;
  readonly result: Promise<R>;
  /** Events from the moment this is first read; ends when the job ends. */
  readonly events: AsyncIterable<JobEvent>;
  cancel(): void;
}

interface Pending {
  job: JobType;
  onEvent: ((e: JobEvent) => void) | undefined;
  channel: Channel<JobEvent> | null;
  cancelRequested: boolean;
  cancelTimer: ReturnType<typeof setTimeout> | null;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class WorkerClient<W extends WorkerNameType> {
  private port: WorkerPort | null = null;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private restarts = 0;
  private startFailures = 0;
  private everReady = false;
  private state: ClientState = "starting";
  private lastCrash: string | null = null;
  private lastSeen = Date.now();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private readonly heartbeatTimeoutMs: number;
  private readonly cancelGraceMs: number;
  private readonly maxStartFailures: number;

  constructor(
    readonly name: W,
    private readonly factory: WorkerFactory,
    private readonly opts: ClientOptions = {},
  ) {
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 30_000;
    this.cancelGraceMs = opts.cancelGraceMs ?? 5_000;
    this.maxStartFailures = opts.maxStartFailures ?? 3;
    this.start();
    this.watchdog = setInterval(() => this.checkHeartbeat(), Math.min(1000, this.heartbeatTimeoutMs / 4));
  }

  get status(): ClientStatus {
    return {
      worker: this.name,
      state: this.state,
      restarts: this.restarts,
      inFlight: this.pending.size,
      lastCrash: this.lastCrash,
    };
  }

  run<J extends JobsOf<W>>(job: J, params: JobParams<J>, opts: RunOptions = {}): JobHandle<JobResult<J>> {
    const id = `${this.name}-${++this.seq}`;
    let entry: Pending | null = null;
    const result = new Promise<JobResult<J>>((resolve, reject) => {
      if (this.state === "failed" || !this.port) {
        return reject(
          new WorkerCrashedError(
            `The ${this.name} worker could not be started: ${this.lastCrash ?? "unknown"}.`,
          ),
        );
      }
      if (opts.signal?.aborted) return reject(new CancelledError());
      // Checked here too, so a bad request fails before its buffers are transferred away.
      const checked = parseParams(job, params);
      if (!checked.ok) return reject(new BadInputError(`Invalid parameters for "${job}": ${checked.reason}`));
      entry = {
        job,
        onEvent: opts.onEvent,
        channel: null,
        cancelRequested: false,
        cancelTimer: null,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      this.pending.set(id, entry);
      this.emitStatus();
      try {
        this.port.post({ kind: "run", id, job, params }, opts.transfer ?? []);
      } catch (err) {
        this.settle(
          id,
          null,
          new StudioError(ErrorCode.Internal, `Could not send "${job}" to the worker: ${String(err)}`),
        );
      }
    });
    const cancel = () => this.cancel(id);
    opts.signal?.addEventListener("abort", cancel, { once: true });
    const detach = () => opts.signal?.removeEventListener("abort", cancel);
    result.then(detach, detach);
    const pending = this.pending;
    return {
      id,
      result,
      cancel,
      get events(): AsyncIterable<JobEvent> {
        const channel = new Channel<JobEvent>();
        if (entry && pending.get(id) === entry) entry.channel ??= channel;
        else channel.close();
        return entry?.channel ?? channel;
      },
    };
  }

  /** Terminates the worker and rejects everything in flight; the client cannot be used afterwards. */
  dispose(): void {
    clearInterval(this.watchdog);
    this.port?.terminate();
    this.port = null;
    this.state = "failed";
    this.lastCrash = "the client was disposed";
    for (const id of [...this.pending.keys()])
      this.settle(id, null, new CancelledError("The worker was shut down."));
  }

  private start(): void {
    this.lastSeen = Date.now();
    this.state = "starting";
    const port = this.factory({
      message: (data) => {
        if (this.port === port) this.onMessage(data);
      },
      error: (reason) => {
        if (this.port === port) this.crash(reason);
      },
    });
    this.port = port;
    this.emitStatus();
  }

  private cancel(id: string): void {
    const p = this.pending.get(id);
    if (!p || p.cancelRequested) return;
    p.cancelRequested = true;
    try {
      this.port?.post({ kind: "cancel", id }, []);
    } catch {
      // The port is gone; the grace timer below restarts the worker.
    }
    p.cancelTimer = setTimeout(
      () => this.crash(`a cancelled job did not stop within ${this.cancelGraceMs} ms`),
      this.cancelGraceMs,
    );
  }

  private onMessage(data: unknown): void {
    this.lastSeen = Date.now();
    const parsed = FromWorkerSchema.safeParse(data);
    if (!parsed.success) {
      const id = (data as { id?: unknown } | null)?.id;
      if (typeof id === "string" && this.pending.has(id)) {
        this.settle(
          id,
          null,
          new StudioError(ErrorCode.Internal, `The ${this.name} worker sent a malformed message.`),
        );
      }
      return;
    }
    const msg = parsed.data;
    switch (msg.kind) {
      case "ready":
        this.everReady = true;
        this.startFailures = 0;
        this.state = "ready";
        this.emitStatus();
        return;
      case "heartbeat":
        return;
      case "fatal":
        this.crash(`uncaught error in the worker: ${msg.error.message}`);
        return;
      case "restart":
        this.crash(msg.reason);
        return;
      case "event": {
        const p = this.pending.get(msg.id);
        if (!p) return;
        p.onEvent?.(msg.event);
        p.channel?.push(msg.event);
        return;
      }
      case "result": {
        const p = this.pending.get(msg.id);
        if (!p) return;
        const r = parseResult(p.job, msg.result);
        if (r.ok) this.settle(msg.id, r.value, null);
        else
          this.settle(
            msg.id,
            null,
            new StudioError(ErrorCode.Internal, `Invalid result for "${p.job}": ${r.reason}`),
          );
        return;
      }
      case "error":
        if (this.pending.has(msg.id))
          this.settle(msg.id, null, deserializeError(asSerializedError(msg.error)));
        return;
    }
  }

  private settle(id: string, value: unknown, err: Error | null): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.cancelTimer) clearTimeout(p.cancelTimer);
    p.channel?.close();
    if (err) p.reject(err);
    else p.resolve(value);
    this.emitStatus();
  }

  private checkHeartbeat(): void {
    if (!this.port || this.state === "failed") return;
    const silent = Date.now() - this.lastSeen;
    if (silent > this.heartbeatTimeoutMs) this.crash(`no heartbeat for ${Math.round(silent / 1000)} s`);
  }

  private crash(reason: string): void {
    if (!this.port) return;
    this.port.terminate();
    this.port = null;
    this.restarts++;
    this.lastCrash = reason;
    const crashed = new WorkerCrashedError(
      `The ${this.name} worker stopped unexpectedly (${reason}). It has been restarted; run the job again.`,
      { worker: this.name, reason },
    );
    for (const [id, p] of [...this.pending])
      this.settle(id, null, p.cancelRequested ? new CancelledError() : crashed);
    if (!this.everReady && ++this.startFailures >= this.maxStartFailures) {
      this.state = "failed";
      this.lastCrash = `${reason} (gave up after ${this.startFailures} attempts)`;
      this.emitStatus();
      return;
    }
    this.everReady = false;
    this.start();
  }

  private emitStatus(): void {
    this.opts.onStatus?.(this.status);
  }
}
