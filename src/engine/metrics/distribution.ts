/**
 * Distribution metrics over classifier features (SPEC §6.2): Fréchet distance (FD / FAD / FVD, depending on the
 * feature extractor), kernel distance (KID / KVD: unbiased MMD² with the polynomial kernel over random subsets),
 * and the class-probability scores KL and Inception score (ISc).
 *
 * - FD = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2·Tr((Σ₁Σ₂)^{1/2}). The trace term uses the symmetric form
 *   Tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}) (same eigenvalues as Σ₁Σ₂), with both square roots from a float64 Jacobi
 *   eigen-decomposition; negative round-off eigenvalues are clipped at 0. This avoids `scipy.linalg.sqrtm`'s
 *   complex/non-symmetric path (and its `eps` offset retry in pytorch-fid), and agrees with it to round-off.
 * - KID (torch-fidelity / SpecVQGAN `kid_*` settings): k(x, y) = (γ·x·y + coef0)^degree with γ = 1/d, coef0 1,
 *   degree 3; per subset of m samples drawn without replacement from each set, the unbiased MMD² estimator;
 *   reported as mean and std over `subsets` subsets (torch-fidelity's default 100 subsets of 1000).
 * - KL: mean over paired samples of KL(p_real ‖ p_gen) = Σ p_r (log p_r − log p_g) (SpecVQGAN/torch-fidelity's
 *   "kl_logits" style on softmax probabilities; which direction and classifier the paper used is UNKNOWN, SPEC
 *   §6.2/§8 Q12 — the direction here is selectable).
 * - ISc: exp(E_x KL(p(y|x) ‖ p(y))) per split of the (optionally seeded-shuffled) samples; mean and std over
 *   `splits` (SpecVQGAN: 10 splits, shuffle, rng seed 2020 — a seed of OUR RNG, so the split membership differs
 *   from numpy's permutation with seed 2020).
 */
import { BadInputError } from "../errors.js";
import { type FeatureSet, matmul, meanCov, sqrtPsd, symmetricEigen, toMatrix } from "./linalg.js";
import { SeededRng } from "./stats.js";

/** Fréchet distance between two Gaussians N(μ1, Σ1), N(μ2, Σ2) (d×d row-major covariances). */
export function frechetDistanceGaussians(
  mu1: ArrayLike<number>,
  sigma1: ArrayLike<number>,
  mu2: ArrayLike<number>,
  sigma2: ArrayLike<number>,
): number {
  const d = mu1.length;
  if (mu2.length !== d || sigma1.length !== d * d || sigma2.length !== d * d) {
    throw new BadInputError(`Fréchet distance needs means of length d and d×d covariances (d = ${d}).`);
  }
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (mu1[i] - mu2[i]) ** 2;
  const S1 = Float64Array.from(sigma1);
  const S2 = Float64Array.from(sigma2);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += S1[i * d + i] + S2[i * d + i];
  const r1 = sqrtPsd(S1, d);
  const inner = matmul(matmul(r1, S2, d), r1, d);
  const { values } = symmetricEigen(inner, d);
  let trSqrt = 0;
  for (const w of values) trSqrt += Math.sqrt(Math.max(w, 0));
  return diff + tr - 2 * trSqrt;
}

/** Fréchet distance between the Gaussian fits (mean, unbiased covariance) of two feature sets. */
export function frechetDistance(real: FeatureSet, generated: FeatureSet): number {
  const a = meanCov(real);
  const b = meanCov(generated);
  if (a.d !== b.d) throw new BadInputError(`Feature sets differ in width (${a.d} vs ${b.d}).`);
  if (a.n < 2 || b.n < 2) throw new BadInputError("Fréchet distance needs at least 2 samples per set.");
  return frechetDistanceGaussians(a.mu, a.sigma, b.mu, b.sigma);
}

export interface KidOptions {
  subsets?: number;
  subsetSize?: number;
  degree?: number;
  /** Default 1/d. */
  gamma?: number;
  coef0?: number;
  seed?: number;
}

