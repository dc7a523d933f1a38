/**
 * DDIM against the diffusers goldens (`ddim_audioldm`, `ddim_animatediff`, plus the schedule facts recorded in
 * `guidance_guided` / `guidance_warmup`). Configs, step counts, tolerances and the fake ε come from the fixture
 * JSON; no number is copied from a fixture into this file.
 */
import { describe, expect, it } from "vitest";
import { fakeEpsFrom } from "../../../test/parity/runners/preprocess.js";
import { type Fixture, hasGolden, loadFixture, relL2, tolerance } from "../../../test/support/golden.js";
import { BadInputError, UnsupportedError } from "../errors.js";
import { DDIMScheduler, isGuidedStep, parseDDIMConfig } from "./ddim.js";

interface DdimMeta {
  full_config: Record<string, unknown>;
  num_inference_steps: number;
  eta: number;
  fake_eps: string;
  timesteps_by_spacing: Record<string, number[]>;
}

function meta(fx: Fixture): DdimMeta {
  return fx.meta as unknown as DdimMeta;
}

function slice(all: Float32Array, i: number, n: number): Float32Array {
  return all.subarray(i * n, (i + 1) * n);
}

function bitEqualCount(a: Float32Array, b: Float32Array): number {
  let same = 0;
  for (let k = 0; k < a.length; k++) if (Object.is(a[k], b[k])) same++;
  return same;
}

const fixtures = ["ddim_audioldm", "ddim_animatediff"] as const;

describe.skipIf(!hasGolden())("DDIMScheduler vs diffusers goldens", () => {
  if (!hasGolden()) return; // the body reads fixtures while collecting
  for (const name of fixtures) {
    describe(name, () => {
      const fx = loadFixture(name);
      const m = meta(fx);
      const io = fx.io!;
      const steps = m.num_inference_steps;
      const make = () => {
        const s = DDIMScheduler.fromConfig(m.full_config);
        s.setTimesteps(steps);
        return s;
      };

      it("builds betas and alphas_cumprod as the float32 torch scheduler does", () => {
        const s = make();
        const tol = tolerance(fx, "out.alpha_prod_t");
        const refBetas = io.float("out.betas");
        const refCum = io.float("out.alphas_cumprod");
        expect(relL2(s.betas, refBetas).rel).toBeLessThanOrEqual(tol);
        expect(relL2(s.alphasCumprod, refCum).rel).toBeLessThanOrEqual(tol);
        // Bit-exact on the fixture machine (torch 1.13 CPU); reported, not required across CPUs.
        expect(bitEqualCount(s.alphasCumprod, refCum)).toBeGreaterThan(0);
      });

      it("sets the timesteps of every spacing", () => {
        expect(Array.from(make().timesteps)).toEqual(Array.from(io.get("out.timesteps")));
        for (const [spacing, expected] of Object.entries(m.timesteps_by_spacing)) {
          const s = DDIMScheduler.fromConfig({ ...m.full_config, timestep_spacing: spacing });
          s.setTimesteps(steps);
          expect(Array.from(s.timesteps), spacing).toEqual(expected);
        }
      });

      it("computes the Appendix B table (t, prev t, ᾱ_t, ᾱ_prev)", () => {
        const rows = make().scheduleTable();
        const ts = io.get("out.timesteps");
        expect(rows.map((r) => r.t)).toEqual(Array.from(ts));
        const T = m.full_config.num_train_timesteps as number;
        for (const r of rows) expect(r.prevT).toBe(r.t - Math.floor(T / steps));
        const aT = Float32Array.from(rows, (r) => r.alphaProdT);
        const aPrev = Float32Array.from(rows, (r) => r.alphaProdTPrev);
        expect(relL2(aT, io.float("out.alpha_prod_t")).rel).toBeLessThanOrEqual(
          tolerance(fx, "out.alpha_prod_t"),
        );
        expect(relL2(aPrev, io.float("out.alpha_prod_t_prev")).rel).toBeLessThanOrEqual(
          tolerance(fx, "out.alpha_prod_t_prev"),
        );
      });

      it("reproduces every step from the recorded (z_t, eps)", () => {
        const s = make();
        const ts = io.get("out.timesteps");
        const [zt, eps, x0, zPrev] = ["out.z_t", "out.eps", "out.x0", "out.z_prev"].map((k) => io.float(k));
        const n = zt.length / steps;
        const gotX0 = new Float32Array(x0.length);
        const gotPrev = new Float32Array(zPrev.length);
        for (let i = 0; i < steps; i++) {
          const out = s.step(slice(eps, i, n), ts[i], slice(zt, i, n), { eta: m.eta });
          gotX0.set(out.predOriginalSample, i * n);
          gotPrev.set(out.prevSample, i * n);
          const px0 = s.predictX0(slice(zt, i, n), slice(eps, i, n), ts[i]);
          expect(Array.from(px0)).toEqual(Array.from(out.predOriginalSample));
        }
        expect(relL2(gotX0, x0).rel).toBeLessThanOrEqual(tolerance(fx, "out.x0"));
        expect(relL2(gotPrev, zPrev).rel).toBeLessThanOrEqual(tolerance(fx, "out.z_prev"));
      });

      it("runs the whole loop with the fixture's fake model", () => {
        const s = make();
        const fakeEps = fakeEpsFrom(m.fake_eps);
        let z = io.float("in.z_T");
        const n = z.length;
        const rec = Object.fromEntries(
          ["z_t", "eps", "x0", "z_prev"].map((k) => [k, new Float32Array(n * steps)]),
        );
        Array.from(s.timesteps).forEach((t, i) => {
          const eps = fakeEps(z, t);
          const out = s.step(eps, t, z, { eta: m.eta });
          rec.z_t.set(z, i * n);
          rec.eps.set(eps, i * n);
          rec.x0.set(out.predOriginalSample, i * n);
          rec.z_prev.set(out.prevSample, i * n);
          z = out.prevSample;
        });
        for (const k of ["z_t", "eps", "x0", "z_prev"]) {
          const r = relL2(rec[k], io.float(`out.${k}`));
          expect(r.rel, `${k} worst |Δ| ${r.worst} at ${r.worstIndex}`).toBeLessThanOrEqual(
            tolerance(fx, `out.${k}`),
          );
        }
      });

      it("round-trips its config: JSON → scheduler → JSON → identical step", () => {
        const a = make();
        const json = JSON.parse(JSON.stringify(a.toJSON()));
        const b = DDIMScheduler.fromConfig(json);
        b.setTimesteps(steps);
        expect(b.toJSON()).toEqual(a.toJSON());
        for (const [k, v] of Object.entries(m.full_config))
          if (!k.startsWith("_")) expect(json[k], k).toEqual(v);
        const n = io.float("in.z_T").length;
        const ts = io.get("out.timesteps");
        for (const i of [0, steps - 1]) {
          const args = [slice(io.float("out.eps"), i, n), ts[i], slice(io.float("out.z_t"), i, n)] as const;
          const oa = a.step(...args);
          const ob = b.step(...args);
          expect(Array.from(ob.prevSample)).toEqual(Array.from(oa.prevSample));
          expect(Array.from(ob.predOriginalSample)).toEqual(Array.from(oa.predOriginalSample));
        }
      });
    });
  }

  for (const name of ["guidance_guided", "guidance_warmup"]) {
    it(`places the guided step of ${name} (i > int(N·warmup))`, () => {
      const gm = loadFixture(name).meta as unknown as {
        step_index_i: number;
        t: number;
        guided: boolean;
        configs: {
          scheduler: Record<string, unknown>;
          num_inference_steps: number;
          optimization_starting_point: number;
        };
      };
      const s = DDIMScheduler.fromConfig(gm.configs.scheduler);
      s.setTimesteps(gm.configs.num_inference_steps);
      expect(s.timesteps[gm.step_index_i]).toBe(gm.t);
      expect(
        isGuidedStep(gm.step_index_i, gm.configs.num_inference_steps, gm.configs.optimization_starting_point),
      ).toBe(gm.guided);
    });
  }
});

