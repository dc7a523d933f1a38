/**
 * Fréchet distance, kernel distance, KL and Inception score against closed forms, hand computations and a scipy
 * reference (`fixtures/gen_scipy.py`: pytorch-fid's formula with `scipy.linalg.sqrtm`).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  frechetDistance,
  frechetDistanceGaussians,
  inceptionScore,
  type Kernel,
  kernelDistance,
  kernelDistanceOf,
  meanKL,
  polyKernelGram,
  softmax,
} from "./distribution.js";
import { noise } from "./fixtures/synthetic.js";
import { matmul, meanCov, sqrtPsd, symmetricEigen } from "./linalg.js";
import { SeededRng } from "./stats.js";

interface ScipyGoldens {
  cases: { n1: number; n2: number; d: number; seed1: number; seed2: number; shift: number; fd: number }[];
}
const G: ScipyGoldens = JSON.parse(
  readFileSync(new URL("./fixtures/scipy_goldens.json", import.meta.url), "utf8"),
);

/** gen_scipy.py `features`: integer noise mixed by a fixed integer lower-triangular matrix. */
function features(seed: number, n: number, d: number, shift: number): { data: Float64Array; dim: number } {
  const v = noise(seed, n * d, 100);
  const Lraw = noise(seed + 5, d * d, 3);
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) L[i * d + j] = Lraw[i * d + j] + (i === j ? 4 : 0);
  const data = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (v[r * d + j] / 50) * L[i * d + j];
      data[r * d + i] = s / 4 + shift;
    }
  }
  return { data, dim: d };
}

function gaussianSamples(rng: SeededRng, n: number, mu: number[], scale: number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      mu.map((m, j) => {
        const u = 1 - rng.next();
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
        return m + scale[j] * z;
      }),
    );
  }
  return out;
}

describe("symmetric eigen-decomposition and PSD square root", () => {
  it("reconstructs a random SPD matrix and squares its root back", () => {
    const d = 12;
    const rng = new SeededRng(4);
    const A = new Float64Array(d * d).map(() => rng.next() - 0.5);
    const At = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) At[j * d + i] = A[i * d + j];
    const S = matmul(A, At, d);
    const { values, vectors } = symmetricEigen(S, d);
    let err = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += vectors[i * d + k] * values[k] * vectors[j * d + k];
        err = Math.max(err, Math.abs(s - S[i * d + j]));
      }
    }
    expect(err).toBeLessThan(1e-12);
    const R = sqrtPsd(S, d);
    const RR = matmul(R, R, d);
    expect(Math.max(...RR.map((v, i) => Math.abs(v - S[i])))).toBeLessThan(1e-12);
  });
});

describe("Fréchet distance", () => {
  it("is 0 for identical sets", () => {
    const x = features(1, 100, 8, 0);
    expect(Math.abs(frechetDistance(x, x))).toBeLessThan(1e-9);
  });

  it("diagonal Gaussians: ‖Δμ‖² + Σ (σ1 − σ2)²", () => {
    const mu1 = [0, 1, 2];
    const mu2 = [1, 1, 0];
    const v1 = [1, 4, 9];
    const v2 = [4, 1, 1];
    const diag = (v: number[]) => {
      const m = new Float64Array(9);
      v.forEach((x, i) => {
        m[i * 3 + i] = x;
      });
      return m;
    };
    const want = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2;
    expect(frechetDistanceGaussians(mu1, diag(v1), mu2, diag(v2))).toBeCloseTo(want, 12);
  });

  it("non-commuting 2×2 covariances: Tr√(Σ1Σ2) = √(tr(Σ1Σ2) + 2√(det Σ1 det Σ2))", () => {
    const S1 = [2, 0.6, 0.6, 1];
    const S2 = [1, -0.4, -0.4, 3];
    const tr12 = S1[0] * S2[0] + S1[1] * S2[2] + S1[2] * S2[1] + S1[3] * S2[3];
    const det1 = S1[0] * S1[3] - S1[1] * S1[2];
    const det2 = S2[0] * S2[3] - S2[1] * S2[2];
    const want = 0.25 + 1 + (2 + 1 + 1 + 3) - 2 * Math.sqrt(tr12 + 2 * Math.sqrt(det1 * det2));
    expect(frechetDistanceGaussians([0, 0], S1, [0.5, 1], S2)).toBeCloseTo(want, 12);
  });

  it("matches scipy.linalg.sqrtm-based FD (pytorch-fid formula) on correlated features", () => {
    for (const c of G.cases) {
      const fd = frechetDistance(features(c.seed1, c.n1, c.d, 0), features(c.seed2, c.n2, c.d, c.shift));
      console.log(
        `FD d=${c.d}: ${fd} vs scipy ${c.fd} (rel ${(Math.abs(fd - c.fd) / c.fd).toExponential(2)})`,
      );
      expect(Math.abs(fd - c.fd) / c.fd).toBeLessThan(1e-9);
    }
  });

  it("sample estimate approaches the closed form for large samples", () => {
    const rng = new SeededRng(7);
    const x = gaussianSamples(rng, 20000, [0, 0], [1, 2]);
    const y = gaussianSamples(rng, 20000, [1, 0], [2, 2]);
    expect(Math.abs(frechetDistance(x, y) - 2)).toBeLessThan(0.15); // 1 + (1 − 2)² + 0, sampling error ~0.05
    const { mu } = meanCov(x);
    expect(Math.abs(mu[0])).toBeLessThan(0.05);
  });
});

