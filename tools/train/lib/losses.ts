/**
 * Training losses written once against `Ops`, so the tfjs loop differentiates them with tfjs autodiff and the ORT
 * loop traces them into the training graph (forward + loss + backward in one ONNX model).
 */
import type { AutoencoderKL } from "../../../src/engine/models/diffusers/autoencoder_kl.js";
import type { Ops } from "../../../src/engine/ops/ops.js";

const allAxes = <T>(ops: Ops<T>, x: T) => ops.shape(x).map((_, i) => i);

/** Mean over every element (a scalar of shape []). */
export function meanAll<T>(ops: Ops<T>, x: T): T {
  return ops.mean(x, allAxes(ops, x), false);
}

/** mean |a − b| */
export function l1<T>(ops: Ops<T>, a: T, b: T): T {
  return meanAll(ops, ops.abs(ops.sub(a, b)));
}

/** mean (a − b)² */
export function mse<T>(ops: Ops<T>, a: T, b: T): T {
  const d = ops.sub(a, b);
  return meanAll(ops, ops.mul(d, d));
}

/** KL(N(μ, σ²) ‖ N(0, 1)) averaged over elements: ½·mean(μ² + e^logvar − logvar − 1). */
export function gaussianKl<T>(ops: Ops<T>, mean: T, logvar: T): T {
  const t = ops.sub(ops.add(ops.mul(mean, mean), ops.exp(logvar)), ops.add(logvar, 1));
  return ops.mul(meanAll(ops, t), 0.5);
}

/**
 * Symmetric InfoNCE between row-aligned embeddings a, b [B, D] at temperature τ: the mean of the cross-entropies
 * of the cosine-similarity logits / τ against the diagonal, rows and columns. The logits are bounded by 1/τ, so
 * the log-sum-exp needs no max shift.
 */
export function infoNce<T>(ops: Ops<T>, a: T, b: T, tau: number): T {
  const [n] = ops.shape(a);
  const unit = (x: T) => ops.div(x, ops.sqrt(ops.sum(ops.mul(x, x), -1, true)));
  const logits = ops.div(ops.matmul(unit(a), ops.transpose(unit(b), [1, 0])), tau);
  const eye = new Float32Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const diag = ops.sum(ops.mul(logits, ops.constant(eye, [n, n])), -1); // the matched pairs' logits [n]
  const ce = (axis: number) => meanAll(ops, ops.sub(ops.log(ops.sum(ops.exp(logits), axis)), diag)); // −log softmax at the diagonal
  return ops.mul(ops.add(ce(-1), ce(0)), 0.5);
}

/**
 * The VAE jobs' loss (audioldm-vae, sd-vae): L1 reconstruction through a reparameterised sample z = μ + σ·ε
 * (ε fed as an input, reshaped to the latent) plus `klWeight` · KL per element. With `pixelWeight` [B, 1, H, W]
 * the reconstruction term is the weighted mean of |x̂ − x| (sd-vae weights the pixels of objects up).
 */
export function vaeLoss<T>(
  vae: AutoencoderKL,
  ops: Ops<T>,
  x: T,
  eps: T,
  klWeight = 1e-3,
  pixelWeight?: T,
): { loss: T; parts: Record<string, T> } {
  const p = vae.encode(ops, x);
  const z = ops.add(p.mean, ops.mul(p.std, ops.reshape(eps, ops.shape(p.mean))));
  const err = ops.abs(ops.sub(vae.decode(ops, z), x));
  const rec = meanAll(ops, err);
  const kl = gaussianKl(ops, p.mean, p.logvar);
  if (pixelWeight === undefined) return { loss: ops.add(rec, ops.mul(kl, klWeight)), parts: { l1: rec, kl } };
  // per-pixel weights [B, 1, H, W] broadcast over channels: the reconstruction term is mean(w·|x̂ − x|)
  const weighted = meanAll(ops, ops.mul(err, pixelWeight));
  return { loss: ops.add(weighted, ops.mul(kl, klWeight)), parts: { l1: rec, l1w: weighted, kl } };
}

/** log softmax over the last axis, shifted by the row maximum (logits may be large). */
export function logSoftmax<T>(ops: Ops<T>, x: T): T {
  const s = ops.sub(x, ops.max(x, -1, true));
  return ops.sub(s, ops.log(ops.sum(ops.exp(s), -1, true)));
}

/** Cross-entropy against soft targets t [B, K] (rows summing to 1): mean over rows of −Σ t·log softmax. */
export function softCrossEntropy<T>(ops: Ops<T>, logits: T, t: T): T {
  return ops.neg(meanAll(ops, ops.sum(ops.mul(t, logSoftmax(ops, logits)), -1)));
}