describe("DDIMScheduler contract", () => {
  const base = {
    beta_schedule: "scaled_linear",
    beta_start: 0.0015,
    beta_end: 0.0195,
    clip_sample: false,
  } as const;

  it("is frozen, and setTimesteps is the only mutator", () => {
    const s = new DDIMScheduler(base);
    expect(Object.isFrozen(s.config)).toBe(true);
    const cum = s.alphasCumprod;
    cum[0] = 42;
    expect(s.alphasCumprod[0]).not.toBe(42);
    expect(() => s.step(new Float32Array(2), 1, new Float32Array(2))).toThrow(/setTimesteps/);
    s.setTimesteps(10);
    expect(s.numInferenceSteps).toBe(10);
  });

  it("is pure: inputs are untouched and repeated calls agree", () => {
    const s = new DDIMScheduler(base);
    s.setTimesteps(10);
    const z = Float32Array.from({ length: 16 }, (_, k) => Math.sin(k));
    const e = Float32Array.from({ length: 16 }, (_, k) => Math.cos(k));
    const z0 = z.slice();
    const e0 = e.slice();
    const t = s.timesteps[3];
    const a = s.step(e, t, z);
    const b = s.step(e, t, z);
    expect(z).toEqual(z0);
    expect(e).toEqual(e0);
    expect(a).toEqual(b);
  });

  it("rejects what it cannot do, with actionable errors", () => {
    expect(() => new DDIMScheduler({ thresholding: true })).toThrow(UnsupportedError);
    expect(() => DDIMScheduler.fromConfig({ beta_schedule: "cosine" })).toThrow(/beta_schedule/);
    const s = new DDIMScheduler(base);
    expect(() => s.setTimesteps(1001)).toThrow(BadInputError);
    s.setTimesteps(10);
    const z = new Float32Array(4);
    expect(() => s.step(z, s.timesteps[0], z, { eta: 1 })).toThrow(/noise/);
    expect(() => s.step(new Float32Array(3), s.timesteps[0], z)).toThrow(BadInputError);
    expect(() => s.step(z, 1000, z)).toThrow(/timestep/);
    expect(() => s.step(z, 1.5, z)).toThrow(/timestep/);
  });

  it("ignores foreign and private keys of a scheduler_config.json", () => {
    const cfg = parseDDIMConfig({ _class_name: "PNDMScheduler", skip_prk_steps: true, steps_offset: 1 });
    expect(cfg.steps_offset).toBe(1);
    expect("skip_prk_steps" in cfg).toBe(false);
  });

  it("adds σ_t·noise when η > 0 (eq. 16) and nothing when η = 0", () => {
    const s = new DDIMScheduler(base);
    s.setTimesteps(10);
    const t = s.timesteps[4];
    const z = Float32Array.from({ length: 8 }, (_, k) => 0.3 * k - 1);
    const e = Float32Array.from({ length: 8 }, (_, k) => 0.1 * k);
    const zeros = new Float32Array(8);
    const noise = Float32Array.from({ length: 8 }, (_, k) => (k % 2 ? 1 : -1) * 0.5);
    expect(s.step(e, t, z, { noise })).toEqual(s.step(e, t, z));
    const a = s.step(e, t, z, { eta: 1, noise: zeros }).prevSample;
    const b = s.step(e, t, z, { eta: 1, noise }).prevSample;
    const aT = s.alphaProd(t);
    const aP = s.alphaProdPrev(t);
    const sigma = Math.sqrt(((1 - aP) / (1 - aT)) * (1 - aT / aP));
    for (let k = 0; k < 8; k++) expect(b[k] - a[k]).toBeCloseTo(sigma * noise[k], 5);
  });

  it("handles sample and v predictions and clipping", () => {
    const z = Float32Array.from([0.5, -2, 3, 0.25]);
    const x = Float32Array.from([0.2, -0.4, 0.9, 0.1]);
    const sample = new DDIMScheduler({ ...base, prediction_type: "sample" });
    sample.setTimesteps(10);
    expect(sample.step(x, 500, z).predOriginalSample).toEqual(x);
    // v = √ᾱ·ε − √(1−ᾱ)·x0 with z = √ᾱ·x0 + √(1−ᾱ)·ε recovers x0.
    const v = new DDIMScheduler({ ...base, prediction_type: "v_prediction" });
    v.setTimesteps(10);
    const a = v.alphaProd(500);
    const eps = Float32Array.from([0.3, 0.1, -0.7, 1.2]);
    const zz = x.map((xi, k) => Math.sqrt(a) * xi + Math.sqrt(1 - a) * eps[k]);
    const vv = x.map((xi, k) => Math.sqrt(a) * eps[k] - Math.sqrt(1 - a) * xi);
    const got = v.step(vv, 500, zz).predOriginalSample;
    for (let k = 0; k < 4; k++) expect(got[k]).toBeCloseTo(x[k], 5);
    const clipped = new DDIMScheduler({ ...base, clip_sample: true, clip_sample_range: 0.5 });
    clipped.setTimesteps(10);
    const out = clipped.step(Float32Array.from([5, -5, 0, 0]), 500, Float32Array.from([0, 0, 0.1, -0.1]));
    expect(Math.max(...out.predOriginalSample.map(Math.abs))).toBeLessThanOrEqual(0.5);
  });

  it("gives N leading/trailing/linspace timesteps, descending and in range, for every N", () => {
    for (const spacing of ["leading", "trailing", "linspace"] as const) {
      const s = new DDIMScheduler({
        ...base,
        timestep_spacing: spacing,
        steps_offset: spacing === "leading" ? 1 : 0,
      });
      for (let n = 1; n <= 1000; n += n < 50 ? 1 : 37) {
        s.setTimesteps(n);
        const ts = Array.from(s.timesteps);
        expect(ts.length).toBe(n);
        for (let i = 1; i < n; i++) expect(ts[i]).toBeLessThan(ts[i - 1]);
        expect(Math.min(...ts)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...ts)).toBeLessThan(1000);
      }
    }
  });

  it("supports squaredcos_cap_v2, trained_betas and zero-terminal-SNR rescaling", () => {
    const cos = new DDIMScheduler({ beta_schedule: "squaredcos_cap_v2" });
    expect(cos.betas.every((b) => b > 0 && b <= Math.fround(0.999))).toBe(true);
    const trained = new DDIMScheduler({ trained_betas: Array.from(cos.betas) });
    expect(trained.alphasCumprod).toEqual(cos.alphasCumprod);
    const zsnr = new DDIMScheduler({ ...base, rescale_betas_zero_snr: true });
    const cum = zsnr.alphasCumprod;
    expect(cum[cum.length - 1]).toBe(0);
    expect(cum[0]).toBeCloseTo(new DDIMScheduler(base).alphasCumprod[0], 6);
  });

  it("marks guided steps with Python int() truncation", () => {
    const guided = Array.from({ length: 30 }, (_, i) => isGuidedStep(i, 30, 0.2));
    expect(guided.indexOf(true)).toBe(Math.trunc(30 * 0.2) + 1);
  });
});
