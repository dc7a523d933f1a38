/** Composite activations in Ops primitives (tinygrad-style: every executor inherits them). */
import type { Ops } from "../ops/ops.js";

/** x · σ(x) (torch SiLU / swish). */
export function silu<T>(ops: Ops<T>, x: T): T {
  return ops.mul(x, ops.sigmoid(x));
}

/** Exact GELU: 0.5 x (1 + erf(x / √2)) (torch `nn.GELU()` default, transformers "gelu"). */
export function gelu<T>(ops: Ops<T>, x: T): T {
  return ops.mul(ops.mul(x, 0.5), ops.add(ops.erf(ops.mul(x, Math.SQRT1_2)), 1));
}

/** tanh-approximated GELU (transformers "gelu_new" / torch approximate="tanh"). */
export function geluTanh<T>(ops: Ops<T>, x: T): T {
  const c = Math.sqrt(2 / Math.PI);
  const inner = ops.mul(ops.add(x, ops.mul(ops.pow(x, 3), 0.044715)), c);
  return ops.mul(ops.mul(x, 0.5), ops.add(ops.tanh(inner), 1));
}

/** x · σ(1.702 x) (OpenAI CLIP "quick_gelu"). */
export function quickGelu<T>(ops: Ops<T>, x: T): T {
  return ops.mul(x, ops.sigmoid(ops.mul(x, 1.702)));
}

export type ActivationName = "silu" | "swish" | "gelu" | "gelu_new" | "quick_gelu" | "relu" | "tanh";

export function activation<T>(ops: Ops<T>, name: ActivationName, x: T): T {
  switch (name) {
    case "silu":
    case "swish":
      return silu(ops, x);
    case "gelu":
      return gelu(ops, x);
    case "gelu_new":
      return geluTanh(ops, x);
    case "quick_gelu":
      return quickGelu(ops, x);
    case "relu":
      return ops.relu(x);
    case "tanh":
      return ops.tanh(x);
  }
}

/** L2-normalise along `axis` like torch F.normalize (x / max(‖x‖, eps)). */
export function l2normalize<T>(ops: Ops<T>, x: T, axis = -1, eps = 1e-12): T {
  const n = ops.sqrt(ops.sum(ops.mul(x, x), axis, true));
  return ops.div(x, ops.maximum(n, eps));
}

/**
 * torch F.cosine_similarity(a, b, dim, eps=1e-8) as in torch 2.x (ATen Distance.cpp): each operand is divided
 * by its L2 norm clamped to eps, then the products are summed over `axis`.
 */
export function cosineSimilarity<T>(ops: Ops<T>, a: T, b: T, axis = -1, eps = 1e-8): T {
  const na = ops.maximum(ops.sqrt(ops.sum(ops.mul(a, a), axis, true)), eps);
  const nb = ops.maximum(ops.sqrt(ops.sum(ops.mul(b, b), axis, true)), eps);
  return ops.sum(ops.mul(ops.div(a, na), ops.div(b, nb)), axis);
}
