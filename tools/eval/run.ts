/**
 * One evaluation run (tools/eval.ts is its command line; tools/eval.test.ts runs it in --quick form): vanilla and
 * guided on N held-out world pairs with the same seeds, each pair scored (AV-align, ImageBind cosines, the
 * independent evaluators), then the Table-1-style table written as markdown, JSON and per-pair JSON lines.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildTable,
  type EvalTable,
  type PairResult,
  type ReferenceResult,
  tableMarkdown,
} from "../../src/engine/eval/table.js";
import { NativeFfmpegSession } from "../../src/engine/media/native.js";
import type { PackSource } from "../../src/engine/packs/loader.js";
import { worldClip } from "../../src/engine/world/clip.js";
import { splitSeed } from "../../src/engine/world/spec.js";
import { mp4Bytes, wavBytes } from "../lib/media-out.js";
import type { Evaluators } from "./evaluators.js";
import { evaluate, pairResult, topClasses } from "./pair.js";
import { type EvalResults, writeResults } from "./results.js";
import { type EvalSettings, type EvalTask, type Media, openTask } from "./tasks.js";

export interface EvalOptions {
  task: EvalTask;
  pack: PackSource;
  evaluators: Evaluators;
  /** Held-out pairs #first … #first+n−1 (SPLITS.heldOut), diffusion seeds seedBase + index. */
  n: number;
  first: number;
  seedBase: number;
  settings: EvalSettings;
  /** Bootstrap resamples of the set metrics. */
  resamples: number;
  outDir: string;
  /** Folder for every pair's vanilla and guided media (WAV + MP4), or "" for none. */
  saveMedia: string;
  /** ONNX Runtime intra-op threads per session (0: its default, one per core); results do not depend on it. */
  threads?: number;
  /**
   * Aborted: no new pair starts, and the table is written for the pairs finished so far (named by that count;
   * `meta.stoppedEarly` says how many were asked for). Nothing finished is lost.
   */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** One pair's summary line (eval/results/<task>.pairs.jsonl). */
export interface PairLine {
  index: number;
  seed: number;
  clipSeed: number;
  caption: string;
  prompt: string;
  vanilla: Record<string, number>;
  guided: Record<string, number>;
  /** RMS of (guided − vanilla) over the generated side(s): 0 would mean the guidance changed nothing. */
  guidedVsVanillaRms: number;
  /** The independent evaluators' top class of the generated side(s), and of the real clip's same side(s). */
  topClass: Record<"real" | "vanilla" | "guided", { audio?: string; video?: string }>;
}

export interface EvalRun {
  table: EvalTable;
  markdown: string;
  pairs: PairLine[];
  meta: Record<string, unknown>;
  /** Path stem of the written files (…{.md,.json,.pairs.jsonl}). */
  stem: string;
}

/** RMS difference of the generated side(s) of two outputs (audio in [−1, 1], video in [0, 1]). */
function rmsDiff(a: Media, b: Media, gen: { audio: boolean; video: boolean }): number {
  let s = 0;
  let n = 0;
  if (gen.audio) {
    const x = a.audio.samples;
    const y = b.audio.samples;
    const m = Math.min(x.length, y.length);
    for (let i = 0; i < m; i++) s += (x[i] - y[i]) ** 2;
    n += m;
  }
  if (gen.video) {
    const x = a.video.data;
    const y = b.video.data;
    const m = Math.min(x.length, y.length);
    for (let i = 0; i < m; i++) s += ((x[i] - y[i]) / 255) ** 2;
    n += m;
  }
  return n ? Math.sqrt(s / n) : 0;
}

