/**
 * The aligner's loss and gradient on ONNX Runtime: the embed path (x0 → decode → ImageBind) and the bind loss
 * are traced once per shape and target set into one ONNX graph with its backward (ops/onnx/grad.ts), so the
 * guidance step runs on the same runtime as the UNet (onnxruntime-node in the CLI/eval/bench, the wasm or
 * WebGPU EP in a worker) instead of tfjs.
 *
 *   graph inputs : x0 [1, ...latent]; target_k [1, D] (condition embeddings, one per active term)
 *   graph outputs: loss [] = Σ_k w_k·(1 − cos(target_k, embed(x0)));  term_k [1] (unweighted);  grad = ∂loss/∂x0
 *
 * Term weights are baked into the graph (a session per weight set; a job uses one). The weights of the embed
 * path are stored as the forward executor stores them (fp32/fp16); the gradient is that of the stored weights.
 */
import type { InferenceSession } from "onnxruntime-common";
import { type BuiltModel, OnnxEmitter } from "../ops/onnx/emitter.js";
import { type GSym, OnnxGradTracer } from "../ops/onnx/grad.js";
import { createSession, type HostTensor, runSession, SessionCache } from "../ops/onnx/session.js";
import type { ExecutorChoice } from "../ops/runner.js";
import { untilCancelled } from "../runtime/job.js";
import type { AlignTarget, EmbedFn } from "./hook.js";
import {
  involvedModalities,
  type JointModality,
  TRIANGLE_TERMS,
  type TriangleWeights,
  triangleTerms,
} from "./joint.js";
import { bindLoss, type LossParts, type LossTerm } from "./losses.js";

export interface GuidanceGraphOptions {
  /**
   * Recompute checkpointed blocks in the backward (ops/onnx/grad.ts) instead of keeping their activations.
   * Default true: on the bundled V2A graph at 10 s, peak RSS 847 → 581 MB for +5 % step time (without the arena).
   */
  recompute?: boolean;
  /**
   * ONNX Runtime's CPU memory arena for this session. Default false: the arena keeps its high-water mark and
   * rounds blocks up, which on this graph costs more than it saves (986 vs 847 MB peak at 10 s, bundled pack).
   */
  arena?: boolean;
}

export interface LossAndGrad {
  loss: number;
  /** Unweighted (1 − cos) per active term. */
  terms: Record<string, number>;
  /** ∂loss/∂x0, same layout as x0. */
  grad: Float32Array;
}

interface Built {
  session: InferenceSession;
  terms: string[];
}

type OnnxChoice = Extract<ExecutorChoice, { kind: "onnx" }>;

/** How a guidance graph stores its weights: as the forward stores them (fp16), else fp32. */
const storedAs = (choice: OnnxChoice): GuidanceWeights => (choice.weights === "fp16" ? "fp16" : "fp32");
export type GuidanceWeights = "fp16" | "fp32";

/** A guidance graph being traced: weights stored as `weights`, recompute per `opts`. */
function traceGraph(name: string, weights: GuidanceWeights, opts: GuidanceGraphOptions) {
  const em = new OnnxEmitter({ weights, graphName: name });
  return { em, gt: new OnnxGradTracer(em, { recompute: opts.recompute ?? true }) };
}

/** A traced guidance graph, serialized, and the names of its `term_k` outputs. */
export interface GuidanceGraph {
  built: BuiltModel;
  terms: string[];
}

/** Outputs `loss` and `term_k`, and serializes the graph. */
function finishGraph(
  em: OnnxEmitter,
  parts: LossParts<GSym>,
  terms: readonly LossTerm<GSym>[],
): GuidanceGraph {
  em.output("loss", parts.total);
  terms.forEach((t, k) => {
    em.output(`term_${k}`, parts.terms[t.name]);
  });
  return { built: em.build(), terms: terms.map((t) => t.name) };
}

/** The session of a guidance graph: the forward's options, ORT's CPU arena per `opts.arena`. */
async function openGraph(g: GuidanceGraph, choice: OnnxChoice, opts: GuidanceGraphOptions): Promise<Built> {
  const session = {
    ...choice.session,
    extra: { ...choice.session?.extra, enableCpuMemArena: opts.arena ?? false },
  };
  return { session: await createSession(choice.ort, g.built, session), terms: g.terms };
}

/**
 * The single-path guidance graph of `embed` for one latent shape and target set, not yet a session
 * (`OnnxGuidance` opens it; bench/profile.ts profiles it).
 *
 *   inputs : x0 [shape]; target_k [1, D] per target of non-zero weight
 *   outputs: loss []; term_k [1]; grad [shape] = ∂loss/∂x0
 */
