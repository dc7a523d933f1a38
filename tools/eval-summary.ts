/**
 * Writes src/engine/world/demo-eval.json: for each task, the summary (src/engine/eval/summary.ts) of its largest
 * evaluation on the bundled pack in eval/results, which the studio shows beside the task's demo preset.
 *
 *   node tools/run.mjs tools/eval-summary.ts [--results eval/results] [--out src/engine/world/demo-eval.json]
 *   node tools/run.mjs tools/eval-summary.ts --check     (exit 1 when the file is not what the results say)
 *
 * Run it after `npm run eval` / `--merge` has written new tables; tools/eval-summary.test.ts fails until then.
 */
import { readFile, writeFile } from "node:fs/promises";
import { DEMO_EVAL_PATH, demoEvalFromResults } from "./eval/summary-file.js";
import { flags } from "./train/lib/env.js";

const f = flags();

async function main(): Promise<number> {
  const out = f.str("out", DEMO_EVAL_PATH);
  const summary = await demoEvalFromResults(f.str("results", "eval/results"));
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  if (f.has("check")) {
    // compared as data: the committed file is Biome-formatted
    const now = await readFile(out, "utf8").then(
      (t) => JSON.stringify(JSON.parse(t)),
      () => "",
    );
    if (now === JSON.stringify(summary)) return 0;
    process.stderr.write(
      `${out} is not what eval/results says: run node tools/run.mjs tools/eval-summary.ts\n`,
    );
    return 1;
  }
  await writeFile(out, text);
  process.stderr.write(`wrote ${out}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
