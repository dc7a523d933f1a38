/**
 * UNet2DConditionModel (mirrors diffusers models/unets/unet_2d_condition.py v0.26.3), built from its config.json.
 * One class serves both configurations the studio needs (SPEC §5.1, §5.2):
 *  - AudioLDM: class_embed_type "simple_projection" (CLAP text_embeds [B, 512] as `class_labels`, a Linear with
 *    no activation), class_embeddings_concat (resnets see time ‖ class, 2·time_embed_dim), and
 *    encoder_hidden_states = None, so every "cross"-attention self-attends;
 *  - SD 1.5: cross-attention to CLIP text states [B, 77, 768].
 *
 * Shapes at the boundary: sample [B, in_channels, H, W], timestep [] | [1] | [B] (int32 or float32),
 * encoder_hidden_states [B, L, cross_attention_dim] | null, class_labels [B, projection_dim] | null
 * → ε [B, out_channels, H, W]. H, W need not be multiples of 2^(#upsamplers) (AudioLDM: T/4 = 250 frames).
 */
import { BadInputError } from "../../errors.js";
import { type ActivationName, activation } from "../../nn/activations.js";
import { type Conv, Conv2d, GroupNorm, Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams } from "../../ops/param.js";
import { TimestepEmbedding, Timesteps } from "./embeddings.js";
import type { TimeEmbeddingNorm } from "./resnet.js";
import {
  type BlockArgs,
  type BlockContext,
  DOWN_BLOCKS,
  type DownBlock,
  type DownBlockType,
  MID_BLOCKS,
  type MidBlock,
  type MidBlockType,
  UP_BLOCKS,
  type UpBlock,
  type UpBlockType,
} from "./unet_2d_blocks.js";
import {
  checkUNetConfig,
  type UNet2DConditionConfig,
  unet2DConditionConfig,
} from "./unet_2d_condition_config.js";

export type { UNet2DConditionConfig } from "./unet_2d_condition_config.js";

export interface UNet2DConditionInputs<T> {
  /** [B, L, cross_attention_dim]; null or absent: attentions self-attend (AudioLDM). */
  encoderHiddenStates?: T | null;
  /** [B, projection_class_embeddings_input_dim]; required when the config has a class embedding. */
  classLabels?: T | null;
}

const perBlock = <V>(v: V | readonly V[], n: number): V[] =>
  Array.isArray(v) ? [...(v as readonly V[])] : new Array<V>(n).fill(v as V);

