/**
 * The training loop every script shares: resumable (checkpoint = weights + AdamW moments + step, written
 * atomically every `checkpointEvery` steps and on SIGINT/SIGTERM), deterministic (batches and noise are
 * functions of (seed, step), so a resumed run sees the same data as an uninterrupted one), logged (one JSON line
 * per step in log.jsonl: loss, its parts, gradient norm, learning rate, milliseconds).
 *
 * Output layout under `dir`: checkpoint.safetensors, state.json, log.jsonl, and when finished
 * final/<model>.safetensors (fp32 state dicts with upstream keys) + done.json.
 *
 * Two executors run a step (`executor`, default $TRAIN_EXECUTOR or "tfjs"):
 *  - "tfjs": tf.variableGrads over `loss` (or `graphLoss` on tf tensors) with TfjsOps({ trainable: true }) and
 *    `AdamW` on tf variables;
 *  - "ort": the job's `graphLoss` (written against `Ops`, on a batch of host tensors) traced ONCE into one ONNX
 *    graph — forward, loss and the backward emitted by `OnnxGradTracer` with the trainable parameters as graph
 *    inputs — run by onnxruntime-node (CPU EP, $TRAIN_ORT_THREADS intra-op threads, default 1) every step, the
 *    gradients applied by `HostAdamW` on the params' host arrays.
 * Both write the same checkpoint (weights + AdamW moments keyed by variable name), the same log lines, and
 * resume from each other's checkpoints.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OnnxEmitter } from "../../../src/engine/ops/onnx/emitter.js";
import { OnnxGradTracer } from "../../../src/engine/ops/onnx/grad.js";
import {
  createSession,
  type HostTensor,
  type OrtModule,
  runSession,
} from "../../../src/engine/ops/onnx/session.js";
import type { Ops } from "../../../src/engine/ops/ops.js";
import { namedParams, type Param } from "../../../src/engine/ops/param.js";
import { TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { SafetensorsFile, writeSafetensors } from "../../../src/engine/weights/safetensors.js";
import { AdamW, type AdamWOptions, type AdamWState, HostAdamW, type HostParam } from "./adamw.js";
import { loadState, nameForTraining, type rawOf, stateDict } from "./params.js";

export type LossOut = tf.Scalar | { loss: tf.Scalar; parts?: Record<string, tf.Scalar> };

/** A batch of host tensors by input name (what `graphLoss` reads). */
export type HostBatch = Record<string, HostTensor>;

/** A loss written once against `Ops` on named inputs: differentiated by tfjs, or traced into the ORT graph. */
export type GraphLoss = <T>(
  ops: Ops<T>,
  x: Readonly<Record<string, T>>,
) => { loss: T; parts?: Record<string, T> };

export type Executor = "tfjs" | "ort";

export interface TrainJob<B> {
  name: string;
  dir: string;
  /** Models whose parameters this job owns (checkpointed and exported). */
  models: Record<string, object>;
  /** Which parameters are updated (default: all float params that are not buffers). */
  trainable?: (model: string, key: string) => boolean;
  steps: number;
  lr: number | ((step: number) => number);
  optimizer?: AdamWOptions;
  /** Initialise every model's parameters (fresh runs only). */
  init: () => void;
  /** The batch of `step` (a pure function of the step). */
  batch: (step: number) => B | Promise<B>;
  /** The tfjs loss (jobs with a `graphLoss` may leave it out). */
  loss?: (ops: TfjsOps, batch: B, step: number) => LossOut;
  /** The loss against `Ops` on the batch's host tensors (then `batch` must return a `HostBatch`); needed by "ort". */
  graphLoss?: GraphLoss;
  /** Default $TRAIN_EXECUTOR, else "tfjs". */
  executor?: Executor;
  checkpointEvery?: number;
  /** Stop (after writing a checkpoint) once this many seconds have passed in this process. */
  maxSeconds?: number;
  /**
   * Wall-clock deadline (epoch ms; default $TRAIN_DEADLINE_MS, set by all.ts --finish-by). The learning-rate
   * schedule runs on max(step, steps · elapsed/budget), so it reaches its floor by the deadline, and at the
   * deadline the job FINISHES (final weights + done.json with `stoppedAtDeadline`) at the step it reached.
   */
  deadline?: number;
  /** Print a progress line every N steps (default 10). */
  printEvery?: number;
  /** Free per-step host memory etc. */
  afterStep?: (step: number) => void;
  /**
   * Smoke test of the loop (`--overfit` in every script): the batch of step 0 at every step and the peak learning
   * rate from the first step, so a few iterations must lower the loss if gradients reach every parameter.
   */
  overfit?: boolean;
}

