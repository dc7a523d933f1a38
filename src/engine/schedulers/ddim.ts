/**
 * DDIM scheduler with diffusers `DDIMScheduler` semantics (v0.21.1, the version Seeing-and-Hearing pins; v0.26 is
 * identical for everything here). Written from diffusers' `schedulers/scheduling_ddim.py` and the DDIM paper
 * (Song et al. 2021, eq. (12) and (16)); SPEC §2.1–2.3, §7.1, STYLE guideline 7.
 *
 * - Constructed from a `scheduler_config.json`-shaped config (keys verbatim, diffusers defaults); the config is
 *   frozen and the derived constants (`betas`, `alphas_cumprod`, `final_alpha_cumprod`) are computed once.
 * - `setTimesteps(n)` is the only mutator. `step()` is pure: it draws no random numbers (η > 0 needs `noise`),
 *   never mutates its inputs and works on plain `Float32Array`s.
 * - Arithmetic is float32 wherever diffusers' tensors are float32: every operation is rounded with
 *   `Math.fround`, one tensor op at a time, so a step matches torch's CPU result to the last bit in practice.
 *
 * Notation (DDIM paper ↔ diffusers ↔ here): ᾱ_t = alpha_prod_t, ᾱ_{t−Δ} = alpha_prod_t_prev,
 * x̂0 = pred_original_sample, σ_t = std_dev_t, ε̂ = pred_epsilon, "direction pointing to x_t" = pred_sample_direction.
 */

import { BadInputError } from "../errors.js";
import { type DDIMSchedulerConfig, parseDDIMConfig } from "./ddim_config.js";
import { numpyArange, numpyLinspace, roundHalfEven, torchCumprodF32, torchLinspaceF32 } from "./torch_f32.js";

const f32 = Math.fround;

export {
  type BetaSchedule,
  DDIM_DEFAULTS,
  type DDIMSchedulerConfig,
  type PredictionType,
  parseDDIMConfig,
  type TimestepSpacing,
} from "./ddim_config.js";

export interface DDIMStepOptions {
  /** η of DDIM eq. (16); 0 (the default) is deterministic DDIM. */
  eta?: number;
  /** Standard-normal noise, same length as the sample; required when η > 0 (the scheduler draws none). */
  noise?: Float32Array;
  /** diffusers `use_clipped_model_output`: recompute ε̂ from the clipped x̂0. */
  useClippedModelOutput?: boolean;
}

export interface DDIMStepOutput {
  /** z_{t−Δ}, the latent for the next step. */
  prevSample: Float32Array;
  /** x̂0 (diffusers `pred_original_sample`): the x0 preview and, per SPEC §3.4, a guidance input. */
  predOriginalSample: Float32Array;
}

/** One row of SPEC Appendix B.1/B.2, computed rather than copied. */
export interface DDIMScheduleRow {
  i: number;
  t: number;
  prevT: number;
  alphaProdT: number;
  /** ᾱ[prevT], or `final_alpha_cumprod` when prevT < 0. */
  alphaProdTPrev: number;
}

/** diffusers `betas_for_alpha_bar(n, max_beta=0.999, "cosine")`, computed in double then stored as float32. */
function squaredCosBetas(n: number): Float32Array {
  const alphaBar = (t: number) => Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999);
  return out;
}

/** diffusers `rescale_zero_terminal_snr` (Lin et al. 2023, Algorithm 1), float32 tensor ops. */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const n = betas.length;
  const sqrtBar = torchCumprodF32(betas.map((b) => f32(1 - b))).map((a) => f32(Math.sqrt(a)));
  const s0 = sqrtBar[0];
  const sT = sqrtBar[n - 1];
  const scale = f32(s0 / f32(s0 - sT));
  const bar = sqrtBar.map((v) => {
    const w = f32(f32(v - sT) * scale);
    return f32(w * w);
  });
  const out = new Float32Array(n);
  out[0] = f32(1 - bar[0]);
  for (let i = 1; i < n; i++) out[i] = f32(1 - f32(bar[i] / bar[i - 1]));
  return out;
}

