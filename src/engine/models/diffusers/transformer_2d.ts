/**
 * Transformer2DModel for continuous inputs (mirrors diffusers models/transformers/transformer_2d.py v0.26.3):
 * GroupNorm(eps 1e-6) → proj_in → BasicTransformerBlock × num_layers → proj_out → + residual.
 * `use_linear_projection` false (SD 1.5, AudioLDM): proj_in/proj_out are 1×1 Conv2d; true: Linear.
 */
import { type Conv, Conv2d, GroupNorm, Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { BasicTransformerBlock } from "./attention.js";

/**
 * A 1×1 convolution applied to tokens [B, L, C_in] → [B, L, C_out]: the same sum as the conv on [B, C, H, W],
 * without the layout round trip (one matmul against the [O, C, 1, 1] weight viewed as [O, C]).
 */
export function pointwiseConv<T>(ops: Ops<T>, conv: Conv, tokens: T): T {
  const [o, c] = conv.weight.shape;
  const wt = ops.transpose(ops.reshape(ops.param(conv.weight), [o, c]), [1, 0]); // [C, O]
  const y = ops.matmul(tokens, wt);
  return conv.bias ? ops.add(y, ops.param(conv.bias)) : y;
}

export interface Transformer2DOptions {
  num_attention_heads: number;
  attention_head_dim: number;
  in_channels: number;
  num_layers?: number;
  norm_num_groups?: number;
  cross_attention_dim?: number | null;
  use_linear_projection?: boolean;
  attention_bias?: boolean;
}

export class Transformer2DModel {
  readonly norm: GroupNorm;
  readonly proj_in: Conv | Linear;
  readonly transformer_blocks: BasicTransformerBlock[];
  readonly proj_out: Conv | Linear;

  constructor(o: Transformer2DOptions) {
    const inner = o.num_attention_heads * o.attention_head_dim;
    const c = o.in_channels;
    this.norm = new GroupNorm(o.norm_num_groups ?? 32, c, 1e-6);
    this.proj_in = o.use_linear_projection ? new Linear(c, inner) : Conv2d(c, inner, 1);
    this.transformer_blocks = Array.from(
      { length: o.num_layers ?? 1 },
      () =>
        new BasicTransformerBlock({
          dim: inner,
          num_attention_heads: o.num_attention_heads,
          attention_head_dim: o.attention_head_dim,
          cross_attention_dim: o.cross_attention_dim ?? null,
          attention_bias: o.attention_bias ?? false,
        }),
    );
    this.proj_out = o.use_linear_projection ? new Linear(inner, c) : Conv2d(inner, c, 1);
  }

  private project<T>(ops: Ops<T>, p: Conv | Linear, tokens: T): T {
    return p instanceof Linear ? p.forward(ops, tokens) : pointwiseConv(ops, p, tokens);
  }

  /** x [B, C, H, W], context [B, Lk, cross_attention_dim] or null → [B, C, H, W] */
  forward<T>(ops: Ops<T>, x: T, context: T | null): T {
    const shape = ops.shape(x);
    const [b, c] = shape;
    const normed = this.norm.forward(ops, x);
    let h = this.project(ops, this.proj_in, ops.transpose(ops.reshape(normed, [b, c, -1]), [0, 2, 1])); // [B, HW, inner]
    for (const blk of this.transformer_blocks) h = blk.forward(ops, h, context);
    h = this.project(ops, this.proj_out, h); // [B, HW, C]
    return ops.add(ops.reshape(ops.transpose(h, [0, 2, 1]), shape), x);
  }
}
