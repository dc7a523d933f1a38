/**
 * An evaluation's raw per-pair results (eval/results/<stem>.results.json): every pair's metrics AND the
 * independent evaluators' features and class probabilities, for vanilla, guided and the real clip. The table is a
 * pure function of them, so shards of one evaluation run side by side (one process per core, `--first` / `--n`
 * ranges) can be merged into the table a single run would have printed (`npm run eval -- --merge a b …`).
 *
 * File layout (JSON): { format: "seeing-hearing-eval-results/1", meta, runs: { vanilla, guided }: PairResult[],
 * reference: ReferenceResult[], pairs: PairLine[] }; Float32Array features/probs are written as base64 of their
 * little-endian bytes (exact, and a quarter of the size of decimal arrays, which are read too) and a NaN AV-align
 * (no peak on either side) as null.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { EvaluatorOut, Method, PairResult, ReferenceResult } from "../../src/engine/eval/table.js";
import type { PairLine } from "./run.js";
import type { EvalSettings, EvalTask } from "./tasks.js";

export const RESULTS_FORMAT = "seeing-hearing-eval-results/1";

/** What makes two shards parts of the same evaluation (a merge refuses any difference). */
export interface ResultsMeta {
  task: EvalTask;
  seedBase: number;
  settings: EvalSettings;
  pack: string;
  packVersion: string;
  /** Seconds the run took (summed over merged shards). */
  seconds: number;
}

export interface EvalResults {
  meta: ResultsMeta;
  runs: Record<Method, PairResult[]>;
  reference: ReferenceResult[];
  pairs: PairLine[];
}

type Json = unknown;

/** float32 values as base64 of their little-endian bytes. */
function f32Base64(x: Float32Array): string {
  const le = new DataView(new ArrayBuffer(x.length * 4));
  for (let i = 0; i < x.length; i++) le.setFloat32(i * 4, x[i], true);
  return Buffer.from(le.buffer).toString("base64");
}

function f32Of(j: unknown, where: string): Float32Array {
  if (Array.isArray(j)) return Float32Array.from(j as number[]);
  if (typeof j !== "string") throw new Error(`${where}: expected base64 float32 data or a number array`);
  const b = Buffer.from(j, "base64");
  if (b.length % 4) throw new Error(`${where}: ${b.length} bytes is not a whole number of float32 values`);
  const le = new DataView(b.buffer, b.byteOffset, b.length);
  return Float32Array.from({ length: b.length / 4 }, (_, i) => le.getFloat32(i * 4, true));
}

function evaluatorJson(e: EvaluatorOut | undefined): Json {
  return e && { features: f32Base64(e.features), probs: f32Base64(e.probs) };
}

function evaluatorOf(j: unknown, where: string): EvaluatorOut | undefined {
  if (j === undefined || j === null) return undefined;
  const o = j as { features?: unknown; probs?: unknown };
  if (o.features === undefined || o.probs === undefined)
    throw new Error(`${where}: an evaluator output needs "features" and "probs"`);
  return { features: f32Of(o.features, `${where}.features`), probs: f32Of(o.probs, `${where}.probs`) };
}

export async function writeResults(path: string, r: EvalResults): Promise<void> {
  const pair = (p: PairResult) => ({
    ...p,
    avAlign: p.avAlign !== undefined && Number.isNaN(p.avAlign) ? null : p.avAlign,
    audio: evaluatorJson(p.audio),
    video: evaluatorJson(p.video),
  });
  const body = {
    format: RESULTS_FORMAT,
    meta: r.meta,
    runs: Object.fromEntries(Object.entries(r.runs).map(([m, rs]) => [m, rs.map(pair)])),
    reference: r.reference.map((x) => ({
      index: x.index,
      audio: evaluatorJson(x.audio),
      video: evaluatorJson(x.video),
    })),
    pairs: r.pairs,
  };
  await writeFile(path, `${JSON.stringify(body)}\n`);
}

