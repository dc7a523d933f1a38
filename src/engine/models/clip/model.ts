/**
 * `CLIPTextModel` (transformers models/clip/modeling_clip.py), SD 1.5's / AnimateDiff's text encoder, written once
 * against Ops. Field names are the checkpoint keys (`text_model.embeddings.token_embedding.weight`,
 * `text_model.encoder.layers.5.self_attn.q_proj.weight`, `text_model.final_layer_norm.bias`, …).
 *
 * Shapes (SD 1.5: hidden 768): input_ids [B, 77] int32 (or inputs_embeds [B, 77, hidden])
 *   → last_hidden_state [B, 77, hidden] (the UNet's cross-attention context), pooler_output [B, hidden].
 */
import { BadInputError } from "../../errors.js";
import { type ActivationName, activation } from "../../nn/activations.js";
import { Embedding, LayerNorm, Linear } from "../../nn/layers.js";
import { causalAttentionMask, extendedAttentionMask } from "../../nn/masks.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams, Param } from "../../ops/param.js";
import { supportedActivation } from "../hf_config.js";
import { type CLIPTextConfig, clipTextConfig } from "./config.js";

export interface CLIPTextInputs<T> {
  /** [B, L] int32 token ids, L ≤ max_position_embeddings. Required for `pooler_output`. */
  input_ids?: T;
  /** [B, L] 1 = token, 0 = padding. SD pipelines pass none (padded positions still attend causally). */
  attention_mask?: T;
  /** [B, L, hidden]: replaces `token_embedding(input_ids)` (before the position embeddings are added). */
  inputs_embeds?: T;
}

export interface CLIPTextOutputs<T> {
  last_hidden_state: T;
  /** Final-LayerNorm state at the EOS token [B, hidden]; null when no input_ids were given. */
  pooler_output: T | null;
}

/** [0, L, 2L, …] (memoised: executors cache constants by array identity). */
const rowOffsetCache = new Map<string, Int32Array>();
function rowOffsets(b: number, l: number): Int32Array {
  const key = `${b}x${l}`;
  let v = rowOffsetCache.get(key);
  if (!v) {
    v = Int32Array.from({ length: b }, (_, i) => i * l);
    rowOffsetCache.set(key, v);
  }
  return v;
}

export class CLIPTextEmbeddings {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;
  /**
   * `arange(max_position_embeddings)` [1, P], registered `persistent=False`: absent from current state dicts but
   * present in older checkpoints (SD 1.5's text_encoder), so optional with the same computed default.
   */
  readonly position_ids: Param;

  constructor(c: CLIPTextConfig) {
    this.token_embedding = new Embedding(c.vocab_size, c.hidden_size);
    this.position_embedding = new Embedding(c.max_position_embeddings, c.hidden_size);
    const p = c.max_position_embeddings;
    this.position_ids = new Param([1, p], {
      buffer: true,
      dtype: "int64",
      optional: true,
      init: () => Int32Array.from({ length: p }, (_, i) => i),
    });
  }

  /** token_embedding(ids) (or inputs_embeds) + position_embedding(position_ids[:, :L]). */
  forward<T>(ops: Ops<T>, inputs: CLIPTextInputs<T>): T {
    const ref = inputs.inputs_embeds ?? inputs.input_ids;
    if (!ref) throw new BadInputError("CLIP text encoder: pass input_ids or inputs_embeds");
    const l = ops.shape(ref)[1];
    const max = this.position_embedding.num_embeddings;
    if (l > max)
      throw new BadInputError(`CLIP text encoder: ${l} tokens exceed max_position_embeddings ${max}`);
    const tokens = inputs.inputs_embeds ?? this.token_embedding.forward(ops, inputs.input_ids!);
    const positions = ops.slice(ops.param(this.position_ids), 1, 0, l);
    return ops.add(tokens, this.position_embedding.forward(ops, positions));
  }
}

/** CLIPAttention (eager): softmax(q kᵀ · head_dim^−½ + causal + padding) v, then out_proj. */
class CLIPAttention {
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly q_proj: Linear;
  readonly out_proj: Linear;
  constructor(
    hidden: number,
    private readonly _heads: number,
  ) {
    this.k_proj = new Linear(hidden, hidden);
    this.v_proj = new Linear(hidden, hidden);
    this.q_proj = new Linear(hidden, hidden);
    this.out_proj = new Linear(hidden, hidden);
  }
  forward<T>(ops: Ops<T>, x: T, bias: T): T {
    const [b, l, d] = ops.shape(x);
    const h = this._heads;
    const heads = (t: T) => ops.transpose(ops.reshape(t, [b, l, h, d / h]), [0, 2, 1, 3]);
    // Upstream scales q before q·kᵀ; scaling the product is the same up to float rounding.
    const o = ops.attention(
      heads(this.q_proj.forward(ops, x)),
      heads(this.k_proj.forward(ops, x)),
      heads(this.v_proj.forward(ops, x)),
      { scale: (d / h) ** -0.5, bias },
    );
    return this.out_proj.forward(ops, ops.reshape(ops.transpose(o, [0, 2, 1, 3]), [b, l, d]));
  }
}

