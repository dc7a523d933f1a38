/**
 * Float64 dense linear algebra for the distribution metrics: feature means/covariances, a cyclic Jacobi
 * eigen-decomposition of symmetric matrices, and the PSD square root built from it. Matrices are row-major
 * `Float64Array`s of size d·d.
 */
import { BadInputError } from "../errors.js";

/** Rows of `n × d` features, given as an array of vectors or one row-major buffer with its width. */
export type FeatureSet = readonly ArrayLike<number>[] | { data: ArrayLike<number>; dim: number };

/** Normalise a feature set to `{ n, d, at(i, j) }` over a row-major float64 copy. */
export function toMatrix(x: FeatureSet): { n: number; d: number; data: Float64Array } {
  if (Array.isArray(x)) {
    const rows = x as readonly ArrayLike<number>[];
    const n = rows.length;
    if (n === 0) throw new BadInputError("A feature set needs at least one vector.");
    const d = rows[0].length;
    const data = new Float64Array(n * d);
    rows.forEach((r, i) => {
      if (r.length !== d)
        throw new BadInputError(`Feature vector ${i} has ${r.length} values, expected ${d}.`);
      for (let j = 0; j < d; j++) data[i * d + j] = r[j];
    });
    return { n, d, data };
  }
  const { data, dim } = x as { data: ArrayLike<number>; dim: number };
  if (!(dim > 0) || data.length % dim !== 0 || data.length === 0) {
    throw new BadInputError(
      `A feature buffer of ${data.length} values is not a whole number of ${dim}-d rows.`,
    );
  }
  return { n: data.length / dim, d: dim, data: Float64Array.from(data) };
}

/** Column means and the unbiased covariance (`np.cov(x, rowvar=False)`, ddof 1). */
export function meanCov(x: FeatureSet): { mu: Float64Array; sigma: Float64Array; n: number; d: number } {
  const { n, d, data } = toMatrix(x);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mu[j] /= n;
  const sigma = new Float64Array(d * d);
  if (n < 2) return { mu, sigma: sigma.fill(Number.NaN), n, d };
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = data[i * d + j] - mu[j];
    for (let a = 0; a < d; a++) {
      const ca = c[a];
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) sigma[row + b] += ca * c[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = sigma[a * d + b] / (n - 1);
      sigma[a * d + b] = v;
      sigma[b * d + a] = v;
    }
  }
  return { mu, sigma, n, d };
}

/** C = A·B for d×d matrices. */
export function matmul(A: Float64Array, B: Float64Array, d: number): Float64Array {
  const C = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const a = A[i * d + k];
      if (a === 0) continue;
      const bk = k * d;
      const ci = i * d;
      for (let j = 0; j < d; j++) C[ci + j] += a * B[bk + j];
    }
  }
  return C;
}

/**
 * Eigen-decomposition of a symmetric d×d matrix by cyclic Jacobi rotations (Golub & Van Loan §8.5):
 * A = V·diag(w)·Vᵀ, eigenvectors in the columns of V. Converges quadratically; accurate to a few ulps of ‖A‖.
 */
export function symmetricEigen(
  S: Float64Array,
  d: number,
  maxSweeps = 100,
): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(S);
  // symmetrise (guards against round-off asymmetry in the input)
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const m = 0.5 * (A[i * d + j] + A[j * d + i]);
      A[i * d + j] = m;
      A[j * d + i] = m;
    }
  }
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < d; i++) {
      diag += A[i * d + i] ** 2;
      for (let j = i + 1; j < d; j++) off += A[i * d + j] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q];
        if (apq === 0) continue;
        const app = A[p * d + p];
        const aqq = A[q * d + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J on rows/columns p, q
        for (let k = 0; k < d; k++) {
          const akp = A[k * d + p];
          const akq = A[k * d + q];
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = A[p * d + k];
          const aqk = A[q * d + k];
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        A[p * d + q] = 0;
        A[q * d + p] = 0;
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p];
          const vkq = V[k * d + q];
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = A[i * d + i];
  return { values, vectors: V };
}

/** V·diag(f(w))·Vᵀ for a symmetric matrix's eigen-decomposition. */
export function spectralMap(
  eig: { values: Float64Array; vectors: Float64Array },
  d: number,
  f: (w: number) => number,
): Float64Array {
  const { values, vectors: V } = eig;
  const fw = values.map(f);
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += V[i * d + k] * fw[k] * V[j * d + k];
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  }
  return out;
}

/** Principal square root of a symmetric PSD matrix (eigenvalues clipped at 0). */
export function sqrtPsd(S: Float64Array, d: number): Float64Array {
  return spectralMap(symmetricEigen(S, d), d, (w) => Math.sqrt(Math.max(w, 0)));
}