export interface TrainResult {
  step: number;
  finished: boolean;
  seconds: number;
  lastLoss: number;
}

interface SavedState {
  step: number;
  seconds: number;
}

let stopRequested = false;
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write(`\n${sig}: finishing the current step, then writing a checkpoint\n`);
  });

async function exists(p: string): Promise<boolean> {
  return readFile(p).then(
    () => true,
    () => false,
  );
}

async function saveCheckpoint(
  dir: string,
  models: Record<string, object>,
  stepper: Stepper,
  st: SavedState,
): Promise<void> {
  await stepper.syncParamsToHost();
  const tensors: Record<string, ReturnType<typeof rawOf>> = {};
  for (const [m, model] of Object.entries(models))
    for (const [key, raw] of Object.entries(stateDict(model))) tensors[`model/${m}/${key}`] = raw;
  const s = await stepper.optimizerState();
  for (const [k, a] of s.m) tensors[`adam/m/${k}`] = { dtype: "F32", shape: [a.length], data: bytes(a) };
  for (const [k, a] of s.v) tensors[`adam/v/${k}`] = { dtype: "F32", shape: [a.length], data: bytes(a) };
  const file = writeSafetensors(tensors, { step: String(st.step), adam_step: String(s.step) });
  await writeFile(join(dir, "checkpoint.safetensors.tmp"), file);
  await rename(join(dir, "checkpoint.safetensors.tmp"), join(dir, "checkpoint.safetensors"));
  await writeFile(join(dir, "state.json"), `${JSON.stringify(st)}\n`);
}

/** One executor's training step and the state a checkpoint needs. */
export interface Stepper {
  /** Forward, backward and one AdamW update at `lr` (throws on a non-finite loss, before updating). */
  run(batch: unknown, lr: number): Promise<{ loss: number; parts: Record<string, number>; gradNorm: number }>;
  syncParamsToHost(): Promise<void>;
  optimizerState(): Promise<AdamWState>;
  dispose(): Promise<void>;
}

function isHostBatch(b: unknown): b is HostBatch {
  return (
    typeof b === "object" &&
    b !== null &&
    Object.values(b).every(
      (t) =>
        typeof t === "object" &&
        t !== null &&
        (t.data instanceof Float32Array || t.data instanceof Int32Array) &&
        Array.isArray(t.shape),
    )
  );
}

function hostBatch(name: string, b: unknown): HostBatch {
  if (!isHostBatch(b))
    throw new Error(`[${name}] a graphLoss job's batch must be host tensors {data, shape}`);
  return b;
}

/** The trainable parameters of a job's models, keyed by variable name (`<model>/<key>`). */
function trainableParams<B>(job: TrainJob<B>): Map<string, Param> {
  const out = new Map<string, Param>();
  const isTrainable = job.trainable ?? (() => true);
  for (const [m, model] of Object.entries(job.models))
    for (const [key, p] of namedParams(model))
      if (p.dtype === "float32" && !p.buffer && isTrainable(m, key)) out.set(p.name, p);
  return out;
}

class TfjsStepper<B> implements Stepper {
  private readonly ops = new TfjsOps({ trainable: true });
  private readonly vars = new Map<string, tf.Variable>();
  private readonly opt: AdamW;
  private readonly varList: tf.Variable[];

