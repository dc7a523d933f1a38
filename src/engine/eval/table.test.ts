import { describe, expect, it } from "vitest";
import { SeededRng } from "../metrics/stats.js";
import { NUM_CLASSES } from "../world/spec.js";
import { buildTable, type PairResult, type ReferenceResult, separated, tableMarkdown } from "./table.js";

function out(rng: SeededRng, shift: number): { features: Float32Array; probs: Float32Array } {
  const features = Float32Array.from({ length: 8 }, () => rng.next() + shift);
  const logits = Array.from({ length: NUM_CLASSES }, () => 3 * rng.next());
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return { features, probs: Float32Array.from(e, (v) => v / s) };
}

function pairs(n: number, av: number, bind: number, shift: number, seed: number): PairResult[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    seed: i,
    avAlign: i === 0 ? Number.NaN : Math.min(1, Math.max(0, av + 0.1 * (rng.next() - 0.5))),
    bind: { "AV-align_bind": bind + 0.02 * (rng.next() - 0.5), "AT-align_bind": 0.1 },
    audio: out(rng, shift),
  }));
}

describe("evaluation table", () => {
  const n = 30;
  const rng = new SeededRng(7);
  const reference: ReferenceResult[] = Array.from({ length: n }, (_, i) => ({
    index: i,
    audio: out(rng, 0),
  }));
  const table = buildTable(
    "v2a",
    { vanilla: pairs(n, 0.3, 0.1, 0.5, 1), guided: pairs(n, 0.6, 0.3, 0.1, 2) },
    reference,
    { resamples: 50 },
  );

  it("has a column per metric the inputs carry, two rows and a paired difference", () => {
    expect(table.columns.map((c) => c.key)).toEqual([
      "AV-align",
      "AV-align_bind",
      "AT-align_bind",
      "FD",
      "KL-audio",
      "ISc-audio",
      "Agree-audio",
    ]);
    expect(table.rows.map((r) => r.method)).toEqual(["vanilla", "guided"]);
    for (const r of table.rows)
      for (const c of table.columns) {
        const cell = r.cells[c.key];
        expect(Number.isFinite(cell.mean)).toBe(true);
        expect(cell.ci95[0]).toBeLessThanOrEqual(cell.mean + 1e-12);
        expect(cell.ci95[1]).toBeGreaterThanOrEqual(cell.mean - 1e-12);
        expect(cell.n).toBe(n);
      }
    expect(table.delta?.["AV-align"].mean).toBeGreaterThan(0.2);
  });

  it("counts a degenerate AV-align pair as 0 and flags separated improvements", () => {
    expect(table.rows[0].cells["AV-align"].mean).toBeLessThan(0.3);
    expect(separated(table, "AV-align")).toBe(true);
    expect(separated(table, "AT-align_bind")).toBe(false);
    // the guided features are closer to the reference distribution
    expect(table.rows[1].cells.FD.mean).toBeLessThan(table.rows[0].cells.FD.mean);
    const md = tableMarkdown(table);
    expect(md).toContain("| Ours-vanilla |");
    expect(md).toContain("| Ours (guided) |");
    expect(md).toContain("Δ guided − vanilla");
  });

  it("Agree counts the pairs whose generated media the evaluator puts in the real clip's top class", () => {
    // guided: the real clips' own outputs (all agree); vanilla: the same probabilities rotated by one class, so
    // every top class moves (none agree) unless the pair index says to keep it
    const rotate = (p: Float32Array) => Float32Array.from(p, (_, i) => p[(i + 1) % p.length]);
    const keep = new Set([3, 7, 11]);
    const as = (f: (r: ReferenceResult, i: number) => Float32Array): PairResult[] =>
      reference.map((r, i) => ({
        index: i,
        seed: i,
        bind: {},
        audio: { features: r.audio!.features, probs: f(r, i) },
      }));
    const t = buildTable(
      "v2a",
      {
        vanilla: as((r, i) => (keep.has(i) ? r.audio!.probs : rotate(r.audio!.probs))),
        guided: as((r) => r.audio!.probs),
      },
      reference,
      { resamples: 20 },
    );
    expect(t.rows[0].cells["Agree-audio"].mean).toBeCloseTo(keep.size / n, 12);
    expect(t.rows[1].cells["Agree-audio"].mean).toBe(1);
    expect(t.delta?.["Agree-audio"].mean).toBeCloseTo(1 - keep.size / n, 12);
  });

  it("reports set metrics of a single pair as n/a instead of failing", () => {
    const one = buildTable(
      "a2v",
      { vanilla: pairs(1, 0.3, 0.1, 0, 3), guided: pairs(1, 0.3, 0.1, 0, 4) },
      reference.slice(0, 1),
    );
    expect(Number.isNaN(one.rows[0].cells.FD.mean)).toBe(true);
    expect(tableMarkdown(one)).toContain("n/a");
  });
});
