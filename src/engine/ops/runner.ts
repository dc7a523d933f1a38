/**
 * Running one network's forward pass on a chosen executor, from host tensors to host tensors.
 *
 *  - "onnx": the forward is traced by the emitter for the given input shapes, built once per shape signature,
 *    and run by the injected onnxruntime module (onnxruntime-node in Node, onnxruntime-web in workers).
 *  - "tfjs": the forward runs eagerly on a TfjsOps (weights cached on the device by the executor).
 *
 * The same `forward` function serves both, so a component can move between executors without a second copy.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { InferenceSession } from "onnxruntime-common";
import { OnnxEmitter, type Sym, type WeightFormat } from "./onnx/emitter.js";
import {
  createSession,
  type HostTensor,
  type OrtModule,
  runSession,
  SessionCache,
  type SessionOptions,
} from "./onnx/session.js";
import type { Ops } from "./ops.js";
import { TfjsOps } from "./tfjs.js";

export type ForwardFn = <T>(ops: Ops<T>, xs: Record<string, T>) => Record<string, T>;

export type ExecutorChoice =
  | { kind: "onnx"; ort: OrtModule; weights?: WeightFormat; session?: SessionOptions }
  | { kind: "tfjs"; ops?: TfjsOps };

export interface ForwardRunner {
  readonly name: string;
  readonly executor: ExecutorChoice["kind"];
  run(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

function signature(inputs: Readonly<Record<string, HostTensor>>): string {
  return Object.entries(inputs)
    .map(([k, v]) => `${k}:${v.data instanceof Int32Array ? "i" : "f"}[${v.shape.join(",")}]`)
    .sort()
    .join(";");
}

const feedName = (n: string) => n.replace(/[^A-Za-z0-9_]/g, "_");

class OnnxRunner implements ForwardRunner {
  readonly executor = "onnx" as const;
  private readonly sessions = new SessionCache<{ session: InferenceSession; outputs: string[] }>();
  constructor(
    readonly name: string,
    private readonly forward: ForwardFn,
    private readonly choice: Extract<ExecutorChoice, { kind: "onnx" }>,
  ) {}

  private build(inputs: Readonly<Record<string, HostTensor>>) {
    const em = new OnnxEmitter({ weights: this.choice.weights ?? "fp32", graphName: this.name });
    const syms: Record<string, Sym> = {};
    for (const [n, t] of Object.entries(inputs))
      syms[n] = em.input(feedName(n), t.shape, t.data instanceof Int32Array ? "int32" : "float32");
    const outs = this.forward<Sym>(em, syms);
    const names = Object.keys(outs);
    for (const n of names) em.output(`out_${feedName(n)}`, outs[n]);
    return createSession(this.choice.ort, em.build(), this.choice.session).then((session) => ({
      session,
      outputs: names,
    }));
  }

  async run(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const { session, outputs } = await this.sessions.get(signature(inputs), () => this.build(inputs));
    const feeds = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [feedName(n), t]));
    const res = await runSession(this.choice.ort, session, feeds);
    return Object.fromEntries(outputs.map((n) => [n, res[`out_${feedName(n)}`]]));
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}

class TfjsRunner implements ForwardRunner {
  readonly executor = "tfjs" as const;
  private readonly ops: TfjsOps;
  private readonly owned: boolean;
  constructor(
    readonly name: string,
    private readonly forward: ForwardFn,
    ops?: TfjsOps,
  ) {
    this.ops = ops ?? new TfjsOps();
    this.owned = !ops;
  }
  async run(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const xs: Record<string, tf.Tensor> = {};
    for (const [n, t] of Object.entries(inputs))
      xs[n] = tf.tensor(t.data, [...t.shape], t.data instanceof Int32Array ? "int32" : "float32");
    try {
      const outs = tf.tidy(() => this.forward(this.ops, xs));
      const res: Record<string, HostTensor> = {};
      for (const [n, t] of Object.entries(outs)) {
        const d = await t.data();
        res[n] = {
          data: d instanceof Int32Array ? d : new Float32Array(d as Float32Array),
          shape: [...t.shape],
        };
        t.dispose();
      }
      return res;
    } finally {
      for (const t of Object.values(xs)) t.dispose();
    }
  }
  async dispose(): Promise<void> {
    if (this.owned) this.ops.dispose();
  }
}

export function forwardRunner(name: string, forward: ForwardFn, choice: ExecutorChoice): ForwardRunner {
  return choice.kind === "onnx"
    ? new OnnxRunner(name, forward, choice)
    : new TfjsRunner(name, forward, choice.ops);
}
