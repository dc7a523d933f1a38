/**
 * ImageBind alignment losses (SPEC §3.1, §3.4, §4.2): sums of weighted (1 − cos) between embeddings.
 * The official V2A loss is (1 − cos(e_text, e_audio)) + (1 − cos(e_vision, e_audio)); A2V swaps the roles;
 * joint generation uses the triangle of the three pairs. A weight of 0 switches a term off.
 */
import { cosineSimilarity } from "../nn/activations.js";
import type { Ops } from "../ops/ops.js";

export interface LossTerm<T> {
  /** A stable name for reporting, e.g. "text-audio". */
  name: string;
  a: T;
  b: T;
  weight: number;
}

export interface LossParts<T> {
  total: T;
  /** Per-term (1 − cos) before weighting, each [B]. */
  terms: Record<string, T>;
}

/** Σ w·(1 − cos(a, b)) summed over the batch (the official loss has batch 1, shape [1]). */
export function bindLoss<T>(ops: Ops<T>, terms: readonly LossTerm<T>[]): LossParts<T> {
  const active = terms.filter((t) => t.weight !== 0);
  if (active.length === 0)
    throw new RangeError("bindLoss: every loss term has weight 0 — enable at least one");
  const parts: Record<string, T> = {};
  let total: T | null = null;
  for (const t of active) {
    // F.cosine_similarity(a, b, dim=1, eps=1e-8)
    const d = ops.add(ops.neg(cosineSimilarity(ops, t.a, t.b, 1, 1e-8)), 1); // 1 − cos
    parts[t.name] = d;
    const w = t.weight === 1 ? d : ops.mul(d, t.weight);
    total = total === null ? w : ops.add(total, w);
  }
  return { total: ops.sum(total!, 0), terms: parts };
}
