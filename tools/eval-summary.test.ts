/**
 * The studio's demo-eval numbers (src/engine/world/demo-eval.json) are the committed evaluation results' own: the
 * file equals the summary made afresh from eval/results, each task's summary is its largest bundled-pack run, and
 * every number in it is the table's cell. The formatting and the verdict the studio prints follow the CI.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatDelta, type MetricSummary, verdict } from "../src/engine/eval/summary.js";
import type { EvalTable } from "../src/engine/eval/table.js";
import { DEMO_EVAL_PATH, demoEvalFromResults } from "./eval/summary-file.js";
import { TASKS } from "./eval/tasks.js";

const shipped = JSON.parse(readFileSync(DEMO_EVAL_PATH, "utf8")) as Awaited<
  ReturnType<typeof demoEvalFromResults>
>;

describe("demo-eval summary", () => {
  it("is what eval/results says (re-run tools/eval-summary.ts after new tables)", async () => {
    expect(shipped).toEqual(await demoEvalFromResults("eval/results"));
  });

  it("summarises, per task, the bundled pack's largest run, its cells unchanged", () => {
    expect(Object.keys(shipped.tasks).sort()).toEqual([...TASKS].sort());
    const runs = readdirSync("eval/results")
      .filter((f) => f.endsWith(".json") && !f.endsWith(".results.json"))
      .map(
        (f) => JSON.parse(readFileSync(`eval/results/${f}`, "utf8")) as { meta: { task: string; n: number } },
      );
    for (const [task, s] of Object.entries(shipped.tasks)) {
      const largest = Math.max(...runs.filter((r) => r.meta.task === task).map((r) => r.meta.n));
      expect(s.n, task).toBe(largest);
      expect(s.n).toBeGreaterThanOrEqual(100);
      const { table } = JSON.parse(readFileSync(s.source, "utf8")) as { table: EvalTable };
      expect(s.metrics[0].key).toBe("AV-align");
      for (const m of s.metrics) {
        const [v, g] = table.rows.map((r) => r.cells[m.key]);
        expect(m.vanilla).toEqual([v.mean, ...v.ci95]);
        expect(m.guided).toEqual([g.mean, ...g.ci95]);
        expect(m.delta).toEqual([table.delta![m.key].mean, ...table.delta![m.key].ci95]);
      }
    }
  });

  it("formats a paired difference and judges it by its CI and the metric's direction", () => {
    const m = (delta: [number, number, number], better: "higher" | "lower"): MetricSummary => ({
      key: "x",
      label: "x",
      better,
      source: "",
      vanilla: [0, 0, 0],
      guided: [0, 0, 0],
      delta,
    });
    expect(formatDelta([0.0318, 0.0098, 0.0538])).toBe("+0.032 [0.010, 0.054]");
    expect(formatDelta([-4.222, -7.19, -1.45])).toBe("−4.222 [−7.190, −1.450]");
    expect(formatDelta([17.1, 9.26, 25.98])).toBe("+17.1 [9.260, 26.0]");
    expect(verdict(m([0.03, 0.01, 0.05], "higher"))).toBe("better");
    expect(verdict(m([0.03, 0.01, 0.05], "lower"))).toBe("worse");
    expect(verdict(m([-4.2, -7.2, -1.5], "lower"))).toBe("better");
    expect(verdict(m([0.016, -0.006, 0.038], "higher"))).toBe("unclear");
  });
});