/** A kernel between row i of one feature set and row j of another. */
export type Kernel = (i: number, j: number) => number;

/** k(x, y) = (γ·x·y + coef0)^degree between the rows of two n×d / m×d matrices, γ defaulting to 1/d. */
function polyKernel(
  A: { d: number; data: Float64Array },
  B: { d: number; data: Float64Array },
  o: KidOptions,
): Kernel {
  const d = A.d;
  const gamma = o.gamma ?? 1 / d;
  const coef0 = o.coef0 ?? 1;
  const degree = o.degree ?? 3;
  const X = A.data;
  const Y = B.data;
  return (i, j) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += X[i * d + t] * Y[j * d + t];
    return (gamma * s + coef0) ** degree;
  };
}

/** Unbiased MMD² between two equal-size samples (rows ix of X, iy of Y) under the kernels kxx, kyy, kxy. */
function mmd2(ix: ArrayLike<number>, iy: ArrayLike<number>, kxx: Kernel, kyy: Kernel, kxy: Kernel): number {
  const m = ix.length;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      if (a !== b) {
        sxx += kxx(ix[a], ix[b]);
        syy += kyy(iy[a], iy[b]);
      }
      sxy += kxy(ix[a], iy[b]);
    }
  }
  return (sxx + syy) / (m * (m - 1)) - (2 * sxy) / (m * m);
}

/**
 * KID/KVD from kernels over two sets of nx and ny samples: mean and std (ddof 0, np.std) of the unbiased MMD² over
 * `subsets` random subsets of min(subsetSize, nx, ny) samples drawn without replacement from each set.
 */
export function kernelDistanceOf(
  nx: number,
  ny: number,
  kernels: { xx: Kernel; yy: Kernel; xy: Kernel },
  o: KidOptions = {},
): { mean: number; std: number } {
  const m = Math.min(o.subsetSize ?? 1000, nx, ny);
  if (m < 2) throw new BadInputError("Kernel distance needs at least 2 samples per set.");
  const subsets = o.subsets ?? 100;
  const rng = new SeededRng(o.seed ?? 0);
  const vals = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    const ix = rng.choice(nx, m);
    const iy = rng.choice(ny, m);
    vals[s] = mmd2(ix, iy, kernels.xx, kernels.yy, kernels.xy);
  }
  const mean = vals.reduce((x, y) => x + y, 0) / subsets;
  const std = Math.sqrt(vals.reduce((x, y) => x + (y - mean) ** 2, 0) / subsets); // np.std (ddof 0)
  return { mean, std };
}

/** Kernel Inception/Video Distance: mean and std of the unbiased polynomial-kernel MMD² over random subsets. */
export function kernelDistance(
  real: FeatureSet,
  generated: FeatureSet,
  o: KidOptions = {},
): { mean: number; std: number } {
  const a = toMatrix(real);
  const b = toMatrix(generated);
  if (a.d !== b.d) throw new BadInputError(`Feature sets differ in width (${a.d} vs ${b.d}).`);
  return kernelDistanceOf(
    a.n,
    b.n,
    { xx: polyKernel(a, a, o), yy: polyKernel(b, b, o), xy: polyKernel(a, b, o) },
    o,
  );
}

/**
 * The polynomial kernel (as `kernelDistance` uses it) between every row of `a` and every row of `b`, as a row-major
 * a.n × b.n matrix: for many kernel distances over resamples of the same samples (the evaluation table's
 * bootstrap), each then O(m²) lookups instead of O(m²·d) products — and the same numbers, value for value.
 */
export function polyKernelGram(
  a: FeatureSet,
  b: FeatureSet,
  o: Pick<KidOptions, "gamma" | "coef0" | "degree"> = {},
): { rows: number; cols: number; data: Float64Array } {
  const A = toMatrix(a);
  const B = toMatrix(b);
  if (A.d !== B.d) throw new BadInputError(`Feature sets differ in width (${A.d} vs ${B.d}).`);
  const k = polyKernel(A, B, o);
  const data = new Float64Array(A.n * B.n);
  for (let i = 0; i < A.n; i++) for (let j = 0; j < B.n; j++) data[i * B.n + j] = k(i, j);
  return { rows: A.n, cols: B.n, data };
}

