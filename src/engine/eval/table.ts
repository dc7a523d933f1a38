/**
 * Table 1 of the paper (SPEC §6.4) for our harness: per task, vanilla and guided rows over the same held-out
 * pairs and seeds, each metric with a 95% confidence interval, plus the paired guided − vanilla difference.
 *
 * Per-sample metrics (AV-align IoU, the ImageBind cosines, the paired KL, the top-class agreement) get the
 * normal-approximation CI of the mean; set metrics (Fréchet distances, KVD, ISc) a seeded percentile bootstrap
 * over pairs (the same resampled pairs for the real and the generated set), re-centred on the full-sample value.
 * Pure functions on plain arrays (no models, no I/O).
 */
import {
  frechetDistance,
  inceptionScore,
  type Kernel,
  kernelDistanceOf,
  meanKL,
  polyKernelGram,
  SeededRng,
  summarize,
} from "../metrics/index.js";
import { quantileSorted } from "../metrics/stats.js";

/** A row of the table: "vanilla" and "guided" for generated media, any name for a folder of real media. */
export type Method = string;

/** Evaluator outputs for one clip: penultimate features and class probabilities. */
export interface EvaluatorOut {
  features: Float32Array;
  probs: Float32Array;
}

/** One held-out pair under one method. */
export interface PairResult {
  index: number;
  seed: number;
  /** AV-align IoU (SPEC §6.3) of the output pair; NaN when neither side has a peak (counted as 0). */
  avAlign?: number;
  /** AT/AV/VT-align_bind (cosines of the guiding ImageBind's embeddings). */
  bind: Partial<Record<BindKey, number>>;
  audio?: EvaluatorOut;
  video?: EvaluatorOut;
}

export type BindKey = "AT-align_bind" | "AV-align_bind" | "VT-align_bind";

/** The real pair's evaluator outputs (reference set of the distribution metrics). */
export interface ReferenceResult {
  index: number;
  audio?: EvaluatorOut;
  video?: EvaluatorOut;
}

export interface MetricCell {
  mean: number;
  ci95: [number, number];
  n: number;
  ci: "normal" | "bootstrap";
}

export interface Column {
  key: string;
  label: string;
  better: "higher" | "lower";
  /** Where the number comes from (printed under the table). */
  source: string;
}

export interface EvalTable {
  task: string;
  n: number;
  columns: Column[];
  rows: { method: Method; cells: Record<string, MetricCell> }[];
  /**
   * Second row − first row (guided − vanilla) per column: paired (per-sample) or a bootstrap of the difference
   * (set metrics); null with a single row.
   */
  delta: Record<string, MetricCell> | null;
  notes: string[];
}

const AV: Column = {
  key: "AV-align",
  label: "AV-align ↑",
  better: "higher",
  source: "IoU of librosa onsets and Farnebäck flow peaks (SPEC §6.3)",
};
const BIND: Record<BindKey, Column> = {
  "AV-align_bind": {
    key: "AV-align_bind",
    label: "AV-align_bind ↑",
    better: "higher",
    source: "cos(ImageBind audio, video)",
  },
  "AT-align_bind": {
    key: "AT-align_bind",
    label: "AT-align_bind ↑",
    better: "higher",
    source: "cos(ImageBind audio, text)",
  },
  "VT-align_bind": {
    key: "VT-align_bind",
    label: "VT-align_bind ↑",
    better: "higher",
    source: "cos(ImageBind video, text)",
  },
};

function distColumns(m: "audio" | "video"): Column[] {
  const net =
    m === "audio" ? "independent audio CNN (eval/evaluators)" : "independent video CNN (eval/evaluators)";
  const fd = m === "audio" ? "FD" : "FVD";
  return [
    {
      key: `${fd}`,
      label: `${fd} ↓`,
      better: "lower",
      source: `Fréchet distance of ${net} features, generated vs real`,
    },
    ...(m === "video"
      ? [
          {
            key: "KVD",
            label: "KVD ↓",
            better: "lower" as const,
            source: `polynomial-kernel MMD² of ${net} features`,
          },
        ]
      : []),
    {
      key: `KL-${m}`,
      label: `KL(${m}) ↓`,
      better: "lower",
      source: `mean KL(p_real ‖ p_gen) of ${net} class probabilities, paired`,
    },
    {
      key: `ISc-${m}`,
      label: `ISc(${m}) ↑`,
      better: "higher",
      source: `Inception score of ${net} class probabilities`,
    },
    {
      key: `Agree-${m}`,
      label: `Agree(${m}) ↑`,
      better: "higher",
      source: `share of pairs whose generated ${m} the ${net} puts in the same top class as the real clip (recognisably the same object), paired`,
    },
  ];
}

