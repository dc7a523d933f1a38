/**
 * The raw eval results file and the merge of shards: a round trip loses nothing the table needs (float32
 * features bit for bit, a NaN AV-align), and shards of one evaluation, merged in any order, give exactly the table
 * of the whole (the same bootstrap CIs included); shards that are not parts of one evaluation are refused.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { buildTable, type EvaluatorOut, type PairResult } from "../../src/engine/eval/table.js";
import { SeededRng } from "../../src/engine/metrics/index.js";
import { type EvalResults, mergeResults, readResults, writeResults } from "./results.js";
import type { PairLine } from "./run.js";
import { DEFAULT_EVAL_SETTINGS } from "./tasks.js";

const dir = mkdtempSync(join(tmpdir(), "eval-results-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function evaluatorOut(rng: SeededRng, classes = 4, dims = 6): EvaluatorOut {
  const logits = Array.from({ length: classes }, () => (rng.next() - 0.5) * 4);
  const z = logits.reduce((s, l) => s + Math.exp(l), 0);
  return {
    features: Float32Array.from({ length: dims }, () => (rng.next() - 0.5) * 4),
    probs: Float32Array.from(logits, (l) => Math.exp(l) / z),
  };
}

/** Synthetic results of pairs #first…#first+n−1, as a V2A run would record them. */
function results(first: number, n: number, seed = 7): EvalResults {
  const rng = new SeededRng(seed + first);
  const idx = Array.from({ length: n }, (_, k) => first + k);
  const pair = (i: number): PairResult => ({
    index: i,
    seed: i,
    // every fifth pair has no onset and no flow peak
    avAlign: i % 5 === 3 ? Number.NaN : rng.next(),
    bind: { "AV-align_bind": rng.next() * 2 - 1, "AT-align_bind": rng.next() * 2 - 1 },
    audio: evaluatorOut(rng),
  });
  const line = (i: number): PairLine => ({
    index: i,
    seed: i,
    clipSeed: 1e9 + i,
    caption: `clip ${i}`,
    prompt: `prompt ${i}`,
    vanilla: {},
    guided: {},
    guidedVsVanillaRms: 0.01,
    topClass: { real: {}, vanilla: {}, guided: {} },
  });
  return {
    meta: {
      task: "v2a",
      seedBase: 0,
      settings: { ...DEFAULT_EVAL_SETTINGS, steps: 10 },
      pack: "default",
      packVersion: "0.2.0",
      seconds: n,
    },
    runs: { vanilla: idx.map(pair), guided: idx.map(pair) },
    reference: idx.map((i) => ({ index: i, audio: evaluatorOut(rng) })),
    pairs: idx.map(line),
  };
}

