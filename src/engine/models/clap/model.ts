/**
 * `ClapTextModelWithProjection` (transformers models/clap/modeling_clap.py), the AudioLDM text encoder, written
 * once against Ops. Its text tower is RoBERTa (post-LN BERT layers, `Copied from …roberta…` upstream). Field
 * names are the checkpoint keys: `text_model.embeddings.word_embeddings.weight`,
 * `text_model.encoder.layer.3.attention.self.query.weight`, `text_projection.linear1.weight`, …
 *
 * Shapes (AudioLDM: hidden 768, projection 512):
 *   input_ids [B, L] int32 (or inputs_embeds [B, L, hidden]), attention_mask [B, L]
 *   → last_hidden_state [B, L, hidden], pooler_output [B, hidden], text_embeds [B, projection_dim] (NOT normalised)
 */
import { BadInputError } from "../../errors.js";
import { type ActivationName, activation, l2normalize } from "../../nn/activations.js";
import { Embedding, LayerNorm, Linear } from "../../nn/layers.js";
import { extendedAttentionMask } from "../../nn/masks.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams, Param } from "../../ops/param.js";
import { supportedActivation } from "../hf_config.js";
import { type ClapTextConfig, clapTextConfig } from "./config.js";

export interface ClapTextInputs<T> {
  /** [B, L] int32 token ids. Also what the padding-aware RoBERTa position ids are derived from. */
  input_ids?: T;
  /** [B, L] 1 for tokens, 0 for padding (int32 or float32). Default: attend everywhere. */
  attention_mask?: T;
  /**
   * [B, L, hidden]: used instead of `word_embeddings(input_ids)` (the prompt-tuning / gradient entry point).
   * With `input_ids` as well, the position ids still come from the ids, as when upstream's word embedding is
   * hooked; without them they are sequential (`create_position_ids_from_inputs_embeds`).
   */
  inputs_embeds?: T;
}

export interface ClapTextOutputs<T> {
  last_hidden_state: T;
  pooler_output: T;
  /** Projection of the pooled `<s>` token [B, projection_dim], as upstream returns it (not normalised). */
  text_embeds: T;
  /** `F.normalize(text_embeds, dim=-1)` (eps 1e-12): what AudioLDM feeds the UNet as `class_labels`. */
  text_embeds_normalized: T;
}

/** Upper-triangular ones [L, L]: (mask [B, L] @ U)[b, j] = Σ_{i ≤ j} mask[b, i], a cumsum as one matmul. */
const prefixSumCache = new Map<number, Float32Array>();
function prefixSumMatrix(l: number): Float32Array {
  let u = prefixSumCache.get(l);
  if (!u) {
    u = new Float32Array(l * l);
    for (let i = 0; i < l; i++) u.fill(1, i * l + i, (i + 1) * l);
    prefixSumCache.set(l, u);
  }
  return u;
}

/** `create_position_ids_from_inputs_embeds`: padding_idx + 1 … padding_idx + L (memoised per shape). */
const sequentialCache = new Map<string, Int32Array>();
function sequentialPositions(l: number, paddingIdx: number): Int32Array {
  const key = `${l}:${paddingIdx}`;
  let v = sequentialCache.get(key);
  if (!v) {
    v = Int32Array.from({ length: l }, (_, i) => i + paddingIdx + 1);
    sequentialCache.set(key, v);
  }
  return v;
}

/** ClapTextEmbeddings (= RobertaEmbeddings). */
export class ClapTextEmbeddings {
  /**
   * Persistent buffers of the module (`arange` and zeros, [1, max_position_embeddings]) that converted checkpoints
   * may or may not carry; optional with the same computed defaults. `position_ids` is never read: RoBERTa
   * derives positions from the ids.
   */
  readonly position_ids: Param;
  readonly token_type_ids: Param;
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  private readonly _padding_idx: number;

  constructor(c: ClapTextConfig) {
    const maxPos = c.max_position_embeddings;
    this.position_ids = new Param([1, maxPos], {
      buffer: true,
      dtype: "int64",
      optional: true,
      init: () => Int32Array.from({ length: maxPos }, (_, i) => i),
    });
    this.token_type_ids = new Param([1, maxPos], {
      buffer: true,
      dtype: "int64",
      optional: true,
      init: () => new Int32Array(maxPos),
    });
    this.word_embeddings = new Embedding(c.vocab_size, c.hidden_size);
    this.position_embeddings = new Embedding(c.max_position_embeddings, c.hidden_size);
    this.token_type_embeddings = new Embedding(c.type_vocab_size, c.hidden_size);
    this.LayerNorm = new LayerNorm(c.hidden_size, c.layer_norm_eps);
    this._padding_idx = c.pad_token_id;
  }

