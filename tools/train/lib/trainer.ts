/**
 * The training loop every script shares: resumable (checkpoint = weights + AdamW moments + step, written
 * atomically every `checkpointEvery` steps and on SIGINT/SIGTERM), deterministic (batches and noise are
 * functions of (seed, step), so a resumed run sees the same data as an uninterrupted one), logged (one JSON line
 * per step in log.jsonl: loss, its parts, gradient norm, learning rate, milliseconds).
 *
 * Output layout under `dir`: checkpoint.safetensors, state.json, log.jsonl, and when finished
 * final/<model>.safetensors (fp32 state dicts with upstream keys) + done.json.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { namedParams, type Param } from "../../../src/engine/ops/param.js";
import { TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { SafetensorsFile, writeSafetensors } from "../../../src/engine/weights/safetensors.js";
import { AdamW, type AdamWOptions } from "./adamw.js";
import { loadState, nameForTraining, type rawOf, stateDict } from "./params.js";

export type LossOut = tf.Scalar | { loss: tf.Scalar; parts?: Record<string, tf.Scalar> };

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
  loss: (ops: TfjsOps, batch: B, step: number) => LossOut;
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
  ops: TfjsOps,
  opt: AdamW,
  st: SavedState,
): Promise<void> {
  await ops.syncParamsToHost();
  const tensors: Record<string, ReturnType<typeof rawOf>> = {};
  for (const [m, model] of Object.entries(models))
    for (const [key, raw] of Object.entries(stateDict(model))) tensors[`model/${m}/${key}`] = raw;
  const s = await opt.state();
  for (const [k, a] of s.m) tensors[`adam/m/${k}`] = { dtype: "F32", shape: [a.length], data: bytes(a) };
  for (const [k, a] of s.v) tensors[`adam/v/${k}`] = { dtype: "F32", shape: [a.length], data: bytes(a) };
  const file = writeSafetensors(tensors, { step: String(st.step), adam_step: String(s.step) });
  await writeFile(join(dir, "checkpoint.safetensors.tmp"), file);
  await rename(join(dir, "checkpoint.safetensors.tmp"), join(dir, "checkpoint.safetensors"));
  await writeFile(join(dir, "state.json"), `${JSON.stringify(st)}\n`);
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
  const ops = new TfjsOps({ trainable: true });
  const vars = new Map<string, tf.Variable>();
  const isTrainable = job.trainable ?? (() => true);
  for (const [m, model] of Object.entries(job.models))
    for (const [key, p] of namedParams(model)) {
      const t = ops.param(p as Param);
      if (t instanceof tf.Variable && !p.buffer && isTrainable(m, key)) vars.set(p.name, t);
    }
  const opt = new AdamW(job.optimizer);
  if (adamState) opt.load(adamState, vars);
  const varList = [...vars.values()];
  const t0 = performance.now();
  const base = st.seconds;
  let lastLoss = Number.NaN;
  let step = st.step;
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
    const batch = await job.batch(job.overfit ? 0 : step);
    const batchMs = performance.now() - ts;
    const parts: Record<string, number> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = job.loss(ops, batch, step);
      if (out instanceof tf.Tensor) return out;
      for (const [k, v] of Object.entries(out.parts ?? {})) parts[k] = v.dataSync()[0];
      return out.loss;
    }, varList);
    const schedule = job.lr;
    const lr =
      typeof schedule === "number"
        ? schedule
        : job.overfit
          ? ((schedule as Schedule).peak ?? schedule(step))
          : schedule(scheduleStep(step));
    lastLoss = (await value.data())[0];
    if (!Number.isFinite(lastLoss)) throw new Error(`[${job.name}] loss is ${lastLoss} at step ${step}`);
    const gradNorm = opt.apply(vars, grads, lr);
    tf.dispose([value, ...Object.values(grads)]);
    // tensors a batch function created (e.g. preprocessed inputs) are freed with the step
    if (batch && typeof batch === "object")
      for (const v of Object.values(batch as object)) if (v instanceof tf.Tensor) v.dispose();
    job.afterStep?.(step);
    step++;
    const ms = performance.now() - ts;
    const line = {
      step,
      loss: lastLoss,
      ...parts,
      gradNorm,
      lr,
      ms: Math.round(ms),
      batchMs: Math.round(batchMs),
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
      await saveCheckpoint(job.dir, job.models, ops, opt, { step, seconds });
    if (overTime) break;
  }
  const seconds = base + (performance.now() - t0) / 1000;
  await ops.syncParamsToHost();
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
  opt.dispose();
  ops.dispose();
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