  constructor(
    private readonly job: TrainJob<B>,
    private readonly step: () => number,
    adamState: AdamWState | null,
  ) {
    const isTrainable = job.trainable ?? (() => true);
    for (const [m, model] of Object.entries(job.models))
      for (const [key, p] of namedParams(model)) {
        const t = this.ops.param(p as Param);
        if (t instanceof tf.Variable && !p.buffer && isTrainable(m, key)) this.vars.set(p.name, t);
      }
    this.opt = new AdamW(job.optimizer);
    if (adamState) this.opt.load(adamState, this.vars);
    this.varList = [...this.vars.values()];
  }

  private lossOf(batch: unknown): LossOut {
    const { job, ops } = this;
    if (job.loss) return job.loss(ops, batch as B, this.step());
    if (!job.graphLoss) throw new Error(`[${job.name}] the job has neither loss nor graphLoss`);
    const x: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(hostBatch(job.name, batch)))
      x[k] = tf.tensor(t.data, [...t.shape], t.data instanceof Int32Array ? "int32" : "float32");
    const out = job.graphLoss(ops, x);
    return { loss: out.loss as tf.Scalar, parts: out.parts as Record<string, tf.Scalar> | undefined };
  }

  async run(batch: unknown, lr: number) {
    const parts: Record<string, number> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = this.lossOf(batch);
      if (out instanceof tf.Tensor) return out;
      for (const [k, v] of Object.entries(out.parts ?? {})) parts[k] = v.dataSync()[0];
      return out.loss;
    }, this.varList);
    const loss = (await value.data())[0];
    if (!Number.isFinite(loss)) {
      tf.dispose([value, ...Object.values(grads)]);
      throw new Error(`[${this.job.name}] loss is ${loss} at step ${this.step()}`);
    }
    const gradNorm = this.opt.apply(this.vars, grads, lr);
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, parts, gradNorm };
  }

  syncParamsToHost() {
    return this.ops.syncParamsToHost();
  }
  optimizerState() {
    return this.opt.state();
  }
  async dispose() {
    this.opt.dispose();
    this.ops.dispose();
  }
}

interface OrtGraph {
  session: Awaited<ReturnType<typeof createSession>>;
  params: [string, Param][];
  parts: string[];
}

