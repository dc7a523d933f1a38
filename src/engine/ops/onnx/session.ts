/**
 * Running emitted graphs with ONNX Runtime. The ORT module is injected (onnxruntime-node in the CLI and
 * tests, onnxruntime-web in workers), so this file never imports a runtime itself.
 */
import type { InferenceSession, Tensor } from "onnxruntime-common";
import type { BuiltModel } from "./emitter.js";

/** The parts of an onnxruntime module we use (satisfied by onnxruntime-node and onnxruntime-web). */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  Tensor: new (
    type: "float32" | "int32" | "int64",
    data: Float32Array | Int32Array | BigInt64Array,
    dims: readonly number[],
  ) => Tensor;
}

export interface HostTensor {
  data: Float32Array | Int32Array;
  shape: readonly number[];
}

export interface SessionOptions {
  executionProviders?: InferenceSession.SessionOptions["executionProviders"];
  intraOpNumThreads?: number;
  graphOptimizationLevel?: InferenceSession.SessionOptions["graphOptimizationLevel"];
  /** Any other ORT session options (profiling, optimized-model dump, execution mode, arenas), passed through. */
  extra?: Omit<InferenceSession.SessionOptions, "executionProviders" | "externalData">;
}

export async function createSession(
  ort: OrtModule,
  built: BuiltModel,
  opts: SessionOptions = {},
): Promise<InferenceSession> {
  const options: InferenceSession.SessionOptions = {
    ...opts.extra,
    executionProviders: opts.executionProviders ?? ["cpu"],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
  };
  if (opts.intraOpNumThreads) options.intraOpNumThreads = opts.intraOpNumThreads;
  if (built.externalData)
    options.externalData = [{ path: built.externalData.path, data: built.externalData.data }];
  return ort.InferenceSession.create(built.model, options);
}

export async function runSession(
  ort: OrtModule,
  session: InferenceSession,
  inputs: Readonly<Record<string, HostTensor>>,
): Promise<Record<string, HostTensor>> {
  const feeds: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    feeds[name] = new ort.Tensor(t.data instanceof Int32Array ? "int32" : "float32", t.data, t.shape);
  }
  const res = await session.run(feeds);
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(res)) {
    const data = t.data;
    if (!(data instanceof Float32Array || data instanceof Int32Array))
      throw new TypeError(`output ${name} has unsupported type ${t.type}`);
    out[name] = { data, shape: [...t.dims] };
  }
  return out;
}

/**
 * Sessions built on demand, one per key (a shape signature, a target set), shared by concurrent callers. A build
 * that fails is forgotten, so the next call retries it.
 */
export class SessionCache<V extends { session: InferenceSession }> {
  private readonly entries = new Map<string, Promise<V>>();

  get(key: string, build: () => Promise<V>): Promise<V> {
    let e = this.entries.get(key);
    if (!e) {
      e = build();
      this.entries.set(key, e);
      e.catch(() => this.entries.delete(key));
    }
    return e;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Release every session except `key`'s (for graphs too large to keep one per shape). */
  async retainOnly(key: string): Promise<void> {
    const others = [...this.entries].filter(([k]) => k !== key);
    for (const [k] of others) this.entries.delete(k);
    for (const [, e] of others) {
      try {
        await (await e).session.release();
      } catch {
        // a session that failed to build has nothing to release
      }
    }
  }

  async dispose(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      try {
        await (await e).session.release();
      } catch {
        // a session that failed to build has nothing to release
      }
    }
  }
}
