import { describe, expect, it } from "vitest";
import { CancelledError } from "../errors.js";
import { DDIMScheduler, isGuidedStep } from "../schedulers/ddim.js";
import { cfgCombine, denoise } from "./denoise.js";
import { randn } from "./noise.js";

const audioldm = {
  beta_start: 0.0015,
  beta_end: 0.0195,
  beta_schedule: "scaled_linear" as const,
  steps_offset: 1,
  set_alpha_to_one: false,
};

describe("randn", () => {
  it("is deterministic per seed and standard normal", () => {
    const a = randn(200001, 42);
    expect(randn(200001, 42)).toEqual(a);
    expect(randn(10, 43)).not.toEqual(a.subarray(0, 10));
    let m = 0;
    let v = 0;
    for (const x of a) m += x;
    m /= a.length;
    for (const x of a) v += (x - m) ** 2;
    v /= a.length;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
  });
});

describe("denoise", () => {
  it("equals hand-stepped DDIM without an aligner, and calls the aligner only on guided steps", async () => {
    const z0 = randn(16, 1);
    const model = async (z: Float32Array, t: number) => z.map((v) => Math.fround(v * 0.1 + t / 1000));
    const ref = new DDIMScheduler(audioldm);
    ref.setTimesteps(10);
    let z = z0;
    for (const t of ref.timesteps) z = ref.step(await model(z, t), t, z).prevSample;
    const out = await denoise({
      scheduler: new DDIMScheduler(audioldm),
      steps: 10,
      latent: z0,
      predictEps: model,
    });
    expect(out).toEqual(z);

    const calls: number[] = [];
    const reports: boolean[] = [];
    await denoise({
      scheduler: new DDIMScheduler(audioldm),
      steps: 10,
      latent: z0,
      predictEps: model,
      guided: (i) => isGuidedStep(i, 10, 0.2),
      align: async (ctx) => {
        calls.push(ctx.i);
        return { latent: ctx.latent, loss: 1, terms: {}, innerLosses: [1] };
      },
      onStep: (r) => reports.push(r.guided),
    });
    expect(calls).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(reports.filter(Boolean).length).toBe(7);
  });

  it("stops with CancelledError when the signal aborts", async () => {
    const ac = new AbortController();
    let steps = 0;
    const p = denoise({
      scheduler: new DDIMScheduler(audioldm),
      steps: 30,
      latent: randn(4, 1),
      predictEps: async (z) => {
        if (++steps === 3) ac.abort();
        return z;
      },
      signal: ac.signal,
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(steps).toBe(3);
  });

  it("cfgCombine is ε_u + w(ε_c − ε_u)", () => {
    expect([...cfgCombine(Float32Array.from([1, 2, 3, 6]), 2.5)]).toEqual([6, 12]);
  });
});
