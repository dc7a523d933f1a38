/**
 * ImageBind scores of a result (SPEC §6.2): AT/AV/VT-align_bind are cosines between the embeddings of the
 * output and of the conditions; `alignmentLoss` is the aligner's objective Σ w·(1 − cos) evaluated on the
 * final output, so vanilla and guided runs are compared on exactly what the aligner optimises.
 */
import type { AlignTarget } from "../aligner/hook.js";
import { cosine } from "../metrics/bind_scores.js";

export interface EmbeddingSet {
  audio?: Float32Array | null;
  vision?: Float32Array | null;
  text?: Float32Array | null;
}

export function bindScoresOf(e: EmbeddingSet): Record<string, number> {
  const scores: Record<string, number> = {};
  if (e.audio && e.text) scores["AT-align_bind"] = cosine(e.audio, e.text);
  if (e.audio && e.vision) scores["AV-align_bind"] = cosine(e.audio, e.vision);
  if (e.vision && e.text) scores["VT-align_bind"] = cosine(e.vision, e.text);
  return scores;
}

/** Σ w·(1 − cos(target, generated)) over the aligner's targets. */
export function alignmentLoss(targets: readonly AlignTarget[], generated: Float32Array): number {
  return targets.reduce((s, t) => s + t.weight * (1 - cosine(t.embedding, generated)), 0);
}
