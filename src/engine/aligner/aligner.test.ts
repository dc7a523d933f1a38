import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { randn } from "../../../test/support/naive.js";
import { TfjsOps } from "../ops/tfjs.js";
import { guideLatent, officialX0 } from "./guidance.js";
import { bindLoss } from "./losses.js";
import { AdamState, adamStep, StepOptimizer } from "./optimizer.js";

describe("optimizer", () => {
  it("a fresh Adam step moves each element by −lr·g/(|g|+eps) (SPEC §3.5)", () => {
    const g = Float32Array.from([1e-3, -2, 5e-9, 0, -7e-12, 3]);
    const z = new Float32Array(6).fill(0.5);
    adamStep(z, g, new AdamState(6), { kind: "adam", lr: 0.1 });
    for (let i = 0; i < 6; i++) {
      const expected = 0.5 - (0.1 * g[i]) / (Math.abs(g[i]) + 1e-8);
      expect(z[i]).toBeCloseTo(expected, 6);
    }
  });

  it("K Adam iterations apply bias-corrected moments (independent float64 recomputation)", () => {
    const gs = [
      Float32Array.from([0.3, -0.2]),
      Float32Array.from([0.1, 0.4]),
      Float32Array.from([-0.5, 0.05]),
    ];
    const z = Float32Array.from([1, -1]);
    const st = new AdamState(2);
    for (const g of gs) adamStep(z, g, st, { kind: "adam", lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6 });
    const ref = [1, -1];
    const m = [0, 0];
    const v = [0, 0];
    gs.forEach((g, k) => {
      for (let i = 0; i < 2; i++) {
        m[i] = 0.8 * m[i] + 0.2 * g[i];
        v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
        const mh = m[i] / (1 - 0.8 ** (k + 1));
        const vh = v[i] / (1 - 0.99 ** (k + 1));
        ref[i] -= (0.05 * mh) / (Math.sqrt(vh) + 1e-6);
      }
    });
    expect(z[0]).toBeCloseTo(ref[0], 5);
    expect(z[1]).toBeCloseTo(ref[1], 5);
  });

  it("fresh Adam forgets between denoising steps; persistent Adam does not; sgd is z − lr·g", () => {
    const g = Float32Array.from([0.2]);
    const fresh = new StepOptimizer({ kind: "adam", lr: 0.1 }, 1);
    const pers = new StepOptimizer({ kind: "adam-persistent", lr: 0.1 }, 1);
    const a = Float32Array.from([0]);
    const b = Float32Array.from([0]);
    for (let s = 0; s < 2; s++) {
      fresh.beginStep();
      pers.beginStep();
      fresh.update(a, s === 0 ? g : Float32Array.from([-0.2]));
      pers.update(b, s === 0 ? g : Float32Array.from([-0.2]));
    }
    expect(a[0]).toBeCloseTo(0, 6); // −0.1 then +0.1
    expect(b[0]).toBeLessThan(-0.05); // second step's moments remember the first
    const c = Float32Array.from([1]);
    const sgd = new StepOptimizer({ kind: "sgd", lr: 0.5 }, 1);
    sgd.beginStep();
    sgd.update(c, Float32Array.from([0.4]));
    expect(c[0]).toBeCloseTo(0.8, 6);
  });
});

describe("guideLatent", () => {
  it("differentiates through x0 = (z − √(1−ᾱ)ε)/√ᾱ and a cosine loss (analytic gradient)", async () => {
    const ops = new TfjsOps();
    const n = 12;
    const z = randn(n, 1);
    const eps = randn(n, 2);
    const target = randn(n, 3);
    const ab = 0.3;
    const res = await guideLatent(
      { latent: z, shape: [1, n], eps, alphaBarT: ab },
      (x0) => bindLoss(ops, [{ name: "t", a: tf.tensor(target, [1, n]), b: x0, weight: 2 }]),
      new StepOptimizer({ kind: "sgd", lr: 0 }, n),
    );
    // analytic: L = 2(1 − cos(t, x)), x = (z − √(1−ab) e)/√ab; dL/dz = −2/√ab · (t/|t||x| − (t·x) x/(|t||x|³))
    const x = Array.from(z, (v, i) => (v - Math.sqrt(1 - ab) * eps[i]) / Math.sqrt(ab));
    const nt = Math.hypot(...target);
    const nx = Math.hypot(...x);
    const dot = x.reduce((s, v, i) => s + v * target[i], 0);
    for (let i = 0; i < n; i++) {
      const g = (-2 / Math.sqrt(ab)) * (target[i] / (nt * nx) - (dot * x[i]) / (nt * nx ** 3));
      expect(res.grad[i]).toBeCloseTo(g, 4);
    }
    expect(res.losses[0]).toBeCloseTo(2 * (1 - dot / (nt * nx)), 5);
    expect(res.terms.t).toBeCloseTo(1 - dot / (nt * nx), 5);
    expect([...res.latent]).toEqual([...z]); // lr 0
  });

  it("officialX0 uses ᾱ of the given step", () => {
    const z = tf.tensor([1, 2]);
    const e = tf.tensor([0.5, -0.5]);
    const x0 = officialX0(z, e, 0.25).dataSync();
    expect(x0[0]).toBeCloseTo((1 - Math.sqrt(0.75) * 0.5) / 0.5, 6);
    expect(x0[1]).toBeCloseTo((2 + Math.sqrt(0.75) * 0.5) / 0.5, 6);
  });

  it("rejects a loss with every term switched off", () => {
    const ops = new TfjsOps();
    expect(() => bindLoss(ops, [{ name: "x", a: tf.ones([1, 2]), b: tf.ones([1, 2]), weight: 0 }])).toThrow(
      /weight 0/,
    );
  });
});