/** Intra-op threads of the ORT training session ($TRAIN_ORT_THREADS, default 1: one core per job). */
function ortThreads(): number {
  const n = Number(process.env.TRAIN_ORT_THREADS);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export class OrtStepper<B> implements Stepper {
  private readonly params: Map<string, Param>;
  private readonly host = new Map<string, HostParam>();
  private readonly opt: HostAdamW;
  private ort: OrtModule | null = null;
  private graph: { key: string; g: OrtGraph } | null = null;
  /** Seconds spent tracing and building the session (reported once). */
  buildSeconds = 0;

  constructor(
    private readonly job: TrainJob<B>,
    adamState: AdamWState | null,
    private readonly threads = ortThreads(),
  ) {
    if (!job.graphLoss) throw new Error(`[${job.name}] executor "ort" needs a graphLoss`);
    this.params = trainableParams(job);
    for (const [k, p] of this.params)
      this.host.set(k, { data: p.values() as Float32Array, rank: p.shape.length });
    this.opt = new HostAdamW(job.optimizer);
    if (adamState) this.opt.load(adamState, this.host);
  }

  private async build(batch: HostBatch): Promise<OrtGraph> {
    const t0 = performance.now();
    this.ort ??= (await import("onnxruntime-node")) as unknown as OrtModule;
    const em = new OnnxEmitter({ weights: "fp32", graphName: this.job.name });
    const gt = new OnnxGradTracer(em, { params: new Set(this.params.values()) });
    const x: Record<string, ReturnType<OnnxGradTracer["input"]>> = {};
    for (const [k, t] of Object.entries(batch))
      x[k] = gt.input(k, t.shape, { dtype: t.data instanceof Int32Array ? "int32" : "float32" });
    const out = this.job.graphLoss!(gt, x);
    const used = gt.paramInputs();
    const grads = gt.gradients(
      out.loss,
      used.map(([, s]) => s),
    );
    em.output("loss", out.loss);
    const parts = Object.keys(out.parts ?? {});
    for (const k of parts) em.output(`part:${k}`, out.parts![k]);
    used.forEach(([p], i) => {
      em.output(`grad:${p.name}`, grads[i]);
    });
    const session = await createSession(this.ort, em.build(), { intraOpNumThreads: this.threads });
    this.buildSeconds += (performance.now() - t0) / 1000;
    process.stderr.write(
      `[${this.job.name}] ORT training graph: ${used.length} trainable tensors, built in ${this.buildSeconds.toFixed(1)} s (${this.threads} thread${this.threads > 1 ? "s" : ""})\n`,
    );
    return { session, params: used.map(([p]) => [p.name, p]), parts };
  }

  /** Loss, parts and gradients of one batch at the current weights (no update). */
  async gradients(batch: unknown): Promise<{
    loss: number;
    parts: Record<string, number>;
    grads: Map<string, Float32Array>;
  }> {
    const b = hostBatch(this.job.name, batch);
    const key = Object.entries(b)
      .map(([k, t]) => `${k}:${t.shape.join("x")}`)
      .join(",");
    if (this.graph?.key !== key) {
      await this.graph?.g.session.release();
      this.graph = { key, g: await this.build(b) };
    }
    const g = this.graph.g;
    const feeds: Record<string, HostTensor> = { ...b };
    for (const [name, p] of g.params) feeds[name] = { data: this.host.get(name)!.data, shape: p.shape };
    const res = await runSession(this.ort!, g.session, feeds);
    const parts: Record<string, number> = {};
    for (const k of g.parts) parts[k] = res[`part:${k}`].data[0];
    const grads = new Map<string, Float32Array>();
    for (const [name] of g.params) grads.set(name, res[`grad:${name}`].data as Float32Array);
    return { loss: res.loss.data[0], parts, grads };
  }

  async run(batch: unknown, lr: number) {
    const c0 = process.cpuUsage();
    const { loss, parts, grads } = await this.gradients(batch);
    if (!Number.isFinite(loss)) throw new Error(`[${this.job.name}] loss is ${loss}`);
    const c1 = process.cpuUsage();
    const gradNorm = this.opt.apply(this.host, grads, lr);
    if (process.env.TRAIN_PROFILE) {
      const c2 = process.cpuUsage();
      const s = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user + b.system - a.user - a.system) / 1e6;
      process.stderr.write(
        `[${this.job.name}] ORT run ${s(c0, c1).toFixed(2)} CPU-s, AdamW ${s(c1, c2).toFixed(2)} CPU-s\n`,
      );
    }
    return { loss, parts, gradNorm };
  }

  async syncParamsToHost() {
    // the params' host arrays are the ones updated in place; mark them changed for any tfjs cache
    for (const [k, p] of this.params) p.set(this.host.get(k)!.data);
  }
  async optimizerState() {
    return this.opt.state();
  }
  async dispose() {
    await this.graph?.g.session.release();
    this.graph = null;
  }
}

