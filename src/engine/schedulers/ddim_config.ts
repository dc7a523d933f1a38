/**
 * The typed `scheduler_config.json` of a diffusers `DDIMScheduler` (keys verbatim, STYLE guideline 3), its
 * v0.21.1 defaults, and validation. Used by ddim.ts.
 */
import { ModelPackError, UnsupportedError } from "../errors.js";

export type BetaSchedule = "linear" | "scaled_linear" | "squaredcos_cap_v2";
export type PredictionType = "epsilon" | "v_prediction" | "sample";
export type TimestepSpacing = "leading" | "trailing" | "linspace";

/** `scheduler_config.json` of a diffusers `DDIMScheduler`; keys verbatim (STYLE guideline 3). */
export interface DDIMSchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  /** Overrides `beta_start`/`beta_end`/`beta_schedule` when given. */
  trained_betas: readonly number[] | null;
  /** Clamp x̂0 to ±`clip_sample_range` (diffusers default true; AudioLDM and AnimateDiff set false). */
  clip_sample: boolean;
  /** true: the last step's ᾱ_prev is 1; false: it is ᾱ_0 (SPEC §2.1). */
  set_alpha_to_one: boolean;
  /** Added to "leading" timesteps (SPEC §2.2: 1 for both backbones). */
  steps_offset: number;
  prediction_type: PredictionType;
  /** Dynamic thresholding (Imagen); not implemented here: `true` is rejected. */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  clip_sample_range: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  rescale_betas_zero_snr: boolean;
}

/** diffusers v0.21.1 `DDIMScheduler.__init__` defaults. */
export const DDIM_DEFAULTS: Readonly<DDIMSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: "leading",
  rescale_betas_zero_snr: false,
});

const KEYS = Object.keys(DDIM_DEFAULTS) as (keyof DDIMSchedulerConfig)[];
const ENUMS: Partial<Record<keyof DDIMSchedulerConfig, readonly string[]>> = {
  beta_schedule: ["linear", "scaled_linear", "squaredcos_cap_v2"],
  prediction_type: ["epsilon", "v_prediction", "sample"],
  timestep_spacing: ["leading", "trailing", "linspace"],
};

function badConfig(message: string, key: string): never {
  throw new ModelPackError(`DDIM scheduler config: ${message}`, { key });
}

/**
 * Validate a parsed `scheduler_config.json` (or a partial config) and fill in diffusers' defaults. Keys starting
 * with `_` (`_class_name`, `_diffusers_version`, `_use_default_values`) and keys of other schedulers (e.g. PNDM's
 * `skip_prk_steps`, common in SD configs) are ignored, as `DDIMScheduler.from_config` does.
 */
export function parseDDIMConfig(json: unknown): DDIMSchedulerConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    badConfig("expected a JSON object", "");
  const src = json as Record<string, unknown>;
  const out: Record<string, unknown> = { ...DDIM_DEFAULTS };
  for (const key of KEYS) {
    const v = src[key];
    if (v === undefined) continue;
    const def = DDIM_DEFAULTS[key];
    if (key === "trained_betas") {
      if (v !== null && !(Array.isArray(v) && v.every((b) => typeof b === "number" && Number.isFinite(b)))) {
        badConfig("trained_betas must be null or an array of numbers", key);
      }
      out[key] = v === null ? null : Object.freeze([...(v as number[])]);
    } else if (typeof v !== typeof def) {
      badConfig(`${key} must be a ${typeof def}, got ${JSON.stringify(v)}`, key);
    } else if (typeof v === "number" && !Number.isFinite(v)) {
      badConfig(`${key} must be finite, got ${v}`, key);
    } else {
      const allowed = ENUMS[key];
      if (allowed && !allowed.includes(v as string)) {
        badConfig(`${key} "${String(v)}" is not supported; use one of ${allowed.join(", ")}`, key);
      }
      out[key] = v;
    }
  }
  const cfg = out as unknown as DDIMSchedulerConfig;
  if (!Number.isInteger(cfg.num_train_timesteps) || cfg.num_train_timesteps < 1) {
    badConfig(
      `num_train_timesteps must be a positive integer, got ${cfg.num_train_timesteps}`,
      "num_train_timesteps",
    );
  }
  if (!Number.isInteger(cfg.steps_offset))
    badConfig(`steps_offset must be an integer, got ${cfg.steps_offset}`, "steps_offset");
  if (cfg.trained_betas && cfg.trained_betas.length !== cfg.num_train_timesteps) {
    badConfig(
      `trained_betas has ${cfg.trained_betas.length} entries but num_train_timesteps is ${cfg.num_train_timesteps}`,
      "trained_betas",
    );
  }
  if (cfg.thresholding) {
    throw new UnsupportedError(
      "DDIM scheduler config: thresholding=true (dynamic thresholding) is not implemented; it is meant for pixel-space models — set thresholding to false for latent diffusion.",
      { key: "thresholding" },
    );
  }
  return cfg;
}
