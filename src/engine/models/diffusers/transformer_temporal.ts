/**
 * TransformerTemporalModel as AnimateDiff's motion module (mirrors diffusers
 * models/transformers/transformer_temporal.py v0.26.3 with MotionModules' arguments: double self-attention over
 * frames, sinusoidal positional embedding, GEGLU, no cross-attention).
 *
 * Input [B·F, C, H, W] (frame-major within each item, as UNetMotionModel folds them): GroupNorm over
 * (C/G, F, H, W) per item → tokens [B·H·W, F, C] → proj_in → blocks → proj_out → back → + residual.
 */
import { Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { Param } from "../../ops/param.js";
import { BasicTransformerBlock } from "./attention.js";
import type { TemporalModule } from "./unet_2d_blocks.js";

export interface TransformerTemporalOptions {
  in_channels: number;
  num_attention_heads: number;
  attention_head_dim: number;
  norm_num_groups: number;
  num_layers?: number;
  /** MotionModules' max_seq_length (the `pos_embed.pe` table length). */
  num_positional_embeddings: number;
}

/** torch.nn.GroupNorm's parameters, applied by the temporal model to token-major data. */
class GroupNormParams {
  readonly weight: Param;
  readonly bias: Param;
  constructor(
    readonly num_groups: number,
    readonly num_channels: number,
    readonly eps: number,
  ) {
    if (num_channels % num_groups !== 0)
      throw new RangeError(`GroupNorm: ${num_channels} channels not divisible by ${num_groups} groups`);
    this.weight = new Param([num_channels]);
    this.bias = new Param([num_channels]);
  }
}

export class TransformerTemporalModel implements TemporalModule {
  readonly norm: GroupNormParams;
  readonly proj_in: Linear;
  readonly transformer_blocks: BasicTransformerBlock[];
  readonly proj_out: Linear;

  constructor(o: TransformerTemporalOptions) {
    const inner = o.num_attention_heads * o.attention_head_dim;
    this.norm = new GroupNormParams(o.norm_num_groups, o.in_channels, 1e-6);
    this.proj_in = new Linear(o.in_channels, inner);
    this.transformer_blocks = Array.from(
      { length: o.num_layers ?? 1 },
      () =>
        new BasicTransformerBlock({
          dim: inner,
          num_attention_heads: o.num_attention_heads,
          attention_head_dim: o.attention_head_dim,
          cross_attention_dim: null,
          activation_fn: "geglu",
          attention_bias: false,
          double_self_attention: true,
          positional_embeddings: "sinusoidal",
          num_positional_embeddings: o.num_positional_embeddings,
        }),
    );
    this.proj_out = new Linear(inner, o.in_channels);
  }

  /** x [B·F, C, H, W] → [B·F, C, H, W] */
  forward<T>(ops: Ops<T>, x: T, numFrames: number): T {
    const shape = ops.shape(x);
    const [bf, c, h, w] = shape;
    const f = numFrames;
    const b = bf / f;
    const hw = h * w;
    const g = this.norm.num_groups;
    // [B, F, C, HW] → tokens [B, HW, F, C]: one transpose. Upstream permutes to [B, C, F, H, W] for the
    // GroupNorm; the statistics per (item, group) are the same taken here over (HW·F, C/G).
    const t = ops.reshape(ops.transpose(ops.reshape(x, [b, f, c, hw]), [0, 3, 1, 2]), [b, hw * f, g, c / g]);
    const mu = ops.mean(t, [1, 3], true);
    const d = ops.sub(t, mu);
    const variance = ops.mean(ops.mul(d, d), [1, 3], true);
    let y = ops.div(d, ops.sqrt(ops.add(variance, this.norm.eps)));
    y = ops.reshape(y, [b * hw, f, c]);
    y = ops.add(ops.mul(y, ops.param(this.norm.weight)), ops.param(this.norm.bias));

    y = this.proj_in.forward(ops, y);
    for (const blk of this.transformer_blocks) y = blk.forward(ops, y, null);
    y = this.proj_out.forward(ops, y); // [B·HW, F, C]

    const back = ops.reshape(ops.transpose(ops.reshape(y, [b, hw, f, c]), [0, 2, 3, 1]), shape);
    return ops.add(back, x);
  }
}
