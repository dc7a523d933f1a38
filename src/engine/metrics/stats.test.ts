/** Confidence intervals, the seeded RNG and the ImageBind cosine scores. */
import { describe, expect, it } from "vitest";
import { bindScores, cosine, meanEmbedding, summarizeBindScores } from "./bind_scores.js";
import { bootstrapCI, quantileSorted, SeededRng, summarize } from "./stats.js";

describe("summaries and confidence intervals", () => {
  it("mean ± 1.96·sd/√n", () => {
    const s = summarize([1, 2, 3, 4]);
    const sd = Math.sqrt(5 / 3);
    expect(s.mean).toBe(2.5);
    expect(s.sd).toBeCloseTo(sd, 14);
    expect(s.ci95[0]).toBeCloseTo(2.5 - (1.96 * sd) / 2, 14);
    expect(s.ci95[1]).toBeCloseTo(2.5 + (1.96 * sd) / 2, 14);
    expect(summarize([3]).sd).toBeNaN();
  });

  it("numpy-style linear quantiles", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
  });

  it("bootstrap CI is seeded, brackets the mean, and is close to the normal CI for a large sample", () => {
    const rng = new SeededRng(1);
    const x = Array.from({ length: 400 }, () => rng.next());
    const a = bootstrapCI(x, { seed: 5 });
    expect(bootstrapCI(x, { seed: 5 })).toEqual(a);
    const s = summarize(x);
    expect(a[0]).toBeLessThan(s.mean);
    expect(a[1]).toBeGreaterThan(s.mean);
    expect(Math.abs(a[0] - s.ci95[0])).toBeLessThan(0.01);
    expect(Math.abs(a[1] - s.ci95[1])).toBeLessThan(0.01);
    expect(bootstrapCI([2, 2, 2], { resamples: 50 })).toEqual([2, 2]);
  });

  it("the RNG is deterministic and its permutations are permutations", () => {
    const a = new SeededRng(42).permutation(50);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new SeededRng(42).permutation(50)).toEqual(a);
  });
});

describe("ImageBind cosine scores", () => {
  it("cosine: parallel 1, orthogonal 0, opposite −1, scale-free", () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
    expect(cosine([1, 0], [0, 5])).toBe(0);
    expect(cosine([1, -1], [-3, 3])).toBeCloseTo(-1, 14);
    expect(cosine([3, 4], [4, 3])).toBeCloseTo(24 / 25, 14);
    expect(() => cosine([1], [1, 2])).toThrow(/same non-zero length/);
  });

  it("AV-/VT-/AT-align_bind pick the right pairs; clip pooling is a mean", () => {
    const audio = [1, 0, 0];
    const video = [1, 1, 0];
    const text = [0, 1, 0];
    const s = bindScores({ audio, video, text });
    expect(s.avAlignBind).toBeCloseTo(Math.SQRT1_2, 14);
    expect(s.vtAlignBind).toBeCloseTo(Math.SQRT1_2, 14);
    expect(s.atAlignBind).toBe(0);
    expect(bindScores({ audio, video })).toEqual({ avAlignBind: s.avAlignBind });
    expect([...meanEmbedding([1, 2, 3, 5], 2)]).toEqual([2, 3.5]);
  });

  it("batch summaries carry both CIs", () => {
    const batch = [
      { audio: [1, 0], video: [1, 0] },
      { audio: [1, 0], video: [0, 1] },
      { audio: [1, 1], video: [1, 0] },
    ];
    const s = summarizeBindScores(batch, { seed: 3, resamples: 500 });
    expect(s.avAlignBind?.n).toBe(3);
    expect(s.avAlignBind?.mean).toBeCloseTo((1 + 0 + Math.SQRT1_2) / 3, 14);
    expect(s.vtAlignBind).toBeUndefined();
    const b = s.avAlignBind?.bootstrap95 ?? [0, 0];
    expect(b[0]).toBeGreaterThanOrEqual(0);
    expect(b[1]).toBeLessThanOrEqual(1);
  });
});
