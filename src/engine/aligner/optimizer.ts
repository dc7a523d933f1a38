/**
 * Latent (and prompt-embedding) update rules of the aligner.
 *
 * "adam" reproduces the official V2A code (SPEC §3.5): a NEW torch.optim.Adam(lr) is built at every denoising
 * step and run for K iterations, so its moments start from zero each step; with K = 1 every element moves by
 * −lr·g/(|g| + eps) ≈ −lr·sign(g). "sgd" is the paper's formula ẑ = z − λ∇L (SPEC §9 D1). "adam-persistent"
 * keeps the moments across denoising steps (used for prompt tuning, SPEC §8 Q5).
 *
 * Arithmetic follows torch's Adam (single-tensor path): m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 * p ← p − (lr / (1−β1^k)) · m / (sqrt(v) / sqrt(1−β2^k) + eps), evaluated in float32.
 */

export type OptimizerKind = "adam" | "adam-persistent" | "sgd";

export interface OptimizerConfig {
  kind: OptimizerKind;
  /** Learning rate λ (Adam lr, or the plain gradient step size). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

const f = Math.fround;

export class AdamState {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;
  constructor(size: number) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }
}

/** One torch-Adam step on `param` in place. */
export function adamStep(
  param: Float32Array,
  grad: ArrayLike<number>,
  state: AdamState,
  cfg: OptimizerConfig,
): void {
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const eps = cfg.eps ?? 1e-8;
  state.step++;
  const bc1 = f(1 - b1 ** state.step);
  const bc2sqrt = f(Math.sqrt(f(1 - b2 ** state.step)));
  const stepSize = f(cfg.lr / bc1);
  const { m, v } = state;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = f(f(m[i] * b1) + f(g * (1 - b1)));
    v[i] = f(f(v[i] * b2) + f(f(g * g) * (1 - b2)));
    const denom = f(f(Math.sqrt(v[i]) / bc2sqrt) + eps);
    param[i] = f(param[i] - f(stepSize * f(m[i] / denom)));
  }
}

/** z ← z − lr·g in place. */
export function sgdStep(param: Float32Array, grad: ArrayLike<number>, lr: number): void {
  for (let i = 0; i < param.length; i++) param[i] = f(param[i] - f(lr * grad[i]));
}

/**
 * Runs the configured update for one denoising step. `persistent` carries Adam moments across steps (only
 * used with kind "adam-persistent"); fresh Adam ignores it, as the official code does.
 */
export class StepOptimizer {
  private state: AdamState | null = null;
  constructor(
    readonly cfg: OptimizerConfig,
    private readonly size: number,
  ) {
    if (!(cfg.lr >= 0) || !Number.isFinite(cfg.lr))
      throw new RangeError(`optimizer lr must be a finite number ≥ 0, got ${cfg.lr}`);
  }
  /** Start a denoising step (resets fresh-Adam state). */
  beginStep(): void {
    if (this.cfg.kind === "adam" || !this.state) this.state = new AdamState(this.size);
  }
  update(param: Float32Array, grad: ArrayLike<number>): void {
    if (this.cfg.kind === "sgd") sgdStep(param, grad, this.cfg.lr);
    else {
      if (!this.state) this.beginStep();
      adamStep(param, grad, this.state!, this.cfg);
    }
  }
}