/** The executor a job runs on: its own `executor`, else $TRAIN_EXECUTOR, else tfjs. */
export function executorOf<B>(job: TrainJob<B>): Executor {
  const e = job.executor ?? process.env.TRAIN_EXECUTOR ?? "tfjs";
  if (e !== "tfjs" && e !== "ort") throw new Error(`unknown executor ${e} (tfjs or ort)`);
  if (e === "ort" && !job.graphLoss) {
    process.stderr.write(`[${job.name}] no graphLoss: training on tfjs\n`);
    return "tfjs";
  }
  return e;
}

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Run (or resume) a job to `steps` or until stopped. */
export async function train<B>(job: TrainJob<B>): Promise<TrainResult> {
  await mkdir(job.dir, { recursive: true });
  const ckptPath = join(job.dir, "checkpoint.safetensors");
  const logPath = join(job.dir, "log.jsonl");
  let st: SavedState = { step: 0, seconds: 0 };
  let adamState: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } | null = null;
  if (await exists(ckptPath)) {
    const f = new SafetensorsFile(new Uint8Array(await readFile(ckptPath)), ckptPath);
    for (const [m, model] of Object.entries(job.models)) {
      const missing = loadState(model, (k) =>
        f.has(`model/${m}/${k}`) ? f.get(`model/${m}/${k}`) : undefined,
      );
      if (missing.length)
        throw new Error(`${ckptPath}: ${m} lacks ${missing.length} tensors (${missing[0]}, …)`);
    }
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const k of f.keys()) {
      if (k.startsWith("adam/m/")) m.set(k.slice(7), f.float(k));
      if (k.startsWith("adam/v/")) v.set(k.slice(7), f.float(k));
    }
    st = JSON.parse(await readFile(join(job.dir, "state.json"), "utf8")) as SavedState;
    adamState = { step: Number(f.header.metadata?.adam_step ?? st.step), m, v };
    // keep the log consistent with the checkpoint: drop lines written after it
    if (await exists(logPath)) {
      const lines = (await readFile(logPath, "utf8")).split("\n").filter((l) => l.trim());
      const kept = lines.filter((l) => (JSON.parse(l) as { step: number }).step <= st.step);
      await writeFile(logPath, kept.map((l) => `${l}\n`).join(""));
    }
    process.stderr.write(`[${job.name}] resuming at step ${st.step}\n`);
  } else {
    job.init();
    await writeFile(logPath, "");
  }
  if (st.step >= job.steps)
    return { step: st.step, finished: true, seconds: st.seconds, lastLoss: Number.NaN };

  nameForTraining(job.models);
  let step = st.step;
  const executor = executorOf(job);
  const stepper: Stepper =
    executor === "ort" ? new OrtStepper(job, adamState) : new TfjsStepper(job, () => step, adamState);
  process.stderr.write(`[${job.name}] executor ${executor}\n`);
  const t0 = performance.now();
  const base = st.seconds;
  let lastLoss = Number.NaN;
  const every = job.checkpointEvery ?? 100;
  const envDeadline = Number(process.env.TRAIN_DEADLINE_MS);
  const deadline = job.deadline ?? (Number.isFinite(envDeadline) && envDeadline > 0 ? envDeadline : null);
  const startMs = Date.now();
  let hitDeadline = false;
  if (deadline !== null)
    process.stderr.write(
      `[${job.name}] deadline ${new Date(deadline).toISOString()} (${((deadline - startMs) / 1000).toFixed(0)} s from now)\n`,
    );
  /** The step the learning-rate schedule sees: ahead of `step` when the deadline comes first. */
  const scheduleStep = (s: number) =>
    deadline === null
      ? s
      : Math.max(s, Math.floor((job.steps * (Date.now() - startMs)) / Math.max(1, deadline - startMs)));
  while (step < job.steps && !stopRequested) {
    if (deadline !== null && Date.now() >= deadline) {
      hitDeadline = true;
      break;
    }
    const ts = performance.now();
    const cpu0 = process.cpuUsage();
    const batch = await job.batch(job.overfit ? 0 : step);
    const batchMs = performance.now() - ts;
    const schedule = job.lr;
    const lr =
      typeof schedule === "number"
        ? schedule
        : job.overfit
          ? ((schedule as Schedule).peak ?? schedule(step))
          : schedule(scheduleStep(step));
    const { loss, parts, gradNorm } = await stepper.run(batch, lr);
    lastLoss = loss;
    // tensors a batch function created (e.g. preprocessed inputs) are freed with the step
    if (batch && typeof batch === "object")
      for (const v of Object.values(batch as object)) if (v instanceof tf.Tensor) v.dispose();
    job.afterStep?.(step);
    step++;
    const ms = performance.now() - ts;
    const cpu = process.cpuUsage(cpu0);
    const line = {
      step,
      loss: lastLoss,
      ...parts,
      gradNorm,
      lr,
      ms: Math.round(ms),
      batchMs: Math.round(batchMs),
      // CPU time of the step (user + system, all threads): what the step costs on a loaded machine
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    };
    await appendFile(logPath, `${JSON.stringify(line)}\n`);
    if (step % (job.printEvery ?? 10) === 0 || step === job.steps) {
      const extra = Object.entries(parts)
        .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
        .join(" ");
      process.stderr.write(
        `[${job.name}] ${step}/${job.steps} loss ${lastLoss.toPrecision(4)} ${extra} |g| ${gradNorm.toPrecision(3)} ${(ms / 1000).toFixed(2)} s/step (batch ${(batchMs / 1000).toFixed(2)} s), ${tf.memory().numTensors} tensors\n`,
      );
    }
    const seconds = base + (performance.now() - t0) / 1000;
    const overTime = job.maxSeconds !== undefined && (performance.now() - t0) / 1000 > job.maxSeconds;
    const pastDeadline = deadline !== null && Date.now() >= deadline;
    if (step % every === 0 || step === job.steps || overTime || stopRequested || pastDeadline)
      await saveCheckpoint(job.dir, job.models, stepper, { step, seconds });
    if (overTime) break;
  }
  const seconds = base + (performance.now() - t0) / 1000;
  await stepper.syncParamsToHost();
  if (deadline !== null && !stopRequested && step < job.steps && Date.now() >= deadline) hitDeadline = true;
  const finished = step >= job.steps || hitDeadline;
  if (finished) {
    if (hitDeadline)
      process.stderr.write(`[${job.name}] deadline reached at step ${step}/${job.steps}: finishing here\n`);
    await mkdir(join(job.dir, "final"), { recursive: true });
    for (const [m, model] of Object.entries(job.models))
      await writeFile(join(job.dir, "final", `${m}.safetensors`), writeSafetensors(stateDict(model)));
    const done = { step, plannedSteps: job.steps, seconds, lastLoss, stoppedAtDeadline: hitDeadline };
    await writeFile(join(job.dir, "done.json"), `${JSON.stringify(done)}\n`);
  }
  await stepper.dispose();
  return { step, finished, seconds, lastLoss };
}

