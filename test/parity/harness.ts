/**
 * The parity harness: a fixture family's runner builds a `Program` (a model with the fixture's weights, its
 * inputs, and which outputs/gradients to compare); the harness runs it through the tfjs executor (outputs
 * and gradients) and the ONNX emitter + onnxruntime (outputs and, through the emitted backward, gradients;
 * fp32 asserted, fp16 and q4 reported as information),
 * and compares every tensor with the fixture by relative L2, against the fixture's own tolerance.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { OnnxEmitter, type WeightFormat } from "../../src/engine/ops/onnx/emitter.js";
import { type GSym, OnnxGradTracer } from "../../src/engine/ops/onnx/grad.js";
import {
  createSession,
  type HostTensor,
  type OrtModule,
  runSession,
} from "../../src/engine/ops/onnx/session.js";
import type { Ops } from "../../src/engine/ops/ops.js";
import { TfjsOps, valueAndGrads } from "../../src/engine/ops/tfjs.js";
import { type Fixture, relL2, tolerance } from "../support/golden.js";

/** "host": plain TypeScript on the CPU (tokenizers, the scheduler, the condition-video path). */
export type ExecutorName = "tfjs" | "onnx-fp32" | "onnx-fp16" | "onnx-q4" | "host";

export interface TensorCheck {
  key: string;
  rel: number;
  /** null for informational rows (fp16/q4 storage): reported, not asserted. */
  tol: number | null;
  worst: number;
}

export interface ParityRow {
  fixture: string;
  executor: ExecutorName;
  checks: TensorCheck[];
  informational: boolean;
  note?: string;
}

export interface ParityEnv {
  ort: OrtModule;
  /** Also run fp16 and q4 ONNX variants (informational rows). */
  quantized: boolean;
}

export interface ParityRunner {
  family: string;
  supports(fixture: string): boolean;
  run(fx: Fixture, env: ParityEnv): Promise<ParityRow[]>;
}

export interface Program {
  /** Graph inputs; keys are fixture keys (e.g. "in.x") or any name the forward uses. */
  inputs: Record<string, HostTensor>;
  /** Outputs keyed by the fixture keys they are compared with (e.g. "out.embedding"). */
  forward<T>(ops: Ops<T>, xs: Record<string, T>): Record<string, T>;
  /** Scalar loss whose gradients are compared as `grad.<input name without "in.">`. */
  loss?<T>(ops: Ops<T>, outs: Record<string, T>, xs: Record<string, T>): T;
  /** Inputs to differentiate (input names). */
  gradWrt?: readonly string[];
  /** Outputs that the ONNX executor is not asked for (e.g. host-side values). */
  tfjsOnly?: readonly string[];
}

type Host = Float32Array | Int32Array;

export async function runTfjs(
  p: Program,
): Promise<{ outs: Record<string, Host>; grads: Record<string, Host> }> {
  const ops = new TfjsOps();
  const names = Object.keys(p.inputs);
  const xs = Object.fromEntries(
    names.map((n) => [
      n,
      tf.tensor(
        p.inputs[n].data,
        [...p.inputs[n].shape],
        p.inputs[n].data instanceof Int32Array ? "int32" : "float32",
      ),
    ]),
  );
  try {
    const outs: Record<string, Host> = {};
    const o = tf.tidy(() => p.forward(ops, xs));
    for (const [k, t] of Object.entries(o)) {
      outs[k] = (await t.data()) as Host;
      t.dispose();
    }
    const grads: Record<string, Host> = {};
    const wrt = p.gradWrt ?? [];
    if (p.loss && wrt.length) {
      const res = tf.tidy(() => {
        const { grads: g } = valueAndGrads(
          (...vs: tf.Tensor[]) => {
            const all = { ...xs };
            wrt.forEach((n, i) => {
              all[n] = vs[i];
            });
            return p.loss!(ops, p.forward(ops, all), all);
          },
          wrt.map((n) => xs[n]),
        );
        return g;
      });
      for (let i = 0; i < wrt.length; i++) {
        grads[`grad.${wrt[i].replace(/^in\./, "")}`] = (await res[i].data()) as Host;
        res[i].dispose();
      }
    }
    return { outs, grads };
  } finally {
    for (const t of Object.values(xs)) t.dispose();
    ops.dispose();
  }
}