/** Index of the largest entry (an evaluator's top class). */
export function argmax(x: Float32Array): number {
  let k = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[k]) k = i;
  return k;
}

const cell = (values: number[]): MetricCell => {
  const s = summarize(values);
  return { mean: s.mean, ci95: s.n > 1 ? s.ci95 : [s.mean, s.mean], n: s.n, ci: "normal" };
};

function stack(xs: readonly Float32Array[]): { data: Float64Array; dim: number } {
  const dim = xs[0].length;
  const data = new Float64Array(xs.length * dim);
  xs.forEach((x, i) => {
    data.set(x, i * dim);
  });
  return { data, dim };
}

/** A set metric and its bootstrap CI over pair indices (B resamples, seeded). */
function setMetric(n: number, g: (idx: Int32Array) => number, resamples: number, seed: number): MetricCell {
  // a set statistic is undefined on fewer than 2 samples (and on a degenerate resample): NaN, not an error
  const f = (idx: Int32Array) => {
    try {
      return idx.length < 2 ? Number.NaN : g(idx);
    } catch {
      return Number.NaN;
    }
  };
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const mean = f(all);
  const rng = new SeededRng(seed);
  const draws: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const idx = Int32Array.from({ length: n }, () => rng.int(n));
    const v = f(idx);
    if (Number.isFinite(v)) draws.push(v);
  }
  if (draws.length < 2 || !Number.isFinite(mean)) return { mean, ci95: [mean, mean], n, ci: "bootstrap" };
  draws.sort((a, b) => a - b);
  // Resampling with replacement duplicates pairs, which biases Fréchet/kernel distances upward: the percentile
  // interval is re-centred on the full-sample value (shifted by value − bootstrap median).
  const shift = mean - quantileSorted(draws, 0.5);
  return {
    mean,
    ci95: [quantileSorted(draws, 0.025) + shift, quantileSorted(draws, 0.975) + shift],
    n,
    ci: "bootstrap",
  };
}

const pick = <T>(xs: readonly T[], idx: Int32Array) => Array.from(idx, (i) => xs[i]);

export interface TableOptions {
  resamples?: number;
  seed?: number;
  /** ISc splits (default: 1 below 50 samples, else 10 as SpecVQGAN). */
  splits?: number;
}

/**
 * Build the table of one task from per-pair results: one entry per row (same pairs in the same order), and the
 * real pairs as the reference set of the distribution metrics.
 */