describe("kernel distance (KID/KVD)", () => {
  it("matches a hand computation of the unbiased polynomial MMD²", () => {
    // k(x, y) = (x·y + 1)³ with d = 1 (γ = 1/d = 1): X = {0, 1}, Y = {2, 3}
    // (K_XX off-diagonal 2 + K_YY 686) / 2 − 2·(1 + 1 + 27 + 64) / 4 = 297.5
    const { mean, std } = kernelDistance([[0], [1]], [[2], [3]], { subsets: 3, subsetSize: 2 });
    expect(mean).toBeCloseTo(297.5, 10);
    expect(std).toBeCloseTo(0, 10);
  });

  it("is near 0 for two samples of one distribution and larger for shifted ones", () => {
    const rng = new SeededRng(3);
    const a = gaussianSamples(rng, 400, [0, 0, 0, 0], [1, 1, 1, 1]);
    const b = gaussianSamples(rng, 400, [0, 0, 0, 0], [1, 1, 1, 1]);
    const c = gaussianSamples(rng, 400, [0.5, 0, 0, 0], [1, 1, 1, 1]);
    const same = kernelDistance(a, b, { subsets: 10, subsetSize: 200, seed: 1 });
    const diff = kernelDistance(a, c, { subsets: 10, subsetSize: 200, seed: 1 });
    expect(Math.abs(same.mean)).toBeLessThan(0.02);
    expect(diff.mean).toBeGreaterThan(5 * Math.abs(same.mean) + 0.02);
    expect(kernelDistance(a, c, { subsets: 10, subsetSize: 200, seed: 1 })).toEqual(diff); // seeded
  });

  it("from a precomputed Gram matrix over a resample with repeats: exactly kernelDistance of the resampled rows", () => {
    const rng = new SeededRng(5);
    const real = gaussianSamples(rng, 60, [0, 0, 0], [1, 1, 1]);
    const gen = gaussianSamples(rng, 60, [0.3, 0, 0], [1, 2, 1]);
    // a bootstrap resample: pair indices drawn with replacement
    const idx = Int32Array.from({ length: 60 }, () => rng.int(60));
    const want = kernelDistance(
      Array.from(idx, (i) => real[i]),
      Array.from(idx, (i) => gen[i]),
      { subsets: 7, seed: 11 },
    );
    const [xx, yy, xy] = [polyKernelGram(real, real), polyKernelGram(gen, gen), polyKernelGram(real, gen)];
    const at =
      (g: typeof xx): Kernel =>
      (i, j) =>
        g.data[idx[i] * g.cols + idx[j]];
    const got = kernelDistanceOf(
      idx.length,
      idx.length,
      { xx: at(xx), yy: at(yy), xy: at(xy) },
      { subsets: 7, seed: 11 },
    );
    expect(got.mean).toBe(want.mean);
    expect(got.std).toBe(want.std);
    expect(want.mean).toBeGreaterThan(0.01);
    expect(
      polyKernelGram(
        [[1, 2]],
        [
          [3, 4],
          [0, 1],
        ],
      ).data,
    ).toEqual(Float64Array.from([(5.5 + 1) ** 3, 2 ** 3]));
  });
});

describe("KL and Inception score", () => {
  it("KL: 0 for identical, closed form for two classes, direction selectable", () => {
    const p = [
      [0.5, 0.5],
      [0.2, 0.8],
    ];
    expect(meanKL(p, p)).toBeCloseTo(0, 14);
    const kl = 0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.1);
    expect(meanKL([[0.5, 0.5]], [[0.9, 0.1]])).toBeCloseTo(kl, 12);
    const rev = 0.9 * Math.log(0.9 / 0.5) + 0.1 * Math.log(0.1 / 0.5);
    expect(meanKL([[0.5, 0.5]], [[0.9, 0.1]], { direction: "gen||real" })).toBeCloseTo(rev, 12);
    expect(() => meanKL([[0.5, 0.6]], [[0.5, 0.5]])).toThrow(/sums to/);
  });

  it("IS of one-hot predictions spread uniformly over C classes is C; of identical predictions is 1", () => {
    const C = 7;
    const onehot = Array.from({ length: C * 10 }, (_, i) =>
      Array.from({ length: C }, (_, j) => (j === i % C ? 1 : 0)),
    );
    const is = inceptionScore(onehot, { splits: 10 });
    expect(is.mean).toBeCloseTo(C, 10);
    expect(is.std).toBeCloseTo(0, 10);
    const same = Array.from({ length: 20 }, () => [0.2, 0.3, 0.5]);
    expect(inceptionScore(same, { splits: 2, shuffle: true }).mean).toBeCloseTo(1, 12);
  });
});

describe("softmax", () => {
  it("turns logits into probabilities that IS/KL accept", () => {
    const p = softmax([
      [0, 0],
      [Math.log(3), 0],
    ]);
    [0.5, 0.5, 0.75, 0.25].forEach((v, i) => {
      expect(p.data[i]).toBeCloseTo(v, 14);
    });
    expect(inceptionScore(p, { splits: 1 }).mean).toBeGreaterThan(1);
  });
});
