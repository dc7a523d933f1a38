/**
 * The evaluation harness end to end in its --quick form (2 held-out pairs × 2 DDIM steps, V2A, on the bundled
 * pack and the committed evaluator networks): the Table-1 columns and rows, finite metrics in their ranges,
 * guided output that really differs from vanilla, the files it writes; and AV-align itself ordering real world
 * pairs above the same videos with another clip's sound.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildTable } from "../src/engine/eval/table.js";
import { packFromFolder } from "../src/engine/session-node.js";
import { worldClip } from "../src/engine/world/clip.js";
import { NUM_CLASSES, splitSeed } from "../src/engine/world/spec.js";
import { withTfjsBackend } from "../test/support/tfjs-backend.js";
import { Evaluators } from "./eval/evaluators.js";
import { avAlignOf } from "./eval/pair.js";
import { readResults } from "./eval/results.js";
import { runEval } from "./eval/run.js";
import { DEFAULT_EVAL_SETTINGS } from "./eval/tasks.js";

const out = mkdtempSync(join(tmpdir(), "eval-quick-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run eval (--quick)", () => {
  it("tabulates vanilla vs guided V2A with finite, in-range metrics and a real guidance effect", async () => {
    await withTfjsBackend("wasm", async () => {
      const evaluators = await Evaluators.open("eval/evaluators");
      try {
        const run = await runEval({
          task: "v2a",
          pack: await packFromFolder("public/models/default"),
          evaluators,
          n: 2,
          first: 0,
          seedBase: 0,
          settings: { ...DEFAULT_EVAL_SETTINGS, steps: 2 },
          resamples: 20,
          outDir: out,
          saveMedia: "",
          log: () => {},
        });
        const t = run.table;
        expect(t.rows.map((r) => r.method)).toEqual(["vanilla", "guided"]);
        expect(t.columns.map((c) => c.key)).toEqual([
          "AV-align",
          "AV-align_bind",
          "AT-align_bind",
          "VT-align_bind",
          "FD",
          "KL-audio",
          "ISc-audio",
          "Agree-audio",
        ]);
        const range: Record<string, [number, number]> = {
          // the released formula (SPEC §6.3) counts audio onsets, not matched pairs: several onsets near one flow
          // peak give hits / (|A| + |V| − hits) > 1 (at most |A| / |V|), as the paper's script would report
          "AV-align": [0, Number.POSITIVE_INFINITY],
          "AV-align_bind": [-1, 1],
          "AT-align_bind": [-1, 1],
          "VT-align_bind": [-1, 1],
          FD: [0, Number.POSITIVE_INFINITY],
          "KL-audio": [0, Number.POSITIVE_INFINITY],
          "ISc-audio": [1 - 1e-9, NUM_CLASSES],
          "Agree-audio": [0, 1],
        };
        for (const r of t.rows)
          for (const c of t.columns) {
            const cell = r.cells[c.key];
            expect(Number.isFinite(cell.mean), `${r.method} ${c.key}`).toBe(true);
            expect(cell.mean).toBeGreaterThanOrEqual(range[c.key][0]);
            expect(cell.mean).toBeLessThanOrEqual(range[c.key][1]);
            expect(cell.ci95[0]).toBeLessThanOrEqual(cell.mean + 1e-9);
            expect(cell.ci95[1]).toBeGreaterThanOrEqual(cell.mean - 1e-9);
            expect(cell.n).toBe(2);
          }
        expect(t.delta && Object.keys(t.delta)).toEqual(t.columns.map((c) => c.key));
        // same seeds, same initial latent: only the guidance separates the two runs
        expect(run.pairs).toHaveLength(2);
        for (const p of run.pairs) {
          expect(p.guidedVsVanillaRms).toBeGreaterThan(1e-4);
          expect(p.guided["AV-align_bind"]).not.toBe(p.vanilla["AV-align_bind"]);
          expect(p.prompt).toBe(worldClip(p.clipSeed).keyFrameCaption);
          // the independent audio evaluator names an object of the real clip (97% top-1 on held-out clips)
          expect(p.caption).toContain(p.topClass.real.audio);
          for (const m of ["vanilla", "guided"] as const) expect(p.topClass[m].audio).toMatch(/^\w+ \w+$/);
        }
        expect(run.markdown).toContain("| Ours-vanilla |");
        expect(run.markdown).toContain("| Ours (guided) |");
        const json = JSON.parse(readFileSync(`${run.stem}.json`, "utf8")) as { meta: { task: string } };
        expect(json.meta.task).toBe("v2a");
        expect(readFileSync(`${run.stem}.pairs.jsonl`, "utf8").trim().split("\n")).toHaveLength(2);
        expect(readFileSync(`${run.stem}.md`, "utf8")).toContain("AV-align ↑");
        // the raw results file holds all the table is made of (what `--merge` of shards tabulates)
        const raw = await readResults(`${run.stem}.results.json`);
        expect(buildTable("v2a", raw.runs, raw.reference, { resamples: 20 })).toEqual(t);
      } finally {
        evaluators.dispose();
      }
    });
  });

  it("stopped early (Ctrl-C), writes the table of the pairs it finished and says so", async () => {
    await withTfjsBackend("wasm", async () => {
      const evaluators = await Evaluators.open("eval/evaluators");
      const stop = new AbortController();
      let finished = 0;
      try {
        const run = await runEval({
          task: "v2a",
          pack: await packFromFolder("public/models/default"),
          evaluators,
          n: 5,
          first: 10,
          seedBase: 0,
          settings: { ...DEFAULT_EVAL_SETTINGS, steps: 2 },
          resamples: 20,
          outDir: out,
          saveMedia: "",
          signal: stop.signal,
          // a pair's line is logged once it is scored: stop after the second
          log: (line) => {
            if (/^ {2}#\d+ /.test(line) && ++finished === 2) stop.abort();
          },
        });
        expect(run.pairs.map((p) => p.index)).toEqual([10, 11]);
        expect(run.table.n).toBe(2);
        expect(run.meta).toMatchObject({ n: 2, stoppedEarly: { asked: 5, finished: 2 } });
        expect(run.stem.endsWith("v2a-n2-from10")).toBe(true);
        expect(readFileSync(`${run.stem}.pairs.jsonl`, "utf8").trim().split("\n")).toHaveLength(2);
      } finally {
        evaluators.dispose();
      }
    });
  });

  it("scores real world pairs above the same videos with another clip's sound (AV-align)", () => {
    let real = 0;
    let swapped = 0;
    const N = 6;
    for (let i = 0; i < N; i++) {
      const c = worldClip(splitSeed("heldOut", i));
      const video = { ...c.video, data: c.video.data as Uint8Array };
      const other = worldClip(splitSeed("heldOut", i + 50)).audio;
      real += avAlignOf({ audio: { samples: c.audio, sampleRate: c.sampleRate }, video }) / N;
      swapped += avAlignOf({ audio: { samples: other, sampleRate: c.sampleRate }, video }) / N;
    }
    expect(real).toBeGreaterThan(swapped + 0.15);
  });
});