  /**
   * `create_position_ids_from_input_ids`: mask = ids ≠ padding_idx; positions = cumsum(mask)·mask + padding_idx,
   * so real tokens count from padding_idx + 1 and padding sits at padding_idx. Computed in float32 (exact for
   * L < 2^24) with a prefix-sum matmul, since Ops has no cumsum or comparison.
   */
  positionIdsFromInputIds<T>(ops: Ops<T>, inputIds: T): T {
    const l = ops.shape(inputIds)[1];
    const ids = ops.cast(inputIds, "float32");
    const notPad = ops.minimum(ops.abs(ops.sub(ids, this._padding_idx)), 1); // 1 for tokens, 0 for padding
    const cumsum = ops.matmul(notPad, ops.constant(prefixSumMatrix(l), [l, l]));
    return ops.cast(ops.add(ops.mul(cumsum, notPad), this._padding_idx), "int32");
  }

  forward<T>(ops: Ops<T>, inputs: ClapTextInputs<T>): T {
    const { input_ids: ids, inputs_embeds } = inputs;
    const ref = ids ?? inputs_embeds;
    if (!ref) throw new BadInputError("CLAP text encoder: pass input_ids or inputs_embeds");
    const l = ops.shape(ref)[1];
    const maxPos = this.position_embeddings.num_embeddings;
    if (l + this._padding_idx + 1 > maxPos)
      throw new BadInputError(
        `CLAP text encoder: ${l} tokens exceed max_position_embeddings ${maxPos} − padding_idx − 1; truncate the prompt`,
      );
    let positions: T;
    if (ids) positions = this.positionIdsFromInputIds(ops, ids);
    else positions = ops.constant(sequentialPositions(l, this._padding_idx), [1, l]);
    const words = inputs_embeds ?? this.word_embeddings.forward(ops, ids!);
    // token_type_ids default: the registered all-zero buffer, sliced to L and broadcast over the batch.
    const types = ops.slice(ops.param(this.token_type_ids), 1, 0, l);
    let x = ops.add(words, this.token_type_embeddings.forward(ops, types));
    x = ops.add(x, this.position_embeddings.forward(ops, positions));
    return this.LayerNorm.forward(ops, x);
  }
}

class ClapTextSelfAttention {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  constructor(
    hidden: number,
    private readonly _heads: number,
  ) {
    this.query = new Linear(hidden, hidden);
    this.key = new Linear(hidden, hidden);
    this.value = new Linear(hidden, hidden);
  }
  /** softmax(q kᵀ / √d_head + mask) v, heads merged back: [B, L, hidden]. */
  forward<T>(ops: Ops<T>, x: T, mask: T | null): T {
    const [b, l, d] = ops.shape(x);
    const h = this._heads;
    const heads = (t: T) => ops.transpose(ops.reshape(t, [b, l, h, d / h]), [0, 2, 1, 3]);
    const o = ops.attention(
      heads(this.query.forward(ops, x)),
      heads(this.key.forward(ops, x)),
      heads(this.value.forward(ops, x)),
      { scale: 1 / Math.sqrt(d / h), bias: mask ?? undefined },
    );
    return ops.reshape(ops.transpose(o, [0, 2, 1, 3]), [b, l, d]);
  }
}

/** ClapTextSelfOutput / ClapTextOutput: LayerNorm(dense(h) + residual) (post-LN). */
class DenseAddNorm {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(inF: number, hidden: number, eps: number) {
    this.dense = new Linear(inF, hidden);
    this.LayerNorm = new LayerNorm(hidden, eps);
  }
  forward<T>(ops: Ops<T>, h: T, residual: T): T {
    return this.LayerNorm.forward(ops, ops.add(this.dense.forward(ops, h), residual));
  }
}

class ClapTextAttention {
  readonly self: ClapTextSelfAttention;
  readonly output: DenseAddNorm;
  constructor(c: ClapTextConfig) {
    this.self = new ClapTextSelfAttention(c.hidden_size, c.num_attention_heads);
    this.output = new DenseAddNorm(c.hidden_size, c.hidden_size, c.layer_norm_eps);
  }
}