export class DDIMScheduler {
  readonly config: Readonly<DDIMSchedulerConfig>;
  /** x_T ~ N(0, σ²) with σ = 1 for DDIM (SPEC §2.1); `scaleModelInput` is the identity. */
  readonly initNoiseSigma = 1;
  /** ᾱ_prev of the last step: 1 if `set_alpha_to_one`, else ᾱ_0 (SPEC §2.1 quirk). */
  readonly finalAlphaCumprod: number;
  readonly #betas: Float32Array;
  readonly #alphasCumprod: Float32Array;
  // setable values (diffusers: `num_inference_steps`, `timesteps`), changed only by setTimesteps().
  #numInferenceSteps: number | null = null;
  #timesteps: Int32Array;

  constructor(config: Partial<DDIMSchedulerConfig> = {}) {
    const cfg = parseDDIMConfig(config);
    this.config = Object.freeze(cfg);
    const n = cfg.num_train_timesteps;
    let betas: Float32Array;
    if (cfg.trained_betas) betas = Float32Array.from(cfg.trained_betas);
    else if (cfg.beta_schedule === "linear") betas = torchLinspaceF32(cfg.beta_start, cfg.beta_end, n);
    else if (cfg.beta_schedule === "scaled_linear") {
      // β = linspace(√β_start, √β_end)² in float32 (SPEC §2.1); Python computes the square roots in double.
      betas = torchLinspaceF32(Math.sqrt(cfg.beta_start), Math.sqrt(cfg.beta_end), n).map((b) => f32(b * b));
    } else betas = squaredCosBetas(n);
    if (cfg.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.#betas = betas;
    this.#alphasCumprod = torchCumprodF32(betas.map((b) => f32(1 - b)));
    this.finalAlphaCumprod = cfg.set_alpha_to_one ? 1 : this.#alphasCumprod[0];
    // Before setTimesteps, diffusers holds all training timesteps in descending order.
    this.#timesteps = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  /** Build from a parsed `scheduler_config.json` (validated; unknown keys ignored). */
  static fromConfig(json: unknown): DDIMScheduler {
    return new DDIMScheduler(parseDDIMConfig(json));
  }

  /** The full config, diffusers-style (every key, defaults filled): `fromConfig(s.toJSON())` is equivalent to `s`. */
  toJSON(): DDIMSchedulerConfig {
    const c = this.config;
    return { ...c, trained_betas: c.trained_betas ? [...c.trained_betas] : null };
  }

  /** β_t, float32 (a copy). */
  get betas(): Float32Array {
    return this.#betas.slice();
  }

  /** ᾱ_t = Π_{s≤t}(1 − β_s), float32 (a copy; use `alphaProd(t)` in loops). */
  get alphasCumprod(): Float32Array {
    return this.#alphasCumprod.slice();
  }

  get numInferenceSteps(): number | null {
    return this.#numInferenceSteps;
  }

  /** The inference timesteps, descending (a copy). */
  get timesteps(): Int32Array {
    return this.#timesteps.slice();
  }

  /** ᾱ_t for an integer training timestep t. */
  alphaProd(t: number): number {
    this.#checkTimestep(t);
    return this.#alphasCumprod[t];
  }

  /**
   * Set the inference timesteps (diffusers `set_timesteps`, SPEC §2.2). "leading": `(arange(n) * (T // n))`
   * reversed, plus `steps_offset`; "trailing": `round(arange(T, 0, −T/n)) − 1`; "linspace":
   * `round(linspace(0, T − 1, n))` reversed. Rounding is NumPy's half-to-even.
   */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.num_train_timesteps;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
      throw new BadInputError(`num_inference_steps must be a positive integer, got ${numInferenceSteps}.`, {
        num_inference_steps: numInferenceSteps,
      });
    }
    if (numInferenceSteps > T) {
      throw new BadInputError(
        `num_inference_steps ${numInferenceSteps} cannot be larger than num_train_timesteps ${T}: the model was trained on ${T} timesteps only.`,
        { num_inference_steps: numInferenceSteps, num_train_timesteps: T },
      );
    }
    const n = numInferenceSteps;
    let ts: number[];
    switch (this.config.timestep_spacing) {
      case "leading": {
        const stepRatio = Math.floor(T / n);
        ts = Array.from({ length: n }, (_, i) => (n - 1 - i) * stepRatio + this.config.steps_offset);
        break;
      }
      case "trailing":
        // Deviation: for some n (61, 103, 121, …, with T = 1000) the float `np.arange(T, 0, -T/n)` has n + 1
        // entries and diffusers ends the schedule with t = −1 (which torch indexes as ᾱ[999]). We keep the first
        // n entries, which are identical to diffusers'.
        ts = Array.from(numpyArange(T, 0, -(T / n)).subarray(0, n), (v) => roundHalfEven(v) - 1);
        break;
      case "linspace":
        ts = Array.from(numpyLinspace(0, T - 1, n), (v) => roundHalfEven(v)).reverse();
        break;
    }
    this.#numInferenceSteps = n;
    this.#timesteps = Int32Array.from(ts);
  }