export async function runOnnx(
  p: Program,
  ort: OrtModule,
  weights: WeightFormat,
): Promise<Record<string, Host>> {
  // With gradients asked for, the same graph also carries its backward (OnnxGradTracer), so ONNX Runtime's
  // gradients are held to the fixture exactly as tfjs's are.
  const em = new OnnxEmitter({ weights, q4BlockSize: 16 });
  const wrt = p.loss ? (p.gradWrt ?? []) : [];
  const gt = new OnnxGradTracer(em);
  const syms: Record<string, GSym> = {};
  const feedName = (n: string) => n.replace(/[^A-Za-z0-9_]/g, "_");
  for (const [n, t] of Object.entries(p.inputs))
    syms[n] = gt.input(feedName(n), t.shape, {
      dtype: t.data instanceof Int32Array ? "int32" : "float32",
      grad: wrt.includes(n),
    });
  const outs = p.forward<GSym>(gt, syms);
  const keys = Object.keys(outs).filter((k) => !p.tfjsOnly?.includes(k));
  for (const k of keys) em.output(`o_${feedName(k)}`, outs[k]);
  const gradKeys = wrt.map((n) => `grad.${n.replace(/^in\./, "")}`);
  if (wrt.length) {
    const g = gt.gradients(
      p.loss!(gt, outs, syms),
      wrt.map((n) => syms[n]),
    );
    g.forEach((s, i) => {
      em.output(`o_${feedName(gradKeys[i])}`, s);
    });
  }
  const session = await createSession(ort, em.build());
  try {
    const res = await runSession(
      ort,
      session,
      Object.fromEntries(Object.entries(p.inputs).map(([n, t]) => [feedName(n), t])),
    );
    return Object.fromEntries([...keys, ...gradKeys].map((k) => [k, res[`o_${feedName(k)}`].data]));
  } finally {
    await session.release();
  }
}

/** Compare results with the fixture's `out.*` / `grad.*` tensors present in both. */
export function compare(fx: Fixture, results: Record<string, Host>, informational = false): TensorCheck[] {
  const checks: TensorCheck[] = [];
  for (const [key, got] of Object.entries(results)) {
    if (!fx.io?.has(key)) continue;
    const ref = fx.io.get(key);
    const { rel, worst } = relL2(got, ref);
    checks.push({ key, rel, worst, tol: informational ? null : tolerance(fx, key) });
  }
  return checks;
}

/** tfjs (outputs + gradients) and ONNX fp32 rows, plus fp16/q4 information rows when asked. */
export async function standardRows(fx: Fixture, env: ParityEnv, p: Program): Promise<ParityRow[]> {
  const rows: ParityRow[] = [];
  const tfr = await runTfjs(p);
  rows.push({
    fixture: fx.name,
    executor: "tfjs",
    checks: compare(fx, { ...tfr.outs, ...tfr.grads }),
    informational: false,
  });
  rows.push({
    fixture: fx.name,
    executor: "onnx-fp32",
    checks: compare(fx, await runOnnx(p, env.ort, "fp32")),
    informational: false,
  });
  if (env.quantized) {
    for (const w of ["fp16", "q4"] as const) {
      rows.push({
        fixture: fx.name,
        executor: `onnx-${w}`,
        checks: compare(fx, await runOnnx(p, env.ort, w), true),
        informational: true,
      });
    }
  }
  return rows;
}

export function rowPasses(r: ParityRow): boolean {
  return r.informational || (r.checks.length > 0 && r.checks.every((c) => c.tol !== null && c.rel <= c.tol));
}

/** Input tensors from the fixture's io file. */
export function fixtureInput(fx: Fixture, key: string): HostTensor {
  if (!fx.io) throw new Error(`fixture ${fx.name} has no io file`);
  return { data: fx.io.get(key), shape: fx.io.shape(key) };
}