export function guidanceGraph(
  name: string,
  embed: EmbedFn,
  shape: readonly number[],
  targets: readonly AlignTarget[],
  weights: GuidanceWeights,
  opts: GuidanceGraphOptions = {},
): GuidanceGraph {
  const { em, gt } = traceGraph(name, weights, opts);
  const x0 = gt.input("x0", shape, { grad: true });
  const e = embed(gt, x0);
  const active = targets.filter((t) => t.weight !== 0);
  const terms: LossTerm<GSym>[] = active.map((t, k) => ({
    name: t.name,
    a: gt.input(`target_${k}`, [1, t.embedding.length]),
    b: e,
    weight: t.weight,
  }));
  const parts = bindLoss(gt, terms);
  em.output("grad", gt.gradients(parts.total, [x0])[0]);
  return finishGraph(em, parts, terms);
}

/** The session for `key` — the only one kept (a full-size guidance session is GBs) — unless cancelled first. */
async function sessionFor(
  sessions: SessionCache<Built>,
  key: string,
  build: () => Promise<Built>,
  signal: AbortSignal | undefined,
): Promise<Built> {
  await sessions.retainOnly(key);
  return untilCancelled(sessions.get(key, build), signal);
}

/** `loss` and the named `term_k` outputs of a run. */
function lossAndTerms(out: Record<string, HostTensor>, terms: readonly string[]) {
  return {
    loss: out.loss.data[0],
    terms: Object.fromEntries(terms.map((n, k) => [n, out[`term_${k}`].data[0]])),
  };
}

export class OnnxGuidance {
  private readonly sessions = new SessionCache<Built>();

  constructor(
    readonly name: string,
    private readonly embed: EmbedFn,
    private readonly choice: Extract<ExecutorChoice, { kind: "onnx" }>,
    private readonly opts: GuidanceGraphOptions = {},
  ) {}

  private build(shape: readonly number[], targets: readonly AlignTarget[]): Promise<Built> {
    const g = guidanceGraph(this.name, this.embed, shape, targets, storedAs(this.choice), this.opts);
    return openGraph(g, this.choice, this.opts);
  }

  /**
   * Loss, per-term values and ∂loss/∂x0 for a predicted clean latent x0. A cancel while the session is being
   * built (tens of seconds for a large graph) ends the wait at once; the build finishes in the background.
   */
  async lossAndGrad(
    x0: Float32Array,
    shape: readonly number[],
    targets: readonly AlignTarget[],
    signal?: AbortSignal,
  ): Promise<LossAndGrad> {
    const active = targets.filter((t) => t.weight !== 0);
    const key = `${shape.join(",")}|${active.map((t) => `${t.name}:${t.weight}:${t.embedding.length}`).join(";")}`;
    const { session, terms } = await sessionFor(this.sessions, key, () => this.build(shape, targets), signal);
    const feeds: Record<string, { data: Float32Array; shape: readonly number[] }> = {
      x0: { data: x0, shape },
    };
    active.forEach((t, k) => {
      feeds[`target_${k}`] = { data: t.embedding, shape: [1, t.embedding.length] };
    });
    const out = await runSession(this.choice.ort, session, feeds);
    return { ...lossAndTerms(out, terms), grad: out.grad.data as Float32Array };
  }

  /** Sessions held (one per shape × target set); for the cancel/memory tests. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}

/**
 * An engine's guidance graph: the `OnnxGuidance` (or `OnnxJointGuidance`) of the last embed path asked for (keyed
 * by what shapes it, e.g. the clip count), holding the session of its last latent shape and target set — one
 * at a time, since a full-size one holds GBs. Null `choice` means the engine guides on tfjs.
 */
export class GuidanceGraphs {
  private readonly paths = new Map<string, OnnxGuidance>();
  private readonly joints = new Map<string, OnnxJointGuidance>();

  constructor(private readonly choice: Extract<ExecutorChoice, { kind: "onnx" }> | null) {}

  /** The ONNX guidance for an embed path, or null when this engine guides on tfjs. */
  get(key: string, embed: () => EmbedFn): OnnxGuidance | null {
    if (!this.choice) return null;
    this.releaseOthers(key);
    let g = this.paths.get(key);
    if (!g) {
      g = new OnnxGuidance(`guidance-${key}`, embed(), this.choice);
      this.paths.set(key, g);
    }
    return g;
  }