/** Load a finished job's exported weights into `model` (throws if the job has not finished). */
export async function loadFinal(dir: string, name: string, model: object): Promise<void> {
  const p = join(dir, "final", `${name}.safetensors`);
  const f = new SafetensorsFile(new Uint8Array(await readFile(p)), p);
  const missing = loadState(model, (k) => (f.has(k) ? f.get(k) : undefined));
  if (missing.length)
    throw new Error(`${p}: missing ${missing.length} tensors (${missing.slice(0, 3).join(", ")})`);
}

/**
 * Load one model's weights from a job's latest checkpoint (`model/<name>/<key>` entries): a run still in progress,
 * for the checks that read its weights (cond-check, prompt-check, vocoder-check with `--checkpoint`).
 */
export async function loadCheckpoint(dir: string, name: string, model: object): Promise<void> {
  const p = join(dir, "checkpoint.safetensors");
  const f = new SafetensorsFile(new Uint8Array(await readFile(p)), p);
  const missing = loadState(model, (k) =>
    f.has(`model/${name}/${k}`) ? f.get(`model/${name}/${k}`) : undefined,
  );
  if (missing.length) throw new Error(`${p}: ${name} lacks ${missing.length} tensors (${missing[0]}, …)`);
}

/** Whether a job's final weights exist. */
export function isDone(dir: string): Promise<boolean> {
  return exists(join(dir, "done.json"));
}

type Schedule = ((step: number) => number) & { peak?: number };

/** Linear warm-up for `warmup` steps, then cosine decay to `floor`·lr at `steps`. */
export function cosineLr(lr: number, steps: number, warmup = 50, floor = 0.1): Schedule {
  const f: Schedule = (step) => {
    if (step < warmup) return (lr * (step + 1)) / warmup;
    const u = Math.min(1, (step - warmup) / Math.max(1, steps - warmup));
    return lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * u)));
  };
  f.peak = lr;
  return f;
}