class CLIPMLP {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(
    c: CLIPTextConfig,
    private readonly _act: ActivationName,
  ) {
    this.fc1 = new Linear(c.hidden_size, c.intermediate_size);
    this.fc2 = new Linear(c.intermediate_size, c.hidden_size);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.fc2.forward(ops, activation(ops, this._act, this.fc1.forward(ops, x)));
  }
}

/** Pre-LN: x = x + attn(LN1(x)); x = x + mlp(LN2(x)). */
export class CLIPEncoderLayer {
  readonly self_attn: CLIPAttention;
  readonly layer_norm1: LayerNorm;
  readonly mlp: CLIPMLP;
  readonly layer_norm2: LayerNorm;
  constructor(c: CLIPTextConfig) {
    this.self_attn = new CLIPAttention(c.hidden_size, c.num_attention_heads);
    this.layer_norm1 = new LayerNorm(c.hidden_size, c.layer_norm_eps);
    this.mlp = new CLIPMLP(c, supportedActivation("CLIPTextConfig", "hidden_act", c.hidden_act));
    this.layer_norm2 = new LayerNorm(c.hidden_size, c.layer_norm_eps);
  }
  forward<T>(ops: Ops<T>, x: T, bias: T): T {
    const h = ops.add(x, this.self_attn.forward(ops, this.layer_norm1.forward(ops, x), bias));
    return ops.add(h, this.mlp.forward(ops, this.layer_norm2.forward(ops, h)));
  }
}

export class CLIPTextTransformer {
  readonly embeddings: CLIPTextEmbeddings;
  readonly encoder: { readonly layers: CLIPEncoderLayer[] };
  readonly final_layer_norm: LayerNorm;
  private readonly _eos: number;

  constructor(c: CLIPTextConfig) {
    this.embeddings = new CLIPTextEmbeddings(c);
    this.encoder = { layers: Array.from({ length: c.num_hidden_layers }, () => new CLIPEncoderLayer(c)) };
    this.final_layer_norm = new LayerNorm(c.hidden_size, c.layer_norm_eps);
    this._eos = c.eos_token_id;
  }

  forward<T>(ops: Ops<T>, inputs: CLIPTextInputs<T>): CLIPTextOutputs<T> {
    // 1. embeddings
    let x = this.embeddings.forward(ops, inputs);
    const [b, l, d] = ops.shape(x);
    // 2. causal mask, plus the expanded padding mask when one is given (both additive, finfo.min)
    let bias = causalAttentionMask(ops, l);
    if (inputs.attention_mask) bias = ops.add(bias, extendedAttentionMask(ops, inputs.attention_mask));
    // 3. encoder, final LayerNorm on every token
    for (const layer of this.encoder.layers) x = layer.forward(ops, x, bias);
    const last = this.final_layer_norm.forward(ops, x);
    // 4. pooling at the EOS position of each row
    if (!inputs.input_ids) return { last_hidden_state: last, pooler_output: null };
    const ids = ops.cast(inputs.input_ids, "float32");
    // eos_token_id == 2 (legacy configs): argmax(input_ids), the first of the highest ids (<|endoftext|>);
    // otherwise the first position where input_ids == eos_token_id.
    const key = this._eos === 2 ? ids : ops.add(ops.neg(ops.minimum(ops.abs(ops.sub(ids, this._eos)), 1)), 1);
    const pos = ops.argmax(key, -1); // [B] int32
    const rowStart = ops.constant(rowOffsets(b, l), [b]);
    const pooled = ops.gather(ops.reshape(last, [b * l, d]), ops.add(pos, rowStart), 0);
    return { last_hidden_state: last, pooler_output: pooled };
  }
}

export class CLIPTextModel {
  readonly text_model: CLIPTextTransformer;
  readonly config: CLIPTextConfig;

  constructor(config: Partial<CLIPTextConfig> | Readonly<Record<string, unknown>> = {}) {
    const c = clipTextConfig(config);
    this.config = c;
    this.text_model = new CLIPTextTransformer(c);
    nameParams(this);
  }

  forward<T>(ops: Ops<T>, inputs: CLIPTextInputs<T>): CLIPTextOutputs<T> {
    return this.text_model.forward(ops, inputs);
  }
}
