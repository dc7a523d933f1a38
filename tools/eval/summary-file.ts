/**
 * The demo-eval summary file from the committed evaluation results: per task, the top-level
 * eval/results/<task>*.json on the bundled ("default") pack with the most pairs (a run stopped early is skipped).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { summarizeTable, type TaskEvalSummary } from "../../src/engine/eval/summary.js";
import type { EvalTable } from "../../src/engine/eval/table.js";
import { TASKS } from "./tasks.js";

export const DEMO_EVAL_PATH = "src/engine/world/demo-eval.json";

interface ResultJson {
  meta: {
    task: string;
    n: number;
    first: number;
    settings: { steps: number };
    pack: string;
    packVersion: string;
    stoppedEarly?: unknown;
  };
  table: EvalTable;
}

export async function demoEvalFromResults(
  dir: string,
): Promise<{ generatedBy: string; tasks: Record<string, TaskEvalSummary> }> {
  const files = (await readdir(dir))
    .filter((f) => f.endsWith(".json") && !f.endsWith(".results.json"))
    .sort();
  const best = new Map<string, { file: string; r: ResultJson }>();
  for (const file of files) {
    const r = JSON.parse(await readFile(join(dir, file), "utf8")) as ResultJson;
    if (r.meta.pack !== "default" || r.meta.stoppedEarly) continue;
    const have = best.get(r.meta.task);
    if (!have || r.meta.n > have.r.meta.n || (r.meta.n === have.r.meta.n && r.meta.first < have.r.meta.first))
      best.set(r.meta.task, { file, r });
  }
  const tasks: Record<string, TaskEvalSummary> = {};
  for (const task of TASKS) {
    const b = best.get(task);
    if (b) tasks[task] = summarizeTable(b.r.table, b.r.meta, join(dir, b.file));
  }
  return { generatedBy: "tools/eval-summary.ts", tasks };
}