describe("eval results files", () => {
  it("round-trip every number the table reads, NaN AV-align included", async () => {
    const r = results(0, 10);
    const path = join(dir, "a.results.json");
    await writeResults(path, r);
    const back = await readResults(path);
    expect(back.runs.vanilla[3].avAlign).toBeNaN();
    for (const m of ["vanilla", "guided"] as const)
      back.runs[m].forEach((p, i) => {
        const q = r.runs[m][i];
        expect(p.audio?.features).toEqual(q.audio?.features);
        expect(p.audio?.probs).toEqual(q.audio?.probs);
        expect(p.bind).toEqual(q.bind);
      });
    expect(buildTable("v2a", back.runs, back.reference, { resamples: 50 })).toEqual(
      buildTable("v2a", r.runs, r.reference, { resamples: 50 }),
    );
    // features as decimal number arrays (the first shards' form) read the same
    const file = JSON.parse(readFileSync(path, "utf8")) as {
      reference: { audio: { features: unknown; probs: unknown } }[];
    };
    file.reference = r.reference.map((x) => ({
      ...x,
      audio: { features: Array.from(x.audio!.features), probs: Array.from(x.audio!.probs) },
    }));
    writeFileSync(path, JSON.stringify(file));
    expect((await readResults(path)).reference).toEqual(r.reference);
    // a base64 field cut mid-value is refused, naming where
    file.reference[2].audio.features = "AAAAAAA=";
    writeFileSync(path, JSON.stringify(file));
    await expect(readResults(path)).rejects.toThrow(/reference\[2\]\.audio\.features: 5 bytes/);
  });

  it("merge shards, in any order, into exactly the whole run's table", () => {
    // one evaluation of pairs #0…#11, recorded as three shards (made from the whole, so the pairs are the same)
    const whole = results(0, 12);
    const part = (lo: number, hi: number): EvalResults => ({
      meta: { ...whole.meta, seconds: hi - lo },
      runs: { vanilla: whole.runs.vanilla.slice(lo, hi), guided: whole.runs.guided.slice(lo, hi) },
      reference: whole.reference.slice(lo, hi),
      pairs: whole.pairs.slice(lo, hi),
    });
    const merged = mergeResults([part(8, 12), part(0, 5), part(5, 8)]);
    expect(merged.pairs.map((p) => p.index)).toEqual(whole.pairs.map((p) => p.index));
    expect(merged.meta.seconds).toBe(12);
    expect(buildTable("v2a", merged.runs, merged.reference, { resamples: 80 })).toEqual(
      buildTable("v2a", whole.runs, whole.reference, { resamples: 80 }),
    );
  });

  it("refuse shards that are not one evaluation: overlap, a gap, other settings or pack, another format", async () => {
    const a = results(0, 4);
    expect(() => mergeResults([a, results(3, 4)], ["a", "b"])).toThrow(/pair #3 is in both a and b/);
    expect(() => mergeResults([a, results(6, 2)])).toThrow(/pairs #4…#5 are missing/);
    const other = results(4, 4);
    other.meta.settings = { ...other.meta.settings, lambdaAudio: 0.2 };
    expect(() => mergeResults([a, other])).toThrow(/another evaluation/);
    const pack = results(4, 4);
    pack.meta.packVersion = "0.1.0";
    expect(() => mergeResults([a, pack])).toThrow(/another evaluation/);
    expect(() => mergeResults([])).toThrow(/no results files/);
    const bad = join(dir, "bad.results.json");
    writeFileSync(bad, JSON.stringify({ format: "something-else/1" }));
    await expect(readResults(bad)).rejects.toThrow(/format "something-else\/1"/);
    writeFileSync(bad, "{ truncated");
    await expect(readResults(bad)).rejects.toThrow(/not a readable eval results file/);
  });

  it("npm run eval -- --merge: the files after the flag, tabulated; a bad set refused with its reason", async () => {
    const whole = results(20, 6);
    const [a, b] = [join(dir, "cli-a.results.json"), join(dir, "cli-b.results.json")];
    const part = (lo: number, hi: number): EvalResults => ({
      meta: whole.meta,
      runs: { vanilla: whole.runs.vanilla.slice(lo, hi), guided: whole.runs.guided.slice(lo, hi) },
      reference: whole.reference.slice(lo, hi),
      pairs: whole.pairs.slice(lo, hi),
    });
    await writeResults(b, part(2, 6));
    await writeResults(a, part(0, 2));
    const out = join(dir, "merged");
    const cli = ["tools/run.mjs", "tools/eval.ts", "--merge", b, a, "--out", out, "--resamples", "30"];
    await promisify(execFile)(process.execPath, cli);
    const j = JSON.parse(readFileSync(join(out, "v2a-n6-from20.json"), "utf8")) as {
      meta: { n: number; first: number };
    };
    expect(j.meta).toMatchObject({ n: 6, first: 20 });
    expect(
      JSON.parse(JSON.stringify(buildTable("v2a", whole.runs, whole.reference, { resamples: 30 }))),
    ).toEqual((j as unknown as { table: unknown }).table);
    await writeResults(b, part(1, 6)); // now overlapping a on pair #21
    const failed = await promisify(execFile)(process.execPath, cli).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/pair #21 is in both/);
  }, 60_000);
});
