/**
 * ImageBind's transformer trunk (models/transformer.py + helpers.py), written against Ops.
 * Upstream runs torch.nn.MultiheadAttention with batch_first=False (it rearranges b l d → l b d and back);
 * the math is identical batch-first, which is what we compute.
 */
import { gelu } from "../../nn/activations.js";
import { LayerNorm, Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { Param } from "../../ops/param.js";

/** torch.nn.MultiheadAttention (packed in_proj, optional bias_k/bias_v), self-attention only. */
export class MultiheadAttention {
  readonly in_proj_weight: Param;
  readonly in_proj_bias: Param;
  readonly bias_k: Param | null;
  readonly bias_v: Param | null;
  readonly out_proj: Linear;
  constructor(
    readonly embed_dim: number,
    readonly num_heads: number,
    add_bias_kv: boolean,
  ) {
    this.in_proj_weight = new Param([3 * embed_dim, embed_dim]);
    this.in_proj_bias = new Param([3 * embed_dim]);
    this.bias_k = add_bias_kv ? new Param([1, 1, embed_dim]) : null;
    this.bias_v = add_bias_kv ? new Param([1, 1, embed_dim]) : null;
    this.out_proj = new Linear(embed_dim, embed_dim);
  }

  /** x [B, L, D]; mask: additive [L, L] (e.g. causal 0/−inf) or null. */
  forward<T>(ops: Ops<T>, x: T, mask: T | null): T {
    const [b, l, d] = ops.shape(x);
    const h = this.num_heads;
    const hd = d / h;
    // One packed projection [B, L, 3D] → [3, B, H, L, hd]: q, k, v are contiguous leading-axis slices.
    const qkv = ops.transpose(
      ops.reshape(ops.linear(x, this.in_proj_weight, this.in_proj_bias), [b, l, 3, h, hd]),
      [2, 0, 3, 1, 4],
    );
    const part = (i: number) => ops.reshape(ops.slice(qkv, 0, i, i + 1), [b, h, l, hd]);
    const q = part(0);
    let k = part(1);
    let v = part(2);
    let lk = l;
    let bias = mask;
    if (this.bias_k && this.bias_v) {
      // F.multi_head_attention_forward: append the learned bias token to k and v (after the projection),
      // and pad the mask with a zero column.
      const token = (p: Param) =>
        ops.broadcastTo(ops.transpose(ops.reshape(ops.param(p), [1, 1, h, hd]), [0, 2, 1, 3]), [b, h, 1, hd]);
      k = ops.concat([k, token(this.bias_k)], 2);
      v = ops.concat([v, token(this.bias_v)], 2);
      lk = l + 1;
      if (bias)
        bias = ops.pad(bias, [
          [0, 0],
          [0, 1],
        ]);
    }
    const o = ops.attention(q, k, v, {
      scale: 1 / Math.sqrt(hd),
      bias: bias ? ops.reshape(bias, [1, 1, l, lk]) : undefined,
    });
    return this.out_proj.forward(ops, ops.reshape(ops.transpose(o, [0, 2, 1, 3]), [b, l, d]));
  }
}

/** timm-style Mlp(fc1 → GELU → fc2) used by ImageBind blocks (mlp_ratio 4). */
export class Mlp {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, hidden: number) {
    this.fc1 = new Linear(dim, hidden);
    this.fc2 = new Linear(hidden, dim);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.fc2.forward(ops, gelu(ops, this.fc1.forward(ops, x)));
  }
}

/** BlockWithMasking (pre-norm, layer_scale off, drop-path inactive in eval). */
export class BlockWithMasking {
  readonly attn: MultiheadAttention;
  readonly norm_1: LayerNorm;
  readonly mlp: Mlp;
  readonly norm_2: LayerNorm;
  constructor(dim: number, heads: number, addBiasKv: boolean) {
    this.attn = new MultiheadAttention(dim, heads, addBiasKv);
    this.norm_1 = new LayerNorm(dim, 1e-6);
    this.mlp = new Mlp(dim, 4 * dim);
    this.norm_2 = new LayerNorm(dim, 1e-6);
  }
  forward<T>(ops: Ops<T>, x: T, mask: T | null): T {
    const y = ops.add(x, this.attn.forward(ops, this.norm_1.forward(ops, x), mask));
    return ops.add(y, this.mlp.forward(ops, this.norm_2.forward(ops, y)));
  }
}

/**
 * SimpleTransformer as built by `instantiate_trunk`: `pre_transformer_layer` is Sequential(LayerNorm or Identity,
 * Rearrange), so a vision trunk has the key `pre_transformer_layer.0.weight` and the others have none.
 */
export class SimpleTransformer {
  readonly pre_transformer_layer: readonly [LayerNorm] | null;
  readonly blocks: BlockWithMasking[];
  constructor(dim: number, numBlocks: number, heads: number, preTransformerLn: boolean, addBiasKv: boolean) {
    this.pre_transformer_layer = preTransformerLn ? [new LayerNorm(dim, 1e-6)] : null;
    this.blocks = Array.from({ length: numBlocks }, () => new BlockWithMasking(dim, heads, addBiasKv));
  }
  forward<T>(ops: Ops<T>, tokens: T, mask: T | null): T {
    let x = this.pre_transformer_layer ? this.pre_transformer_layer[0].forward(ops, tokens) : tokens;
    // blocks are checkpoints: the guidance backward recomputes them instead of keeping their activations
    for (const blk of this.blocks) x = ops.checkpoint((v) => blk.forward(ops, v, mask), x);
    return x;
  }
}