  /** The joint (triangle) guidance for a pair of embed paths and term weights, or null on tfjs. */
  getJoint(
    key: string,
    embeds: () => Readonly<Record<JointModality, EmbedFn>>,
    weights: TriangleWeights,
  ): OnnxJointGuidance | null {
    if (!this.choice) return null;
    const k = `${key}|${TRIANGLE_TERMS.map((t) => weights[t]).join(",")}`;
    this.releaseOthers(k);
    let g = this.joints.get(k);
    if (!g) {
      g = new OnnxJointGuidance(`guidance-${key}`, embeds(), { ...weights }, this.choice);
      this.joints.set(k, g);
    }
    return g;
  }

  /** Guidance sessions are GBs at full size: a job's graph replaces the previous job's, it does not join it. */
  private releaseOthers(key: string): void {
    for (const map of [this.paths, this.joints] as Map<string, { dispose(): Promise<void> }>[])
      for (const [k, g] of map)
        if (k !== key) {
          map.delete(k);
          void g.dispose(); // release errors are swallowed inside
        }
  }

  /** ORT sessions held across all paths. */
  get sessionCount(): number {
    let n = 0;
    for (const g of this.paths.values()) n += g.sessionCount;
    for (const g of this.joints.values()) n += g.sessionCount;
    return n;
  }

  async dispose(): Promise<void> {
    const all = [...this.paths.values(), ...this.joints.values()];
    this.paths.clear();
    this.joints.clear();
    for (const g of all) await g.dispose();
  }
}

/**
 * The Joint-VA triangle loss (aligner/joint.ts) on ONNX Runtime: both embed paths and the loss in one graph with
 * its backward, differentiated w.r.t. each involved x0.
 *
 *   graph inputs : x0_audio [1, ...], x0_video [1, ...] (the involved ones); text [1, D]
 *   graph outputs: loss []; term_k [1] per active term (unweighted); grad_audio / grad_video = ∂loss/∂x0
 */
export class OnnxJointGuidance {
  private readonly sessions = new SessionCache<Built>();

  constructor(
    readonly name: string,
    private readonly embeds: Readonly<Record<JointModality, EmbedFn>>,
    private readonly weights: TriangleWeights,
    private readonly choice: Extract<ExecutorChoice, { kind: "onnx" }>,
    private readonly opts: GuidanceGraphOptions = {},
  ) {}

  private build(shapes: Partial<Record<JointModality, readonly number[]>>, textDim: number) {
    const { em, gt } = traceGraph(this.name, storedAs(this.choice), this.opts);
    const mods = involvedModalities(this.weights);
    const x0 = Object.fromEntries(
      mods.map((m) => [m, gt.input(`x0_${m}`, shapes[m]!, { grad: true })]),
    ) as Partial<Record<JointModality, GSym>>;
    const e = Object.fromEntries(mods.map((m) => [m, this.embeds[m](gt, x0[m]!)])) as Partial<
      Record<JointModality, GSym>
    >;
    const terms = triangleTerms(this.weights, gt.input("text", [1, textDim]), e);
    const parts = bindLoss(gt, terms);
    const grads = gt.gradients(
      parts.total,
      mods.map((m) => x0[m]!),
    );
    mods.forEach((m, k) => {
      em.output(`grad_${m}`, grads[k]);
    });
    return openGraph(finishGraph(em, parts, terms), this.choice, this.opts);
  }

  async lossAndGrads(
    x0: Partial<Record<JointModality, { data: Float32Array; shape: readonly number[] }>>,
    text: Float32Array,
    signal?: AbortSignal,
  ): Promise<{
    loss: number;
    terms: Record<string, number>;
    grads: Partial<Record<JointModality, Float32Array>>;
  }> {
    const mods = involvedModalities(this.weights);
    const shapes = Object.fromEntries(mods.map((m) => [m, x0[m]!.shape]));
    const key = `${mods.map((m) => `${m}:${shapes[m].join(",")}`).join(";")}|${text.length}`;
    const { session, terms } = await sessionFor(
      this.sessions,
      key,
      () => this.build(shapes, text.length),
      signal,
    );
    const feeds: Record<string, { data: Float32Array; shape: readonly number[] }> = {
      text: { data: text, shape: [1, text.length] },
    };
    for (const m of mods) feeds[`x0_${m}`] = x0[m]!;
    const out = await runSession(this.choice.ort, session, feeds);
    return {
      ...lossAndTerms(out, terms),
      grads: Object.fromEntries(mods.map((m) => [m, out[`grad_${m}`].data as Float32Array])),
    };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}
