/**
 * tfjs-backend-wasm fast paths (used by `TfjsOps` when the active backend is "wasm").
 *
 * tfjs-backend-wasm's BatchMatMul runs XNNPACK's GEMM only for unbatched, untransposed operands; a transposed
 * operand takes its naive fallback loop. `linear` multiplies by a torch [out, in] weight, i.e. x·Wᵀ with
 * transposeB, so every Linear of a transformer ran ~10× below the GEMM rate (measured here: [229, 768]·[3072,
 * 768]ᵀ at 0.9 GFLOP/s vs 9 GFLOP/s untransposed) — 95% of the ImageBind audio tower's forward time on the
 * guidance path. `linearWasm` computes the same products as (W·xᵀ)ᵀ (two cheap activation transposes, no
 * second copy of W), and its input gradient dy·W is an untransposed product as well (custom gradient; the
 * weight is frozen, so no weight gradient is formed).
 */
import * as tf from "@tensorflow/tfjs-core";

/** y = x·Wᵀ for x [rows, in] and a frozen weight W [out, in], on XNNPACK's GEMM in value and gradient. */
export function linearWasm(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.tidy(() => tf.transpose(tf.matMul(w, tf.transpose(args[0] as tf.Tensor2D)))),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, w),
  }));
  return f(x) as tf.Tensor2D;
}
