/**
 * Summary statistics with 95% confidence intervals for per-sample metric values, and the seeded RNG the
 * resampling metrics (bootstrap, KID subsets, IS shuffling) share, so every reported number is reproducible.
 */
import { BadInputError } from "../errors.js";

/** mulberry32: a small, fast, seedable 32-bit PRNG. `next()` is uniform in [0, 1). */
export class SeededRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Fisher–Yates permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
  /** k distinct indices from 0..n−1 (the first k of a permutation), like `np.random.choice(n, k, replace=False)`. */
  choice(n: number, k: number): Int32Array {
    return this.permutation(n).subarray(0, k);
  }
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1). NaN for n < 2. */
  sd: number;
  /** mean ± 1.96·sd/√n. */
  ci95: [number, number];
}

/** Mean, sample sd and the normal-approximation 95% CI of the mean. */
export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) throw new BadInputError("Cannot summarise an empty list of metric values.");
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : Number.NaN;
  const h = n > 1 ? (1.96 * sd) / Math.sqrt(n) : Number.NaN;
  return { n, mean, sd, ci95: [mean - h, mean + h] };
}

/** Linear-interpolated quantile (numpy's default "linear" method) of sorted data. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile bootstrap 95% CI of `statistic` (default: the mean): `resamples` draws of n values with
 * replacement from a seeded RNG, then the 2.5% and 97.5% quantiles of the statistic.
 */
export function bootstrapCI(
  values: ArrayLike<number>,
  options: {
    resamples?: number;
    seed?: number;
    level?: number;
    statistic?: (x: Float64Array) => number;
  } = {},
): [number, number] {
  const n = values.length;
  if (n === 0) throw new BadInputError("Cannot bootstrap an empty list of metric values.");
  const B = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const stat = options.statistic ?? ((x: Float64Array) => x.reduce((a, b) => a + b, 0) / x.length);
  const rng = new SeededRng(options.seed ?? 0);
  const draws = new Float64Array(B);
  const buf = new Float64Array(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) buf[i] = values[rng.int(n)];
    draws[b] = stat(buf);
  }
  draws.sort();
  const a = (1 - level) / 2;
  return [quantileSorted(draws, a), quantileSorted(draws, 1 - a)];
}