function probs(x: FeatureSet, name: string): { n: number; d: number; data: Float64Array } {
  const m = toMatrix(x);
  for (let i = 0; i < m.n; i++) {
    let s = 0;
    for (let j = 0; j < m.d; j++) {
      const v = m.data[i * m.d + j];
      if (!(v >= 0))
        throw new BadInputError(`${name}[${i}] has a negative or NaN probability; pass softmax outputs.`);
      s += v;
    }
    if (Math.abs(s - 1) > 1e-3)
      throw new BadInputError(`${name}[${i}] sums to ${s}, not 1; pass softmax outputs.`);
  }
  return m;
}

/** Σ p·(log p − log q) with 0·log 0 = 0 and `eps` flooring q. */
function klRow(P: Float64Array, i: number, Q: Float64Array, j: number, d: number, eps: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const p = P[i * d + t];
    if (p > 0) s += p * (Math.log(p) - Math.log(Math.max(Q[j * d + t], eps)));
  }
  return s;
}

/**
 * Mean KL divergence between paired class-probability vectors: KL(p_real ‖ p_gen) by default
 * (`direction: "gen||real"` swaps them).
 */
export function meanKL(
  pReal: FeatureSet,
  pGen: FeatureSet,
  options: { direction?: "real||gen" | "gen||real"; eps?: number } = {},
): number {
  const R = probs(pReal, "pReal");
  const Gm = probs(pGen, "pGen");
  if (R.n !== Gm.n || R.d !== Gm.d)
    throw new BadInputError("KL needs paired sets of equal size and class count.");
  const eps = options.eps ?? 1e-12;
  const [P, Q] = options.direction === "gen||real" ? [Gm, R] : [R, Gm];
  let s = 0;
  for (let i = 0; i < R.n; i++) s += klRow(P.data, i, Q.data, i, R.d, eps);
  return s / R.n;
}

/** Inception score exp(E_x KL(p(y|x) ‖ p(y))) over `splits` splits; mean and std (ddof 0) across splits. */
export function inceptionScore(
  p: FeatureSet,
  options: { splits?: number; shuffle?: boolean; seed?: number } = {},
): { mean: number; std: number } {
  const P = probs(p, "p");
  const splits = options.splits ?? 10;
  if (!(splits >= 1) || splits > P.n)
    throw new BadInputError(`splits must be in [1, ${P.n}] (got ${splits}).`);
  const order = options.shuffle
    ? new SeededRng(options.seed ?? 2020).permutation(P.n)
    : Int32Array.from({ length: P.n }, (_, i) => i);
  const scores: number[] = [];
  for (let k = 0; k < splits; k++) {
    // torch-fidelity: split boundaries k·n/splits … (k+1)·n/splits
    const lo = Math.floor((k * P.n) / splits);
    const hi = Math.floor(((k + 1) * P.n) / splits);
    const marg = new Float64Array(P.d);
    for (let i = lo; i < hi; i++) for (let t = 0; t < P.d; t++) marg[t] += P.data[order[i] * P.d + t];
    for (let t = 0; t < P.d; t++) marg[t] /= hi - lo;
    let kl = 0;
    for (let i = lo; i < hi; i++) kl += klRow(P.data, order[i], marg, 0, P.d, 1e-30);
    scores.push(Math.exp(kl / (hi - lo)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std };
}

/** Row-wise softmax of `n × C` logits (float64), for classifiers that output logits. */
export function softmax(logits: FeatureSet): { data: Float64Array; dim: number } {
  const { n, d, data } = toMatrix(logits);
  for (let i = 0; i < n; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < d; j++) m = Math.max(m, data[i * d + j]);
    let s = 0;
    for (let j = 0; j < d; j++) {
      data[i * d + j] = Math.exp(data[i * d + j] - m);
      s += data[i * d + j];
    }
    for (let j = 0; j < d; j++) data[i * d + j] /= s;
  }
  return { data, dim: d };
}