  /**
   * diffusers' `prev_timestep = timestep − T // n`, whatever the spacing (a quirk kept on purpose: with
   * "trailing"/"linspace" it is not the next timestep in the list). Negative means "use final_alpha_cumprod".
   */
  prevTimestep(t: number): number {
    return t - Math.floor(this.config.num_train_timesteps / this.#requireSteps());
  }

  /** ᾱ_{prev_t}, or `finalAlphaCumprod` when prev_t < 0. */
  alphaProdPrev(t: number): number {
    const prev = this.prevTimestep(t);
    return prev >= 0 ? this.#alphasCumprod[prev] : this.finalAlphaCumprod;
  }

  /** SPEC Appendix B as data: one row per inference step. */
  scheduleTable(): DDIMScheduleRow[] {
    this.#requireSteps();
    return Array.from(this.#timesteps, (t, i) => ({
      i,
      t,
      prevT: this.prevTimestep(t),
      alphaProdT: this.alphaProd(t),
      alphaProdTPrev: this.alphaProdPrev(t),
    }));
  }

  /** diffusers `scale_model_input`: the identity for DDIM. */
  scaleModelInput(sample: Float32Array, _t?: number): Float32Array {
    return sample;
  }

  /**
   * x̂0 from an ε prediction at timestep t: `(z − √(1 − ᾱ_t)·ε) / √ᾱ_t` (DDIM eq. (12) "predicted x0", SPEC §2.3),
   * in float32. Always uses the ε formula, as the aligner does (SPEC §3.4/§7.2: ᾱ of the current t with the
   * post-step latent), whatever `prediction_type` is.
   */
  predictX0(sample: Float32Array, eps: Float32Array, t: number): Float32Array {
    checkSameLength(sample, eps, "eps");
    const a = this.alphaProd(t);
    const sqrtA = f32(Math.sqrt(a));
    const sqrtB = f32(Math.sqrt(f32(1 - a)));
    const out = new Float32Array(sample.length);
    for (let k = 0; k < out.length; k++) out[k] = f32(f32(sample[k] - f32(sqrtB * eps[k])) / sqrtA);
    return out;
  }

  /**
   * One reverse step z_t → z_{t−Δ} (diffusers `DDIMScheduler.step`; DDIM eq. (12), σ_t from eq. (16)).
   * Pure: returns new arrays, draws no noise.
   */
  step(
    modelOutput: Float32Array,
    timestep: number,
    sample: Float32Array,
    options: DDIMStepOptions = {},
  ): DDIMStepOutput {
    const n = this.#requireSteps();
    checkSameLength(sample, modelOutput, "model output");
    this.#checkTimestep(timestep);
    const eta = options.eta ?? 0;
    if (!(eta >= 0) || !Number.isFinite(eta))
      throw new BadInputError(`eta must be a finite number ≥ 0, got ${eta}.`, { eta });
    const noise = options.noise;
    if (eta > 0) {
      if (!noise) {
        throw new BadInputError(
          "eta > 0 needs `noise` (standard normal, same shape as the sample): the scheduler draws no random numbers.",
          { eta },
        );
      }
      checkSameLength(sample, noise, "noise");
    }
    const cfg = this.config;
    // 1. previous step value (t − Δ); diffusers uses T // n whatever the spacing.
    const prevT = timestep - Math.floor(cfg.num_train_timesteps / n);
    // 2. ᾱ_t, ᾱ_{t−Δ}, 1 − ᾱ_t (float32 0-d tensors in diffusers).
    const a = this.#alphasCumprod[timestep];
    const aPrev = prevT >= 0 ? this.#alphasCumprod[prevT] : this.finalAlphaCumprod;
    const b = f32(1 - a);
    const bPrev = f32(1 - aPrev);
    const sqrtA = f32(Math.sqrt(a));
    const sqrtB = f32(Math.sqrt(b));
    // 5. σ_t = η·√((1 − ᾱ_{t−Δ})/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_{t−Δ})) — DDIM eq. (16).
    const variance = f32(f32(bPrev / b) * f32(1 - f32(a / aPrev)));
    const std = f32(f32(eta) * f32(Math.sqrt(variance)));
    // 6. coefficient of the "direction pointing to x_t": √(1 − ᾱ_{t−Δ} − σ_t²) — DDIM eq. (12).
    const dirCoef = f32(Math.sqrt(f32(bPrev - f32(std * std))));
    const sqrtAPrev = f32(Math.sqrt(aPrev));
    const clip = cfg.clip_sample ? f32(cfg.clip_sample_range) : Number.POSITIVE_INFINITY;
    const len = sample.length;
    const x0 = new Float32Array(len);
    const prev = new Float32Array(len);
    for (let k = 0; k < len; k++) {
      const z = sample[k];
      const m = modelOutput[k];
      // 3. x̂0 and ε̂ from the model output — DDIM eq. (12) "predicted x0".
      let x: number;
      let e: number;
      if (cfg.prediction_type === "epsilon") {
        x = f32(f32(z - f32(sqrtB * m)) / sqrtA);
        e = m;
      } else if (cfg.prediction_type === "sample") {
        x = m;
        e = f32(f32(z - f32(sqrtA * x)) / sqrtB);
      } else {
        // v-prediction (Salimans & Ho 2022): x0 = √ᾱ·z − √(1−ᾱ)·v, ε = √ᾱ·v + √(1−ᾱ)·z.
        x = f32(f32(sqrtA * z) - f32(sqrtB * m));
        e = f32(f32(sqrtA * m) + f32(sqrtB * z));
      }
      // 4. clip x̂0 (thresholding is rejected at construction).
      if (x > clip) x = clip;
      else if (x < -clip) x = -clip;
      if (options.useClippedModelOutput) e = f32(f32(z - f32(sqrtA * x)) / sqrtB);
      // 7. z_{t−Δ} = √ᾱ_{t−Δ}·x̂0 + √(1 − ᾱ_{t−Δ} − σ_t²)·ε̂ (+ σ_t·noise when η > 0).
      let p = f32(f32(sqrtAPrev * x) + f32(dirCoef * e));
      if (eta > 0 && noise) p = f32(p + f32(std * noise[k]));
      x0[k] = x;
      prev[k] = p;
    }
    return { prevSample: prev, predOriginalSample: x0 };
  }

  #requireSteps(): number {
    if (this.#numInferenceSteps === null) {
      throw new BadInputError(
        "Number of inference steps is not set: call setTimesteps(n) after creating the DDIM scheduler.",
      );
    }
    return this.#numInferenceSteps;
  }

  #checkTimestep(t: number): void {
    const T = this.config.num_train_timesteps;
    if (!Number.isInteger(t) || t < 0 || t >= T) {
      throw new BadInputError(`timestep must be an integer in [0, ${T - 1}], got ${t}.`, { timestep: t });
    }
  }
}

/**
 * Whether the aligner runs after step i (SPEC §3.4/§7.2: `i > int(N · warmup)`, strict, with Python's `int()`
 * truncation; N = 30, warmup 0.2 → i = 7…29).
 */
export function isGuidedStep(i: number, numInferenceSteps: number, warmup = 0.2): boolean {
  return i > Math.trunc(numInferenceSteps * warmup);
}

function checkSameLength(sample: Float32Array, other: Float32Array, what: string): void {
  if (other.length !== sample.length) {
    throw new BadInputError(
      `${what} has ${other.length} elements but the sample has ${sample.length}; they must have the same shape.`,
      {
        expected: sample.length,
        got: other.length,
      },
    );
  }
}
