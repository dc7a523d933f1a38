/**
 * The whole training run, resumable, in two parallel tracks (one per CPU core; each job is one single-threaded
 * tfjs-wasm process):
 *
 *   audio  : evaluators → audioldm-vae → audioldm-vocoder → clap → audioldm-ldm
 *   vision : imagebind → sd-vae → sd-unet → motion
 *   then   : build-pack (→ .cache/train/pack, or public/models/default with --install)
 *
 *   npm run train                         # = node tools/run.mjs tools/train/all.ts
 *   nohup npm run train -- --install > .cache/train/all.log 2>&1 &      # background, then installs the pack
 *
 * Options: --parallel 1|2 (tracks at once, default 2), --scale F (multiply every step count, e.g. 0.01 for a
 * smoke run; use it with --root), --root DIR (default .cache/train; jobs, logs and data caches of a smoke run
 * stay apart from the real run), --only job,job (run just these), --install, --finish-by HH:MM (UTC; every job
 * gets a share of its track's time left and FINISHES at its deadline with the step it reached, its learning
 * rate annealed on the wall clock; 3 min are kept for the pack), --executor tfjs|ort (ort: jobs with a graphLoss
 * run each step as one ONNX Runtime graph, the others stay on tfjs; docs/training.md), --ort-threads N. A finished job (done.json) is skipped; an interrupted
 * one resumes from its checkpoint, so re-running the same command continues where it stopped. Each job logs to
 * .cache/train/logs/<job>.log; this script writes .cache/train/run.json (status and wall time of every job).
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { flags } from "./lib/env.js";
import { AUDIO, type Job, VISION } from "./lib/jobs.js";
import { isDone } from "./lib/trainer.js";

// `isDone` and the jobs resolve folders from TRAIN_ROOT: children get --root through the environment

const f = flags();
const ROOT = f.str("root", ".cache/train");
const scale = f.num("scale", 1);
const only = f.str("only", "").split(",").filter(Boolean);
/** --finish-by HH:MM (UTC, today) or an ISO time: every job gets a deadline (see `deadlineOf`). */
const finishBy = parseFinishBy(f.str("finish-by", ""));
// --executor ort: jobs that have a graphLoss train as one ONNX Runtime graph per step (trainer.ts); the others
// stay on tfjs. Passed to the children as TRAIN_EXECUTOR (and --ort-threads as TRAIN_ORT_THREADS).
const executor = f.str("executor", "");
const ortThreads = f.str("ort-threads", "");
/** Minutes kept free before --finish-by for building the pack. */
const PACK_RESERVE_MS = 3 * 60_000;

function parseFinishBy(v: string): number | null {
  if (!v) return null;
  const hm = /^(\d{1,2}):(\d{2})$/.exec(v);
  const t = hm
    ? (() => {
        const d = new Date();
        d.setUTCHours(Number(hm[1]), Number(hm[2]), 0, 0);
        return d.getTime();
      })()
    : Date.parse(v);
  if (!Number.isFinite(t) || t <= Date.now())
    throw new Error(`--finish-by ${v}: needs a future time (HH:MM UTC or ISO)`);
  return t;
}

/**
 * A job's wall-clock deadline: the track's time left until --finish-by (less the pack reserve), split by `share`
 * among the jobs of the track that have not run yet (time a job leaves unused flows to the next ones).
 */
function deadlineOf(job: Job, rest: Job[]): number | null {
  if (finishBy === null) return null;
  const left = finishBy - PACK_RESERVE_MS - Date.now();
  const total = rest.reduce((a, j) => a + j.share, 0);
  return Date.now() + Math.max(60_000, (left * job.share) / total);
}
const status: Record<
  string,
  { state: string; seconds?: number; steps: number; reached?: Record<string, number> }
> = {};
const started = Date.now();

async function save(): Promise<void> {
  await writeFile(
    join(ROOT, "run.json"),
    `${JSON.stringify({ started: new Date(started).toISOString(), scale, jobs: status }, null, 2)}\n`,
  );
}

function run(script: string, args: string[], log: string, deadline: number | null = null): Promise<number> {
  return new Promise((resolve) => {
    const out = createWriteStream(log, { flags: "a" });
    const env: NodeJS.ProcessEnv = { ...process.env, TRAIN_ROOT: ROOT };
    if (deadline !== null) env.TRAIN_DEADLINE_MS = String(deadline);
    if (executor) env.TRAIN_EXECUTOR = executor;
    if (ortThreads) env.TRAIN_ORT_THREADS = ortThreads;
    const child = spawn(process.execPath, ["tools/run.mjs", `tools/train/${script}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env,
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    const stop = () => child.kill("SIGTERM"); // the job checkpoints and exits
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    child.on("close", (code) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      out.end();
      resolve(code ?? 1);
    });
  });
}

async function track(all: Job[]): Promise<boolean> {
  const jobs = all.filter((j) => !only.length || only.includes(j.name));
  for (const [k, job] of jobs.entries()) {
    const steps = Math.max(2, Math.round(job.steps * scale));
    const done = (await Promise.all(job.dirs.map((d) => isDone(join(ROOT, d))))).every(Boolean);
    if (done) {
      status[job.name] = { state: "done (earlier)", steps };
      continue;
    }
    status[job.name] = { state: "running", steps };
    await save();
    const t0 = Date.now();
    const deadline = deadlineOf(job, jobs.slice(k));
    process.stderr.write(
      `[train] ${job.name}: ${steps} steps${deadline ? ` or until ${new Date(deadline).toISOString()}` : ""} (log ${ROOT}/logs/${job.name}.log)\n`,
    );
    const code = await run(
      job.script,
      ["--steps", String(steps), ...(job.args ?? [])],
      join(ROOT, "logs", `${job.name}.log`),
      deadline,
    );
    const seconds = Math.round((Date.now() - t0) / 1000);
    const ok = code === 0 && (await Promise.all(job.dirs.map((d) => isDone(join(ROOT, d))))).every(Boolean);
    const reached = await Promise.all(
      job.dirs.map((d) =>
        readFile(join(ROOT, d, "done.json"), "utf8").then(
          (t) => (JSON.parse(t) as { step: number }).step,
          () => 0,
        ),
      ),
    );
    status[job.name] = {
      state: ok ? "done" : `stopped (exit ${code})`,
      seconds,
      steps,
      reached: Object.fromEntries(job.dirs.map((d, i) => [d, reached[i]])),
    };
    await save();
    process.stderr.write(`[train] ${job.name}: ${status[job.name].state} after ${seconds} s\n`);
    if (!ok) return false;
  }
  return true;
}

await mkdir(join(ROOT, "logs"), { recursive: true });
const parallel = f.num("parallel", 2);
const results =
  parallel >= 2 ? await Promise.all([track(AUDIO), track(VISION)]) : [await track([...AUDIO, ...VISION])];
if (results.every(Boolean) && !only.length) {
  const out = f.has("install") ? "public/models/default" : join(ROOT, "pack");
  process.stderr.write(`[train] all jobs done; building the pack → ${out}\n`);
  const code = await run("build-pack.ts", ["--out", out], join(ROOT, "logs", "build-pack.log"));
  status["build-pack"] = { state: code === 0 ? `done → ${out}` : `failed (exit ${code})`, steps: 0 };
}
await save();
process.stderr.write(
  `[train] finished in ${((Date.now() - started) / 3600000).toFixed(2)} h; see ${ROOT}/run.json\n`,
);
