/**
 * tfjs vs ONNX Runtime training steps of one job, through the job's own script (the real training loop at the
 * job's real batch, one child process per run, as all.ts runs it): both executors start from the same checkpoint (a copy of `--from`, e.g. .cache/train/imagebind, or a
 * fresh init), run one step on the same batch — their losses, updated weights and AdamW moments are compared —
 * then `--steps` more steps each for timing (wall and CPU seconds per step from log.jsonl; the first step of each
 * run, which builds the ORT session, is not counted).
 *
 *   node tools/run.mjs tools/train/ort-bench.ts --job <imagebind|audioldm-vae|audioldm-vocoder|audioldm-ldm|sd-vae|sd-unet|motion>
 *     [--from .cache/train/<job>]
 *     [--steps 3] [--clips 64] [--threads 1] [--only tfjs|ort]
 *
 * Writes only under --out (default /tmp/ort-bench); `--from` is read, never written.
 */
import { spawnSync } from "node:child_process";
import { cp, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { SafetensorsFile } from "../../src/engine/weights/safetensors.js";
import { flags } from "./lib/env.js";
import type { Executor } from "./lib/trainer.js";

/** Converted jobs: their script and the arguments all.ts gives them (the real batch). */
const JOBS: Record<string, { script: string; args: string[] }> = {
  imagebind: { script: "imagebind.ts", args: ["--batch", "16"] },
  "audioldm-vae": { script: "audioldm-vae.ts", args: ["--batch", "4"] },
  "audioldm-vocoder": { script: "audioldm-vocoder.ts", args: ["--batch", "4"] },
  "sd-vae": { script: "sd-vae.ts", args: ["--batch", "4"] },
  "sd-unet": { script: "sd-unet.ts", args: ["--batch", "8", "--vae-dir", ".cache/train/sd-vae"] },
  "audioldm-ldm": {
    script: "audioldm-ldm.ts",
    args: ["--batch", "4", "--vae-dir", ".cache/train/audioldm-vae"],
  },
  motion: {
    script: "motion.ts",
    args: ["--vae-dir", ".cache/train/sd-vae", "--sd-dir", ".cache/train/sd-unet"],
  },
};

const f = flags();
const jobName = f.str("job", "imagebind");
const from = f.str("from", "");
const out = f.str("out", "/tmp/ort-bench");
const extra = f.num("steps", 3);
const threads = f.num("threads", 1);
const only = f.str("only", "");
const spec = JOBS[jobName];
if (!spec) throw new Error(`unknown job ${jobName} (${Object.keys(JOBS).join(", ")})`);

/** Run the job's own script (a child process, as all.ts does) to `steps` in `dir` on `executor`. */
function train(dir: string, steps: number, executor: Executor): void {
  const args = ["tools/run.mjs", `tools/train/${spec.script}`, ...spec.args, "--dir", dir];
  args.push("--steps", String(steps), "--clips", String(f.num("clips", 64)), "--executor", executor);
  const r = spawnSync(process.execPath, args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TRAIN_ORT_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`${spec.script} exited with ${r.status}`);
}

async function startStep(dir: string): Promise<number> {
  try {
    return (JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as { step: number }).step;
  } catch {
    return 0;
  }
}

const executors: Executor[] = only ? [only as Executor] : ["tfjs", "ort"];
const dirs: Record<string, string> = {};
for (const ex of executors) {
  const dir = join(out, `${jobName}-${ex}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (from) {
    await cp(join(from, "checkpoint.safetensors"), join(dir, "checkpoint.safetensors"));
    await cp(join(from, "state.json"), join(dir, "state.json"));
  }
  dirs[ex] = dir;
}
const s0 = from ? await startStep(dirs[executors[0]]) : 0;
if (!from) {
  // a fresh init, written once by step 0 of a 0-step run on tfjs, then copied: both start from the same weights
  const seed = join(out, `${jobName}-init`);
  await rm(seed, { recursive: true, force: true });
  train(seed, 1, "tfjs");
  for (const ex of executors) {
    await rm(dirs[ex], { recursive: true, force: true });
    await cp(seed, dirs[ex], { recursive: true });
  }
}
const s1 = from ? s0 : await startStep(dirs[executors[0]]);

// 1. one step from the same checkpoint and batch
for (const ex of executors) train(dirs[ex], s1 + 1, ex);
if (executors.length === 2) {
  const [a, b] = await Promise.all(
    executors.map(async (ex) => {
      const p = join(dirs[ex], "checkpoint.safetensors");
      return new SafetensorsFile(new Uint8Array(await readFile(p)), p);
    }),
  );
  const logs = await Promise.all(
    executors.map(async (ex) => {
      const lines = (await readFile(join(dirs[ex], "log.jsonl"), "utf8")).trim().split("\n");
      return JSON.parse(lines[lines.length - 1]) as Record<string, number>;
    }),
  );
  console.log(
    `step ${s1} → ${s1 + 1}: loss tfjs ${logs[0].loss} ort ${logs[1].loss} (rel diff ${(Math.abs(logs[0].loss - logs[1].loss) / Math.abs(logs[0].loss)).toExponential(2)}), |g| ${logs[0].gradNorm} vs ${logs[1].gradNorm}`,
  );
  for (const prefix of ["model/", "adam/m/", "adam/v/"]) {
    let worst = 0;
    let worstKey = "";
    let maxDelta = 0;
    let n = 0;
    for (const k of a.keys()) {
      if (!k.startsWith(prefix) || !b.has(k) || a.entry(k).dtype !== "F32") continue;
      const x = a.float(k);
      const y = b.float(k);
      let scale = 0;
      let d = 0;
      for (let i = 0; i < x.length; i++) {
        if (!Number.isFinite(x[i]) && x[i] === y[i]) continue; // masks hold −∞
        scale = Math.max(scale, Math.abs(x[i]));
        d = Math.max(d, Math.abs(x[i] - y[i]));
      }
      n++;
      maxDelta = Math.max(maxDelta, d);
      const rel = d / Math.max(scale, 1e-12);
      if (rel > worst) {
        worst = rel;
        worstKey = k;
      }
    }
    console.log(
      `  ${prefix}*: ${n} tensors, max |Δ| ${maxDelta.toExponential(2)}, worst max|Δ|/max|x| ${worst.toExponential(2)} (${worstKey})`,
    );
  }
}

// 2. timing: `extra` more steps each
for (const ex of executors) {
  // one more step than timed: each run's first step includes building its ORT session (tracing + session
  // creation, seconds), which a long run pays once
  train(dirs[ex], s1 + 2 + extra, ex);
  const lines = (await readFile(join(dirs[ex], "log.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number>)
    .slice(-extra);
  const mean = (k: string) => lines.reduce((s, l) => s + l[k], 0) / lines.length / 1000;
  console.log(
    `${jobName} ${ex}${ex === "ort" ? ` (${threads} thread${threads > 1 ? "s" : ""})` : ""}: ${mean("ms").toFixed(2)} s/step, ${mean("cpuMs").toFixed(2)} CPU-s/step (batch ${mean("batchMs").toFixed(2)} s) over ${lines.length} steps; losses ${lines.map((l) => l.loss.toFixed(4)).join(" ")}`,
  );
}
