/**
 * The evaluation harness (issue 9; SPEC §6): vanilla vs guided on N held-out world pairs with the same seeds, as
 * a Table-1-style table (markdown on stdout and in eval/results/<task>.md, JSON in eval/results/<task>.json,
 * one line per pair in eval/results/<task>.pairs.jsonl).
 *
 *   npm run eval -- --task v2a|i2a|a2v|joint [--n 100] [--first 0] [--steps 20] [--pack public/models/default]
 *                   [--cfg-audio 2.5] [--cfg-video 7.5] [--lambda-audio 0.1] [--lambda-video 0.01]
 *                   [--warmup 0.2] [--out eval/results] [--save-media DIR] [--resamples 200] [--threads N]
 *   npm run eval -- --task v2a --quick      (2 pairs × 2 steps, 20 resamples: the harness end to end in ~30 s)
 *   npm run eval -- --media DIR [--reference DIR] [--pack …]     (real mp4/wav pairs; see tools/eval/media.ts)
 *   npm run eval -- --merge A.results.json B.results.json … [--out eval/results] [--resamples 200]
 *       (shards of one evaluation run side by side, e.g. one per core with --first/--n, tabulated as one run;
 *        see tools/eval/results.ts)
 *
 * Metrics: AV-align (onsets vs optical-flow peaks, src/engine/metrics), AT/AV/VT-align_bind (the guiding
 * ImageBind's cosines, as the pipelines report them), and FD / KL / ISc (audio) and FVD / KVD / KL / ISc (video)
 * from the INDEPENDENT evaluator networks (eval/evaluators, trained separately: another architecture, seed and
 * seed split) against the real held-out clips. 95% CIs: normal for per-pair metrics, bootstrap for set metrics.
 */
import { startTfjsNode } from "../src/engine/runtime/tfjs-node.js";
import { packFromFolder } from "../src/engine/session-node.js";
import { Evaluators } from "./eval/evaluators.js";
import { evaluateMediaFolder } from "./eval/media.js";
import { mergeResults, readResults } from "./eval/results.js";
import { runEval, writeEval } from "./eval/run.js";
import { DEFAULT_EVAL_SETTINGS, type EvalTask, TASKS } from "./eval/tasks.js";
import { flags } from "./train/lib/env.js";

const f = flags();
const log = (s: string) => process.stderr.write(`${s}\n`);
/** --quick: the smallest real run (CI and the harness test); any explicit flag still wins. */
const quick = f.has("quick");

/** --merge a b …: the file arguments after the flag, up to the next flag. */
function mergeFiles(argv: readonly string[]): string[] {
  const at = argv.indexOf("--merge");
  const rest = argv.slice(at + 1);
  const end = rest.findIndex((a) => a.startsWith("--"));
  return end < 0 ? rest : rest.slice(0, end);
}

async function main(): Promise<number> {
  if (f.has("merge")) {
    const files = mergeFiles(process.argv.slice(2));
    if (files.length < 1) {
      log("usage: npm run eval -- --merge A.results.json B.results.json … [--out DIR]");
      return 2;
    }
    const merged = mergeResults(await Promise.all(files.map(readResults)), files);
    const run = await writeEval(merged, {
      outDir: f.str("out", "eval/results"),
      resamples: f.num("resamples", 200),
      log,
    });
    process.stdout.write(`${run.markdown}\n`);
    return 0;
  }
  const task = f.str("task", "") as EvalTask;
  if (!f.has("media") && !TASKS.includes(task)) {
    log(`usage: npm run eval -- --task ${TASKS.join("|")} [--n N] [--quick]   (or --media DIR)`);
    return 2;
  }
  const backend = await startTfjsNode("wasm");
  const pack = await packFromFolder(f.str("pack", "public/models/default"));
  const outDir = f.str("out", "eval/results");
  const evaluators = await Evaluators.open(f.str("evaluators", "eval/evaluators"));
  try {
    if (f.has("media")) {
      await evaluateMediaFolder(f.str("media", ""), f.str("reference", ""), pack, evaluators, outDir);
      return 0;
    }
    const n = f.num("n", quick ? 2 : 20);
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`--n needs a whole number ≥ 1 (got ${n})`);
    const settings = {
      steps: f.num("steps", quick ? 2 : DEFAULT_EVAL_SETTINGS.steps),
      cfgAudio: f.num("cfg-audio", DEFAULT_EVAL_SETTINGS.cfgAudio),
      cfgVideo: f.num("cfg-video", DEFAULT_EVAL_SETTINGS.cfgVideo),
      lambdaAudio: f.num("lambda-audio", DEFAULT_EVAL_SETTINGS.lambdaAudio),
      lambdaVideo: f.num("lambda-video", DEFAULT_EVAL_SETTINGS.lambdaVideo),
      warmup: f.num("warmup", DEFAULT_EVAL_SETTINGS.warmup),
    };
    const first = f.num("first", 0);
    log(
      `eval ${task}: ${n} held-out pairs from #${first}, ${settings.steps} steps · pack ${pack.id} · tfjs-${backend}`,
    );
    // Ctrl-C / SIGTERM: finish the pair in progress, then write the table of the pairs done; a second one quits
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (stop.signal.aborted) process.exit(130);
      log(`${sig}: stopping after the current pair; the table covers the pairs finished (again to quit now)`);
      stop.abort();
    };
    process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
    const run = await runEval({
      signal: stop.signal,
      task,
      pack,
      evaluators,
      n,
      first,
      seedBase: f.num("seed", 0),
      settings,
      resamples: f.num("resamples", quick ? 20 : 200),
      outDir,
      saveMedia: f.str("save-media", ""),
      threads: f.num("threads", 0),
      log,
    });
    process.stdout.write(`${run.markdown}\n`);
    return 0;
  } finally {
    evaluators.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
