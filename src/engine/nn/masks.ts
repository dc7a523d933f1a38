/**
 * Additive attention masks as transformers builds them (modeling_attn_mask_utils.py, modeling_utils.py
 * `get_extended_attention_mask`): 0 where attention is allowed, `torch.finfo(float32).min` where it is not, so
 * the masked logits underflow to exactly 0 after the softmax. Masks broadcast to [B, H, Lq, Lk].
 */
import type { Ops } from "../ops/ops.js";

/** `torch.finfo(torch.float32).min`. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * Padding mask [B, L] (1 = token, 0 = padding; int32 or float32) → additive [B, 1, 1, L]:
 * `(1.0 - mask) * finfo.min`.
 */
export function extendedAttentionMask<T>(ops: Ops<T>, mask: T): T {
  const [b, l] = ops.shape(mask);
  const m = ops.dtype(mask) === "float32" ? mask : ops.cast(mask, "float32");
  return ops.reshape(ops.mul(ops.add(ops.neg(m), 1), FLOAT32_MIN), [b, 1, 1, l]);
}

const causalCache = new Map<number, Float32Array>();

/** Causal mask [1, 1, L, L]: finfo.min strictly above the diagonal (`_create_4d_causal_attention_mask`). */
export function causalAttentionMask<T>(ops: Ops<T>, length: number): T {
  let data = causalCache.get(length);
  if (!data) {
    data = new Float32Array(length * length);
    for (let i = 0; i < length; i++) data.fill(FLOAT32_MIN, i * length + i + 1, (i + 1) * length);
    causalCache.set(length, data);
  }
  return ops.constant(data, [1, 1, length, length]);
}