class ClapTextIntermediate {
  readonly dense: Linear;
  constructor(c: ClapTextConfig) {
    this.dense = new Linear(c.hidden_size, c.intermediate_size);
  }
}

/** ClapTextLayer: x = LN(x + attn(x)); x = LN(x + W2 act(W1 x)). */
export class ClapTextLayer {
  readonly attention: ClapTextAttention;
  readonly intermediate: ClapTextIntermediate;
  readonly output: DenseAddNorm;
  private readonly _act: ActivationName;
  constructor(c: ClapTextConfig) {
    this.attention = new ClapTextAttention(c);
    this.intermediate = new ClapTextIntermediate(c);
    this.output = new DenseAddNorm(c.intermediate_size, c.hidden_size, c.layer_norm_eps);
    this._act = supportedActivation("ClapTextConfig", "hidden_act", c.hidden_act);
  }
  forward<T>(ops: Ops<T>, x: T, mask: T | null): T {
    const a = this.attention.output.forward(ops, this.attention.self.forward(ops, x, mask), x);
    const i = activation(ops, this._act, this.intermediate.dense.forward(ops, a));
    return this.output.forward(ops, i, a);
  }
}

/** ClapTextPooler: tanh(dense(h[:, 0])), the `<s>` token. */
class ClapTextPooler {
  readonly dense: Linear;
  constructor(hidden: number) {
    this.dense = new Linear(hidden, hidden);
  }
  forward<T>(ops: Ops<T>, h: T): T {
    const [b, , d] = ops.shape(h);
    return ops.tanh(this.dense.forward(ops, ops.reshape(ops.slice(h, 1, 0, 1), [b, d])));
  }
}

export class ClapTextModel {
  readonly embeddings: ClapTextEmbeddings;
  readonly encoder: { readonly layer: ClapTextLayer[] };
  readonly pooler: ClapTextPooler;
  constructor(c: ClapTextConfig) {
    this.embeddings = new ClapTextEmbeddings(c);
    this.encoder = { layer: Array.from({ length: c.num_hidden_layers }, () => new ClapTextLayer(c)) };
    this.pooler = new ClapTextPooler(c.hidden_size);
  }
  forward<T>(ops: Ops<T>, inputs: ClapTextInputs<T>): { last_hidden_state: T; pooler_output: T } {
    let x = this.embeddings.forward(ops, inputs);
    // get_extended_attention_mask: (1 − mask)·finfo.min as [B, 1, 1, L]; no mask = attend everywhere.
    const mask = inputs.attention_mask ? extendedAttentionMask(ops, inputs.attention_mask) : null;
    for (const layer of this.encoder.layer) x = layer.forward(ops, x, mask);
    return { last_hidden_state: x, pooler_output: this.pooler.forward(ops, x) };
  }
}

/** ClapProjectionLayer: linear2(act(linear1(x))). */
export class ClapProjectionLayer {
  readonly linear1: Linear;
  readonly linear2: Linear;
  private readonly _act: ActivationName;
  constructor(hidden: number, projection: number, act: string) {
    this.linear1 = new Linear(hidden, projection);
    this.linear2 = new Linear(projection, projection);
    this._act = supportedActivation("ClapTextConfig", "projection_hidden_act", act);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.linear2.forward(ops, activation(ops, this._act, this.linear1.forward(ops, x)));
  }
}

export class ClapTextModelWithProjection {
  readonly text_model: ClapTextModel;
  readonly text_projection: ClapProjectionLayer;
  readonly config: ClapTextConfig;

  constructor(config: Partial<ClapTextConfig> | Readonly<Record<string, unknown>> = {}) {
    const c = clapTextConfig(config);
    this.config = c;
    this.text_model = new ClapTextModel(c);
    this.text_projection = new ClapProjectionLayer(c.hidden_size, c.projection_dim, c.projection_hidden_act);
    nameParams(this);
  }

  forward<T>(ops: Ops<T>, inputs: ClapTextInputs<T>): ClapTextOutputs<T> {
    const { last_hidden_state, pooler_output } = this.text_model.forward(ops, inputs);
    const text_embeds = this.text_projection.forward(ops, pooler_output);
    return {
      last_hidden_state,
      pooler_output,
      text_embeds,
      text_embeds_normalized: l2normalize(ops, text_embeds, -1, 1e-12),
    };
  }
}
