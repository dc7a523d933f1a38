/**
 * Request checks every task shares (diffusers `check_inputs`, STYLE.md 15): run before any model loads, each
 * message names the setting to change.
 */
import { BadInputError } from "../errors.js";
import type { AlignerCore } from "./guided_run.js";

export function bad(message: string): never {
  throw new BadInputError(message);
}

export function checkSampling(r: { steps: number; guidanceScale: number; seed: number }): void {
  if (!Number.isInteger(r.steps) || r.steps < 1 || r.steps > 1000)
    bad(`Steps must be an integer from 1 to 1000 (got ${r.steps}).`);
  checkGuidanceScale(r.guidanceScale);
  if (!Number.isSafeInteger(r.seed) || r.seed < 0)
    bad(`Seed must be a non-negative integer (got ${r.seed}).`);
}

export function checkGuidanceScale(w: number, what = "CFG scale"): void {
  if (!(w >= 0 && w <= 50)) bad(`${what} must be between 0 and 50 (got ${w}).`);
}

/** λ1, warm-up, K and λ2 of an enabled aligner; `what` prefixes the messages (e.g. "Video aligner"). */
export function checkAlignerCore(a: AlignerCore, what = "Aligner"): void {
  if (!a.enabled) return;
  if (!(a.lambda > 0 && a.lambda <= 10)) bad(`${what} λ must be in (0, 10] (got ${a.lambda}).`);
  if (!(a.warmup >= 0 && a.warmup < 1)) bad(`Warm-up must be in [0, 1) (got ${a.warmup}).`);
  if (!Number.isInteger(a.iterations) || a.iterations < 1 || a.iterations > 20)
    bad(`Inner iterations must be 1–20 (got ${a.iterations}).`);
  if (a.optimizer !== "adam" && a.optimizer !== "sgd")
    bad(`${what} optimizer must be "adam" or "sgd" (got "${String(a.optimizer)}").`);
  if (a.promptTuning.enabled && !(a.promptTuning.lambda > 0 && a.promptTuning.lambda <= 1))
    bad(`Prompt-tuning λ2 must be in (0, 1] (got ${a.promptTuning.lambda}).`);
}

/** Loss-term weights: each ≥ 0, and at least one term on. */
export function checkWeights(weights: Readonly<Record<string, number>>, active: readonly string[]): void {
  for (const [k, w] of Object.entries(weights))
    if (!(w >= 0 && Number.isFinite(w))) bad(`Loss-term weight "${k}" must be a number ≥ 0 (got ${w}).`);
  if (!active.some((k) => (weights[k] ?? 0) > 0))
    bad(
      `Every aligner loss term is switched off: give the ${active.join(" or ")} term a weight above 0, or turn the aligner off.`,
    );
}

export function checkLatent(latent: Float32Array | undefined): void {
  if (latent?.some((v) => !Number.isFinite(v))) bad("The initial latent contains non-finite values.");
}