export class UNet2DConditionModel {
  readonly conv_in: Conv;
  readonly time_proj: Timesteps;
  readonly time_embedding: TimestepEmbedding;
  /** simple_projection: Linear; projection: TimestepEmbedding; none: null. */
  readonly class_embedding: Linear | TimestepEmbedding | null;
  readonly down_blocks: DownBlock[];
  readonly mid_block: MidBlock | null;
  readonly up_blocks: UpBlock[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv;
  readonly config: Readonly<UNet2DConditionConfig>;
  /** Number of ×2 upsamplers (diffusers `num_upsamplers`). */
  readonly num_upsamplers: number;

  /** `source` names the pack or file in error messages. */
  constructor(config: Partial<UNet2DConditionConfig> = {}, source?: string) {
    const c = Object.freeze(unet2DConditionConfig(config));
    checkUNetConfig(c, source);
    this.config = c;
    const n = c.down_block_types.length;
    const boc = c.block_out_channels;
    const act = c.act_fn as ActivationName;
    const groups = c.norm_num_groups as number;

    // input
    this.conv_in = Conv2d(c.in_channels, boc[0], c.conv_in_kernel, { padding: (c.conv_in_kernel - 1) >> 1 });

    // time
    const timeEmbedDim = c.time_embedding_dim ?? boc[0] * 4;
    this.time_proj = new Timesteps(boc[0], c.flip_sin_to_cos, c.freq_shift);
    this.time_embedding = new TimestepEmbedding(
      boc[0],
      timeEmbedDim,
      act,
      null,
      c.timestep_post_act as ActivationName | null,
    );
    const projDim = c.projection_class_embeddings_input_dim as number;
    this.class_embedding =
      c.class_embed_type === "simple_projection"
        ? new Linear(projDim, timeEmbedDim)
        : c.class_embed_type === "projection"
          ? new TimestepEmbedding(projDim, timeEmbedDim)
          : null;
    // class_embeddings_concat: resnets see [time ‖ class], twice as wide
    const blocksTembDim = c.class_embeddings_concat ? 2 * timeEmbedDim : timeEmbedDim;

    // per-block values (diffusers normalises an int to a tuple)
    const heads = perBlock(c.attention_head_dim, n); // = num_attention_heads, see the config comment
    const xdim = perBlock(c.cross_attention_dim, n);
    const layers = perBlock(c.layers_per_block, n);
    const tlayers = perBlock<number | readonly number[]>(c.transformer_layers_per_block, n);
    const perLayer = (v: number | readonly number[], count: number) => perBlock<number>(v, count);
    const args = (i: number, o: Partial<BlockArgs>): BlockArgs => ({
      num_layers: layers[i],
      transformer_layers_per_block: perLayer(tlayers[i], layers[i]),
      in_channels: boc[i],
      out_channels: boc[i],
      prev_output_channel: boc[i],
      temb_channels: blocksTembDim,
      add_sample: i < n - 1,
      resnet_eps: c.norm_eps,
      resnet_act_fn: act,
      resnet_groups: groups,
      resnet_time_scale_shift: c.resnet_time_scale_shift as TimeEmbeddingNorm,
      cross_attention_dim: xdim[i],
      num_attention_heads: heads[i],
      downsample_padding: c.downsample_padding,
      use_linear_projection: c.use_linear_projection,
      output_scale_factor: 1,
      ...o,
    });

    // down
    this.down_blocks = c.down_block_types.map((t, i) =>
      DOWN_BLOCKS[t as DownBlockType](args(i, { in_channels: i === 0 ? boc[0] : boc[i - 1] })),
    );

    // mid
    this.mid_block =
      c.mid_block_type === null
        ? null
        : MID_BLOCKS[c.mid_block_type as MidBlockType](
            args(n - 1, {
              num_layers: 1,
              transformer_layers_per_block: perLayer(tlayers[n - 1], 1),
              output_scale_factor: c.mid_block_scale_factor,
            }),
          );

    // up (reversed channels; each up block has layers_per_block + 1 resnets)
    const r = (i: number) => n - 1 - i;
    const rtl = c.reverse_transformer_layers_per_block;
    this.up_blocks = c.up_block_types.map((t, i) =>
      UP_BLOCKS[t as UpBlockType](
        args(r(i), {
          num_layers: layers[r(i)] + 1,
          transformer_layers_per_block: perLayer(rtl ? rtl[i] : tlayers[r(i)], layers[r(i)] + 1),
          in_channels: boc[r(Math.min(i + 1, n - 1))],
          prev_output_channel: boc[r(Math.max(i - 1, 0))],
          add_sample: i < n - 1,
        }),
      ),
    );
    this.num_upsamplers = n - 1;

    // out
    this.conv_norm_out = new GroupNorm(groups, boc[0], c.norm_eps);
    this.conv_out = Conv2d(boc[0], c.out_channels, c.conv_out_kernel, {
      padding: (c.conv_out_kernel - 1) >> 1,
    });
    nameParams(this);
  }

  /** sample [B, C_in, H, W], timestep [] | [1] | [B] → ε [B, C_out, H, W] (diffusers `forward(...).sample`). */
  forward<T>(ops: Ops<T>, sample: T, timestep: T, inputs: UNet2DConditionInputs<T> = {}): T {
    const [b] = ops.shape(sample);
    const emb = this.embed(ops, timestep, b, inputs.classLabels ?? null);
    return this.denoise(ops, sample, {
      temb: emb,
      context: inputs.encoderHiddenStates ?? null,
      numFrames: 1,
    });
  }

  /** # 1. time (and class) embedding → [B, temb_channels of the blocks]. */
  embed<T>(ops: Ops<T>, timestep: T, batch: number, classLabels: T | null): T {
    const c = this.config;
    const ts = ops.shape(timestep);
    const n = ts.length === 0 ? 1 : ts[0];
    if (ts.length > 1 || (n !== 1 && n !== batch))
      throw new BadInputError(`UNet timestep must be a scalar, [1] or [${batch}], got [${ts}]`);
    let emb = this.time_embedding.forward(ops, this.time_proj.forward(ops, ops.reshape(timestep, [n])));
    if (n !== batch) emb = ops.broadcastTo(emb, [batch, ops.shape(emb)[1]]); // timesteps.expand(batch)
    if (this.class_embedding) {
      if (!classLabels)
        throw new BadInputError(`this UNet (class_embed_type "${c.class_embed_type}") needs class_labels`);
      const classEmb = this.class_embedding.forward(ops, classLabels);
      emb = c.class_embeddings_concat ? ops.concat([emb, classEmb], -1) : ops.add(emb, classEmb);
    }
    return c.time_embedding_act_fn ? activation(ops, c.time_embedding_act_fn as ActivationName, emb) : emb;
  }

  /** # 2.–6. conv_in → down → mid → up → out on [N, C_in, H, W] (frames, if any, folded into N). */
  denoise<T>(ops: Ops<T>, sample: T, ctx: BlockContext<T>): T {
    const c = this.config;
    const [, cin, h, w] = ops.shape(sample);
    if (cin !== c.in_channels)
      throw new BadInputError(`UNet input has ${cin} channels, the model expects ${c.in_channels}`);
    // diffusers forwards explicit upsample sizes when H or W is not a multiple of the overall factor
    const factor = 2 ** this.num_upsamplers;
    const forwardSize = h % factor !== 0 || w % factor !== 0;

    // 2. pre-process
    let x = c.center_input_sample ? ops.sub(ops.mul(sample, 2), 1) : sample;
    x = this.conv_in.forward(ops, x);

    // 3. down
    const skips: T[] = [x];
    for (const blk of this.down_blocks) {
      const o = blk.forward(ops, x, ctx);
      x = o.hidden;
      skips.push(...o.residuals);
    }

    // 4. mid
    if (this.mid_block) x = this.mid_block.forward(ops, x, ctx);

    // 5. up
    this.up_blocks.forEach((blk, i) => {
      const mine = skips.splice(skips.length - blk.resnets.length);
      const last = i === this.up_blocks.length - 1;
      const size =
        !last && forwardSize ? (ops.shape(skips[skips.length - 1]).slice(2) as [number, number]) : null;
      x = blk.forward(ops, x, mine, ctx, size);
    });

    // 6. post-process
    x = activation(ops, c.act_fn as ActivationName, this.conv_norm_out.forward(ops, x));
    return this.conv_out.forward(ops, x);
  }
}
