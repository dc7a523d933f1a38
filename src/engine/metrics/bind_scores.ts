/**
 * ImageBind alignment scores (SPEC §6.2): the cosine similarity of two modalities' ImageBind embeddings.
 *
 *   AV-align_bind = cos(e_audio, e_video)   VT-align_bind = cos(e_video, e_text)   AT-align_bind = cos(e_audio, e_text)
 *
 * The embeddings come from `ImageBindModel.embed(ops, modality, x)` on inputs preprocessed as SPEC §8 Q11
 * recommends (§3.6 video clips, §3.7 audio clips, 1-s clips). `embed` already averages per-clip embeddings over
 * clips (ImageBind's `reduce_list` mean); `meanEmbedding` does the same for embeddings kept per clip.
 */
import { BadInputError } from "../errors.js";
import { bootstrapCI, type Summary, summarize } from "./stats.js";

/** Cosine similarity in float64: a·b / (‖a‖‖b‖), with `eps` guarding zero vectors as torch's `cosine_similarity`. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-8): number {
  if (a.length !== b.length || a.length === 0) {
    throw new BadInputError(
      `Embeddings must have the same non-zero length (got ${a.length} and ${b.length}).`,
    );
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / (Math.max(Math.sqrt(na), eps) * Math.max(Math.sqrt(nb), eps));
}

/** Mean of `clips` row-major embeddings of length `dim` (clip pooling). */
export function meanEmbedding(rows: ArrayLike<number>, dim: number): Float64Array {
  if (dim <= 0 || rows.length % dim !== 0 || rows.length === 0) {
    throw new BadInputError(
      `Embedding buffer of ${rows.length} values is not a whole number of ${dim}-d rows.`,
    );
  }
  const n = rows.length / dim;
  const out = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) out[j] += rows[r * dim + j];
  for (let j = 0; j < dim; j++) out[j] /= n;
  return out;
}

/** One sample's pooled embeddings; any may be missing (a task without text, say). */
export interface BindEmbeddings {
  audio?: ArrayLike<number>;
  video?: ArrayLike<number>;
  text?: ArrayLike<number>;
}

export interface BindScores {
  avAlignBind?: number;
  vtAlignBind?: number;
  atAlignBind?: number;
}

/** AV-/VT-/AT-align_bind for one sample, for whichever pairs are present. */
export function bindScores(e: BindEmbeddings): BindScores {
  const out: BindScores = {};
  if (e.audio && e.video) out.avAlignBind = cosine(e.audio, e.video);
  if (e.video && e.text) out.vtAlignBind = cosine(e.video, e.text);
  if (e.audio && e.text) out.atAlignBind = cosine(e.audio, e.text);
  return out;
}

export interface ScoreSummary extends Summary {
  /** Percentile-bootstrap 95% CI of the mean (seeded). */
  bootstrap95: [number, number];
}

/** Mean ± normal 95% CI and a seeded bootstrap CI of each score over a batch of samples. */
export function summarizeBindScores(
  batch: readonly BindEmbeddings[],
  options: { resamples?: number; seed?: number } = {},
): Partial<Record<keyof BindScores, ScoreSummary>> {
  const per = batch.map(bindScores);
  const out: Partial<Record<keyof BindScores, ScoreSummary>> = {};
  for (const key of ["avAlignBind", "vtAlignBind", "atAlignBind"] as const) {
    const vals = per.map((s) => s[key]).filter((v): v is number => v !== undefined);
    if (vals.length === 0) continue;
    out[key] = { ...summarize(vals), bootstrap95: bootstrapCI(vals, options) };
  }
  return out;
}