export function buildTable(
  task: string,
  runs: Readonly<Record<Method, PairResult[]>>,
  reference: ReferenceResult[],
  opts: TableOptions = {},
): EvalTable {
  const n = reference.length;
  const methods = Object.keys(runs);
  const B = opts.resamples ?? 200;
  const seed = opts.seed ?? 2020;
  const columns: Column[] = [];
  const first = runs[methods[0]]?.[0];
  if (first?.avAlign !== undefined) columns.push(AV);
  for (const k of Object.keys(BIND) as BindKey[]) if (first?.bind[k] !== undefined) columns.push(BIND[k]);
  const modalities = (["audio", "video"] as const).filter((m) => first?.[m] && reference[0]?.[m]);
  for (const m of modalities) columns.push(...distColumns(m));

  /** Per-method values of a column: per-sample arrays or a set statistic over resampled indices. */
  const perSample = (method: Method, key: string): number[] | null => {
    const rs = runs[method];
    if (key === "AV-align") return rs.map((r) => (Number.isNaN(r.avAlign!) ? 0 : r.avAlign!));
    if (key in BIND) return rs.map((r) => r.bind[key as BindKey]!);
    const kl = /^KL-(audio|video)$/.exec(key);
    if (kl) {
      const m = kl[1] as "audio" | "video";
      return rs.map((r, i) => meanKL([reference[i][m]!.probs], [r[m]!.probs]));
    }
    const agree = /^Agree-(audio|video)$/.exec(key);
    if (agree) {
      const m = agree[1] as "audio" | "video";
      return rs.map((r, i) => (argmax(r[m]!.probs) === argmax(reference[i][m]!.probs) ? 1 : 0));
    }
    return null;
  };
  // KVD's kernel values between all n real and generated samples, computed once: each bootstrap resample then
  // looks them up (the same numbers as kernelDistance on the resampled features, ~d = 64× less work)
  type Gram = ReturnType<typeof polyKernelGram>;
  let realVideo: ReturnType<typeof stack> | null = null;
  let realGram: Gram | null = null;
  const genGrams = new Map<Method, { yy: Gram; xy: Gram }>();
  const kvd = (method: Method, idx: Int32Array): number => {
    realVideo ??= stack(reference.map((r) => r.video!.features));
    realGram ??= polyKernelGram(realVideo, realVideo);
    if (!genGrams.has(method)) {
      const gen = stack(runs[method].map((r) => r.video!.features));
      genGrams.set(method, { yy: polyKernelGram(gen, gen), xy: polyKernelGram(realVideo, gen) });
    }
    const g = genGrams.get(method)!;
    const lookup =
      (m: Gram): Kernel =>
      (i, j) =>
        m.data[idx[i] * m.cols + idx[j]];
    const kernels = { xx: lookup(realGram), yy: lookup(g.yy), xy: lookup(g.xy) };
    return kernelDistanceOf(idx.length, idx.length, kernels, { subsets: 20, seed }).mean;
  };
  const setStat = (method: Method, key: string) => (idx: Int32Array) => {
    if (key === "KVD") return kvd(method, idx);
    const rs = pick(runs[method], idx);
    const ref = pick(reference, idx);
    const m: "audio" | "video" = key === "FD" || key.endsWith("audio") ? "audio" : "video";
    const gen = stack(rs.map((r) => r[m]!.features));
    const real = stack(ref.map((r) => r[m]!.features));
    if (key === "FD" || key === "FVD") return frechetDistance(real, gen);
    const probs = stack(rs.map((r) => r[m]!.probs));
    const splits = opts.splits ?? (idx.length >= 50 ? 10 : 1);
    return inceptionScore(probs, { splits, shuffle: true, seed }).mean;
  };

  const rows = methods.map((method) => {
    const cells: Record<string, MetricCell> = {};
    for (const c of columns) {
      const v = perSample(method, c.key);
      cells[c.key] = v ? cell(v) : setMetric(n, setStat(method, c.key), B, seed);
    }
    return { method, cells };
  });
  let delta: Record<string, MetricCell> | null = null;
  if (methods.length === 2) {
    const [a, b] = methods;
    delta = {};
    for (const c of columns) {
      const g = perSample(b, c.key);
      const v = perSample(a, c.key);
      if (g && v) delta[c.key] = cell(g.map((x, i) => x - v[i]));
      else {
        const fg = setStat(b, c.key);
        const fv = setStat(a, c.key);
        delta[c.key] = setMetric(n, (idx) => fg(idx) - fv(idx), B, seed + 1);
      }
    }
  }
  const notes = columns.map((c) => `${c.label}: ${c.source}`);
  return { task, n, columns, rows, delta, notes };
}

const fmt = (x: number) =>
  !Number.isFinite(x)
    ? "n/a"
    : Math.abs(x) >= 100
      ? x.toFixed(1)
      : Math.abs(x) >= 10
        ? x.toFixed(2)
        : x.toFixed(3);
const fmtCell = (c: MetricCell) => `${fmt(c.mean)} [${fmt(c.ci95[0])}, ${fmt(c.ci95[1])}]`;

/** Whether the second row (guided) beats the first (vanilla) with non-overlapping 95% CIs, for a column. */
export function separated(t: EvalTable, key: string): boolean {
  const col = t.columns.find((c) => c.key === key);
  const v = t.rows[0]?.cells[key];
  const g = t.rows[1]?.cells[key];
  if (!col || !v || !g) return false;
  return col.better === "higher" ? g.ci95[0] > v.ci95[1] : g.ci95[1] < v.ci95[0];
}

/** Markdown: the table (mean [95% CI]), the paired difference row, and the metric sources. */
export function tableMarkdown(t: EvalTable, title?: string): string {
  const head = `| Method | ${t.columns.map((c) => c.label).join(" | ")} |`;
  const rule = `|---|${t.columns.map(() => "---").join("|")}|`;
  const label = (m: string) => (m === "vanilla" ? "Ours-vanilla" : m === "guided" ? "Ours (guided)" : m);
  const rows = t.rows.map(
    (r) => `| ${label(r.method)} | ${t.columns.map((c) => fmtCell(r.cells[c.key])).join(" | ")} |`,
  );
  const d = t.delta;
  const delta = d
    ? [
        `| Δ ${t.rows[1].method} − ${t.rows[0].method} | ${t.columns
          .map((c) => `${fmtCell(d[c.key])}${separated(t, c.key) ? " *" : ""}`)
          .join(" | ")} |`,
      ]
    : [];
  return [
    `### ${title ?? t.task.toUpperCase()} (N = ${t.n} held-out world pairs, mean [95% CI])`,
    "",
    head,
    rule,
    ...rows,
    ...delta,
    "",
    ...(d
      ? [`\\* ${t.rows[1].method} better than ${t.rows[0].method} with non-overlapping 95% CIs.`, ""]
      : []),
    ...t.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}
