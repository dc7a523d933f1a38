/**
 * What the evaluation measured, in the few numbers a studio user reads next to a demo preset: per task, the
 * alignment metric and the independent evaluators' main columns of the Table-1 run (eval/results, docs/eval.md),
 * vanilla → guided with the paired difference and its 95% CI. `tools/eval-summary.ts` writes them, from the
 * committed result files, to src/engine/world/demo-eval.json (which its test keeps equal to those files).
 */
import type { EvalTable, MetricCell } from "./table.js";

/** Columns a summary keeps, in this order, where the task's table has them. */
export const SUMMARY_COLUMNS = [
  "AV-align",
  "FD",
  "KL-audio",
  "ISc-audio",
  "Agree-audio",
  "FVD",
  "KVD",
  "KL-video",
  "ISc-video",
  "Agree-video",
  "AV-align_bind",
] as const;

/** [mean, lower, upper] of a 95% CI. */
export type Interval = [number, number, number];

export interface MetricSummary {
  key: string;
  label: string;
  better: "higher" | "lower";
  /** Where the number comes from (the table's source line). */
  source: string;
  vanilla: Interval;
  guided: Interval;
  /** Paired guided − vanilla. */
  delta: Interval;
}

export interface TaskEvalSummary {
  task: string;
  /** Held-out pairs #first … #first+n−1. */
  n: number;
  first: number;
  steps: number;
  pack: string;
  packVersion: string;
  /** The result file it was read from, relative to the repository. */
  source: string;
  metrics: MetricSummary[];
}

const interval = (c: MetricCell): Interval => [c.mean, c.ci95[0], c.ci95[1]];

export function summarizeTable(
  table: EvalTable,
  meta: { n: number; first: number; settings: { steps: number }; pack: string; packVersion: string },
  source: string,
): TaskEvalSummary {
  const [vanilla, guided] = table.rows;
  if (!vanilla || !guided || !table.delta)
    throw new Error(`${source}: a summary needs the vanilla and guided rows and their difference`);
  const metrics = SUMMARY_COLUMNS.flatMap((key) => {
    const col = table.columns.find((c) => c.key === key);
    if (!col) return [];
    return [
      {
        key,
        label: col.label.replace(/ [↑↓]$/, ""),
        better: col.better,
        source: col.source,
        vanilla: interval(vanilla.cells[key]),
        guided: interval(guided.cells[key]),
        delta: interval(table.delta![key]),
      },
    ];
  });
  return {
    task: table.task,
    n: meta.n,
    first: meta.first,
    steps: meta.settings.steps,
    pack: meta.pack,
    packVersion: meta.packVersion,
    source,
    metrics,
  };
}

const digits = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3));
/** 3 decimals below 10, 1 below 100, none above; a true minus sign. */
const num = (x: number) => `${x < 0 ? "−" : ""}${digits(Math.abs(x))}`;
const signed = (x: number) => `${x > 0 ? "+" : x < 0 ? "−" : "±"}${digits(Math.abs(x))}`;

/** "+0.032 [0.010, 0.054]" */
export function formatDelta(d: Interval): string {
  return `${signed(d[0])} [${num(d[1])}, ${num(d[2])}]`;
}

/** Whether guidance helped by the paired difference (its whole CI on the better side of 0), hurt, or neither. */
export function verdict(m: MetricSummary): "better" | "worse" | "unclear" {
  const [, lo, hi] = m.delta;
  const up = lo > 0;
  const down = hi < 0;
  if (!up && !down) return "unclear";
  return up === (m.better === "higher") ? "better" : "worse";
}

/** A mean or bound as the studio prints it. */
export const formatValue = num;