export async function readResults(path: string): Promise<EvalResults> {
  let j: {
    format?: unknown;
    meta?: ResultsMeta;
    runs?: Record<string, unknown[]>;
    reference?: unknown[];
    pairs?: PairLine[];
  };
  try {
    j = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: not a readable eval results file (${(e as Error).message})`);
  }
  if (j.format !== RESULTS_FORMAT)
    throw new Error(`${path}: format ${JSON.stringify(j.format)}, expected ${RESULTS_FORMAT}`);
  if (!j.meta || !j.runs?.vanilla || !j.runs.guided || !Array.isArray(j.reference) || !Array.isArray(j.pairs))
    throw new Error(`${path}: needs meta, runs.vanilla, runs.guided, reference and pairs`);
  const n = j.reference.length;
  if (j.runs.vanilla.length !== n || j.runs.guided.length !== n || j.pairs.length !== n)
    throw new Error(`${path}: runs, reference and pairs disagree on the number of pairs`);
  const pair = (x: unknown, i: number, m: string): PairResult => {
    const o = x as PairResult & { avAlign?: number | null; audio?: unknown; video?: unknown };
    return {
      index: o.index,
      seed: o.seed,
      ...(o.avAlign === undefined ? {} : { avAlign: o.avAlign === null ? Number.NaN : o.avAlign }),
      bind: o.bind,
      audio: evaluatorOf(o.audio, `${path} ${m}[${i}].audio`),
      video: evaluatorOf(o.video, `${path} ${m}[${i}].video`),
    };
  };
  return {
    meta: j.meta,
    runs: Object.fromEntries(
      Object.entries(j.runs).map(([m, rs]) => [m, rs.map((x, i) => pair(x, i, m))]),
    ) as Record<Method, PairResult[]>,
    reference: j.reference.map((x, i) => {
      const o = x as { index: number; audio?: unknown; video?: unknown };
      return {
        index: o.index,
        audio: evaluatorOf(o.audio, `${path} reference[${i}].audio`),
        video: evaluatorOf(o.video, `${path} reference[${i}].video`),
      };
    }),
    pairs: j.pairs,
  };
}

/**
 * Shards of one evaluation as one: same task, seeds, settings and pack, disjoint pair indices that together form
 * one unbroken range (the table is named by it). Pairs come out in index order, as one run would list them.
 */
export function mergeResults(shards: readonly EvalResults[], names: readonly string[] = []): EvalResults {
  if (!shards.length) throw new Error("merge: no results files given");
  const name = (i: number) => names[i] ?? `shard ${i + 1}`;
  const same = (m: ResultsMeta) => JSON.stringify([m.task, m.seedBase, m.settings, m.pack, m.packVersion]);
  const key0 = same(shards[0].meta);
  shards.forEach((s, i) => {
    if (same(s.meta) !== key0)
      throw new Error(
        `merge: ${name(i)} is another evaluation (task, seed base, settings or pack differ from ${name(0)}): ${same(s.meta)} vs ${key0}`,
      );
  });
  const order = shards.flatMap((s, shard) => s.pairs.map((p, at) => ({ shard, at, index: p.index })));
  order.sort((a, b) => a.index - b.index);
  for (let k = 1; k < order.length; k++) {
    const [a, b] = [order[k - 1], order[k]];
    if (a.index === b.index)
      throw new Error(`merge: pair #${a.index} is in both ${name(a.shard)} and ${name(b.shard)}`);
    if (b.index !== a.index + 1)
      throw new Error(
        `merge: pairs #${a.index + 1}…#${b.index - 1} are missing (the shards must cover one range)`,
      );
  }
  const take = <T>(get: (s: EvalResults) => T[]) => order.map((o) => get(shards[o.shard])[o.at]);
  return {
    meta: { ...shards[0].meta, seconds: shards.reduce((t, s) => t + s.meta.seconds, 0) },
    runs: { vanilla: take((s) => s.runs.vanilla), guided: take((s) => s.runs.guided) },
    reference: take((s) => s.reference),
    pairs: take((s) => s.pairs),
  };
}