export async function runEval(o: EvalOptions): Promise<EvalRun> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const t0 = performance.now();
  const runner = await openTask(o.task, o.pack, o.settings, o.threads ?? 0);
  const runs: Record<"vanilla" | "guided", PairResult[]> = { vanilla: [], guided: [] };
  const reference: ReferenceResult[] = [];
  const pairs: PairLine[] = [];
  const ff = o.saveMedia ? new NativeFfmpegSession() : null;
  if (o.saveMedia) await mkdir(o.saveMedia, { recursive: true });
  try {
    for (let i = o.first; i < o.first + o.n && !o.signal?.aborted; i++) {
      const clip = worldClip(splitSeed("heldOut", i));
      const seed = o.seedBase + i;
      const tp = performance.now();
      const out = await runner.run(clip, seed);
      const real: Media = {
        audio: { samples: clip.audio, sampleRate: clip.sampleRate },
        video: { ...clip.video, data: clip.video.data as Uint8Array },
      };
      reference.push({ index: i, ...(await evaluate(o.evaluators, real, out.guided.generated)) });
      for (const m of ["vanilla", "guided"] as const)
        runs[m].push(await pairResult(i, seed, out[m], o.evaluators));
      const v = runs.vanilla[runs.vanilla.length - 1];
      const g = runs.guided[runs.guided.length - 1];
      const line: PairLine = {
        index: i,
        seed,
        clipSeed: clip.seed,
        caption: clip.caption,
        prompt: out.guided.prompt,
        vanilla: { avAlign: v.avAlign ?? Number.NaN, ...v.bind },
        guided: { avAlign: g.avAlign ?? Number.NaN, ...g.bind },
        guidedVsVanillaRms: rmsDiff(out.guided.media, out.vanilla.media, out.guided.generated),
        topClass: {
          real: topClasses(reference[reference.length - 1]),
          vanilla: topClasses(v),
          guided: topClasses(g),
        },
      };
      pairs.push(line);
      const binds = Object.entries(g.bind)
        .map(([k, x]) => `${k} ${v.bind[k as keyof typeof v.bind]?.toFixed(3)} → ${x.toFixed(3)}`)
        .join(", ");
      log(
        `  #${i} ${clip.caption}: AV-align ${v.avAlign?.toFixed(2)} → ${g.avAlign?.toFixed(2)}; ${binds} (${((performance.now() - tp) / 1000).toFixed(1)} s)`,
      );
      if (ff)
        for (const m of ["vanilla", "guided"] as const) {
          const md = out[m].media;
          const stem = join(o.saveMedia, `${o.task}-${i}-${m}`);
          await writeFile(`${stem}.wav`, wavBytes(md.audio.samples, md.audio.sampleRate));
          await writeFile(`${stem}.mp4`, await mp4Bytes(ff, md.video, md.audio));
        }
    }
  } finally {
    await ff?.close();
    await runner.dispose();
  }
  if (!pairs.length) throw new Error(`${o.task}: no pair finished (${o.n} asked for); nothing to tabulate`);
  const results: EvalResults = {
    meta: {
      task: o.task,
      seedBase: o.seedBase,
      settings: o.settings,
      pack: o.pack.id,
      packVersion: o.pack.manifest.version,
      seconds: (performance.now() - t0) / 1000,
    },
    runs,
    reference,
    pairs,
  };
  return writeEval(results, { outDir: o.outDir, resamples: o.resamples, asked: o.n, log });
}

/**
 * The table of a run's (or of merged shards') results, written as <stem>.md, .json, .pairs.jsonl and the raw
 * .results.json; the stem is <task> for pairs #0…#99, else <task>-n<N>-from<first>.
 */
export async function writeEval(
  r: EvalResults,
  o: { outDir: string; resamples: number; asked?: number; log?: (line: string) => void },
): Promise<EvalRun> {
  const n = r.pairs.length;
  const first = r.pairs[0].index;
  const table = buildTable(r.meta.task, r.runs, r.reference, { resamples: o.resamples });
  const markdown = tableMarkdown(table, `${r.meta.task.toUpperCase()} on the procedural world`);
  const asked = o.asked ?? n;
  const meta = {
    task: r.meta.task,
    n,
    ...(n < asked ? { stoppedEarly: { asked, finished: n } } : {}),
    first,
    seedBase: r.meta.seedBase,
    settings: r.meta.settings,
    pack: r.meta.pack,
    packVersion: r.meta.packVersion,
    seconds: r.meta.seconds,
  };
  await mkdir(o.outDir, { recursive: true });
  const stem = join(o.outDir, n === 100 && first === 0 ? r.meta.task : `${r.meta.task}-n${n}-from${first}`);
  await writeFile(`${stem}.md`, `${markdown}\n${"```json"}\n${JSON.stringify(meta, null, 2)}\n${"```"}\n`);
  await writeFile(`${stem}.json`, `${JSON.stringify({ meta, table, pairs: r.pairs }, null, 2)}\n`);
  await writeFile(`${stem}.pairs.jsonl`, `${r.pairs.map((p) => JSON.stringify(p)).join("\n")}\n`);
  await writeResults(`${stem}.results.json`, r);
  o.log?.(`wrote ${stem}.{md,json,pairs.jsonl,results.json} (${r.meta.seconds.toFixed(0)} s of evaluation)`);
  return { table, markdown, pairs: r.pairs, meta, stem };
}
