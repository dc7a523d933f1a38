/**
 * The UNet down / mid / up blocks (mirror diffusers models/unets/unet_2d_blocks.py v0.26.3: `DownBlock2D`,
 * `CrossAttnDownBlock2D`, `UNetMidBlock2DCrossAttn`, `UpBlock2D`, `CrossAttnUpBlock2D`, `get_down_block`,
 * `get_up_block`). Feature maps are [N, C, H, W].
 *
 * Temporal hook (AnimateDiff, diffusers unet_3d_blocks.py `*Motion` blocks): every block has a `motion_modules`
 * field, null for a plain UNet (no checkpoint keys). UNetMotionModel fills it, and each block then applies
 * `motion_modules[i]` right after its i-th spatial stage (resnet, or resnet + transformer; in the mid block after
 * each transformer, before the next resnet), with the frames folded into N. So the Motion blocks are these
 * blocks, with upstream's key names (`down_blocks.0.motion_modules.1.…`), and the UNet is not duplicated.
 */
import type { ActivationName } from "../../nn/activations.js";
import type { Ops } from "../../ops/ops.js";
import { Downsample2D, ResnetBlock2D, type TimeEmbeddingNorm, Upsample2D } from "./resnet.js";
import { Transformer2DModel } from "./transformer_2d.js";

/** A temporal layer applied to [N·F, C, H, W] (frames folded into the batch, frame-major within each item). */
export interface TemporalModule {
  forward<T>(ops: Ops<T>, x: T, numFrames: number): T;
}

/** Per-call inputs every block sees. */
export interface BlockContext<T> {
  /** Time (‖ class) embedding [N, temb_channels]. */
  temb: T;
  /** Cross-attention states [N, Lk, cross_attention_dim]; null: the "cross" attentions self-attend (AudioLDM). */
  context: T | null;
  /** Frames folded into N (1 for images). */
  numFrames: number;
}

/** The get_down_block / get_up_block arguments we use, named as upstream. */
export interface BlockArgs {
  num_layers: number;
  /** Per resnet layer. */
  transformer_layers_per_block: readonly number[];
  in_channels: number;
  out_channels: number;
  /** Up blocks only: channels coming from the previous up block. */
  prev_output_channel: number;
  temb_channels: number;
  add_sample: boolean;
  resnet_eps: number;
  resnet_act_fn: ActivationName;
  resnet_groups: number;
  resnet_time_scale_shift: TimeEmbeddingNorm;
  cross_attention_dim: number;
  /** diffusers' num_attention_heads (= the config's attention_head_dim, see unet_2d_condition.ts). */
  num_attention_heads: number;
  downsample_padding: number;
  use_linear_projection: boolean;
  /** Resnet output divisor (the mid block gets the config's mid_block_scale_factor; 1 elsewhere). */
  output_scale_factor: number;
}

function resnet(a: BlockArgs, cin: number, cout: number): ResnetBlock2D {
  return new ResnetBlock2D({
    in_channels: cin,
    out_channels: cout,
    temb_channels: a.temb_channels,
    eps: a.resnet_eps,
    groups: a.resnet_groups,
    time_embedding_norm: a.resnet_time_scale_shift,
    non_linearity: a.resnet_act_fn,
    output_scale_factor: a.output_scale_factor,
  });
}

function transformer(a: BlockArgs, channels: number, layers: number): Transformer2DModel {
  return new Transformer2DModel({
    num_attention_heads: a.num_attention_heads,
    attention_head_dim: Math.floor(channels / a.num_attention_heads),
    in_channels: channels,
    num_layers: layers,
    cross_attention_dim: a.cross_attention_dim,
    norm_num_groups: a.resnet_groups,
    use_linear_projection: a.use_linear_projection,
  });
}

function temporal<T>(ops: Ops<T>, mods: readonly TemporalModule[] | null, i: number, h: T, f: number): T {
  return mods ? mods[i].forward(ops, h, f) : h;
}

export interface DownBlockOutput<T> {
  hidden: T;
  /** Skip connections, in order (one per resnet, plus the downsampled state). */
  residuals: T[];
}

/** Mirrors diffusers `DownBlock2D` (and `DownBlockMotion` when motion_modules is set). */
export class DownBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly downsamplers: [Downsample2D] | null;
  motion_modules: TemporalModule[] | null = null;
  constructor(a: BlockArgs) {
    this.resnets = Array.from({ length: a.num_layers }, (_, i) =>
      resnet(a, i === 0 ? a.in_channels : a.out_channels, a.out_channels),
    );
    this.downsamplers = a.add_sample
      ? [new Downsample2D(a.out_channels, a.out_channels, a.downsample_padding)]
      : null;
  }
  forward<T>(ops: Ops<T>, x: T, ctx: BlockContext<T>): DownBlockOutput<T> {
    const residuals: T[] = [];
    let h = x;
    this.resnets.forEach((r, i) => {
      h = temporal(ops, this.motion_modules, i, r.forward(ops, h, ctx.temb), ctx.numFrames);
      residuals.push(h);
    });
    if (this.downsamplers) {
      h = this.downsamplers[0].forward(ops, h);
      residuals.push(h);
    }
    return { hidden: h, residuals };
  }
}

/** Mirrors diffusers `CrossAttnDownBlock2D` (and `CrossAttnDownBlockMotion`). */
export class CrossAttnDownBlock2D {
  readonly attentions: Transformer2DModel[];
  readonly resnets: ResnetBlock2D[];
  readonly downsamplers: [Downsample2D] | null;
  motion_modules: TemporalModule[] | null = null;
  constructor(a: BlockArgs) {
    this.resnets = [];
    this.attentions = [];
    for (let i = 0; i < a.num_layers; i++) {
      this.resnets.push(resnet(a, i === 0 ? a.in_channels : a.out_channels, a.out_channels));
      this.attentions.push(transformer(a, a.out_channels, a.transformer_layers_per_block[i]));
    }
    this.downsamplers = a.add_sample
      ? [new Downsample2D(a.out_channels, a.out_channels, a.downsample_padding)]
      : null;
  }
  forward<T>(ops: Ops<T>, x: T, ctx: BlockContext<T>): DownBlockOutput<T> {
    const residuals: T[] = [];
    let h = x;
    this.resnets.forEach((r, i) => {
      h = this.attentions[i].forward(ops, r.forward(ops, h, ctx.temb), ctx.context);
      h = temporal(ops, this.motion_modules, i, h, ctx.numFrames);
      residuals.push(h);
    });
    if (this.downsamplers) {
      h = this.downsamplers[0].forward(ops, h);
      residuals.push(h);
    }
    return { hidden: h, residuals };
  }
}

/** Mirrors diffusers `UNetMidBlock2DCrossAttn` (and `UNetMidBlockCrossAttnMotion`): resnet, (attn, resnet) × n. */
export class UNetMidBlock2DCrossAttn {
  readonly attentions: Transformer2DModel[];
  readonly resnets: ResnetBlock2D[];
  motion_modules: TemporalModule[] | null = null;
  constructor(a: BlockArgs) {
    const c = a.in_channels;
    this.resnets = [resnet(a, c, c)];
    this.attentions = [];
    for (let i = 0; i < a.num_layers; i++) {
      this.attentions.push(transformer(a, c, a.transformer_layers_per_block[i]));
      this.resnets.push(resnet(a, c, c));
    }
  }
  forward<T>(ops: Ops<T>, x: T, ctx: BlockContext<T>): T {
    let h = this.resnets[0].forward(ops, x, ctx.temb);
    this.attentions.forEach((attn, i) => {
      h = temporal(ops, this.motion_modules, i, attn.forward(ops, h, ctx.context), ctx.numFrames);
      h = this.resnets[i + 1].forward(ops, h, ctx.temb);
    });
    return h;
  }
}

/** Spatial size the up block's upsampler must produce (diffusers `upsample_size`), or null for ×2. */
export type UpsampleSize = readonly [number, number] | null;

/** Mirrors diffusers `UpBlock2D` (and `UpBlockMotion`): pops one skip per resnet, concatenated on channels. */
export class UpBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly upsamplers: [Upsample2D] | null;
  motion_modules: TemporalModule[] | null = null;
  constructor(a: BlockArgs) {
    this.resnets = Array.from({ length: a.num_layers }, (_, i) => {
      const skip = i === a.num_layers - 1 ? a.in_channels : a.out_channels;
      const cin = i === 0 ? a.prev_output_channel : a.out_channels;
      return resnet(a, cin + skip, a.out_channels);
    });
    this.upsamplers = a.add_sample ? [new Upsample2D(a.out_channels, a.out_channels)] : null;
  }
  /** `skips` are this block's skip connections in push order; they are consumed from the end. */
  forward<T>(ops: Ops<T>, x: T, skips: readonly T[], ctx: BlockContext<T>, size: UpsampleSize): T {
    let h = x;
    this.resnets.forEach((r, i) => {
      h = ops.concat([h, skips[skips.length - 1 - i]], 1);
      h = temporal(ops, this.motion_modules, i, r.forward(ops, h, ctx.temb), ctx.numFrames);
    });
    return this.upsamplers ? this.upsamplers[0].forward(ops, h, size) : h;
  }
}

/** Mirrors diffusers `CrossAttnUpBlock2D` (and `CrossAttnUpBlockMotion`). */
export class CrossAttnUpBlock2D {
  readonly attentions: Transformer2DModel[];
  readonly resnets: ResnetBlock2D[];
  readonly upsamplers: [Upsample2D] | null;
  motion_modules: TemporalModule[] | null = null;
  constructor(a: BlockArgs) {
    this.resnets = [];
    this.attentions = [];
    for (let i = 0; i < a.num_layers; i++) {
      const skip = i === a.num_layers - 1 ? a.in_channels : a.out_channels;
      const cin = i === 0 ? a.prev_output_channel : a.out_channels;
      this.resnets.push(resnet(a, cin + skip, a.out_channels));
      this.attentions.push(transformer(a, a.out_channels, a.transformer_layers_per_block[i]));
    }
    this.upsamplers = a.add_sample ? [new Upsample2D(a.out_channels, a.out_channels)] : null;
  }
  forward<T>(ops: Ops<T>, x: T, skips: readonly T[], ctx: BlockContext<T>, size: UpsampleSize): T {
    let h = x;
    this.resnets.forEach((r, i) => {
      h = ops.concat([h, skips[skips.length - 1 - i]], 1);
      h = this.attentions[i].forward(ops, r.forward(ops, h, ctx.temb), ctx.context);
      h = temporal(ops, this.motion_modules, i, h, ctx.numFrames);
    });
    return this.upsamplers ? this.upsamplers[0].forward(ops, h, size) : h;
  }
}

export type DownBlock = DownBlock2D | CrossAttnDownBlock2D;
export type UpBlock = UpBlock2D | CrossAttnUpBlock2D;
export type MidBlock = UNetMidBlock2DCrossAttn;

/** get_down_block: only the types we support (STYLE.md 4); anything else is rejected by checkConfig. */
export const DOWN_BLOCKS = Object.freeze({
  DownBlock2D: (a: BlockArgs): DownBlock => new DownBlock2D(a),
  CrossAttnDownBlock2D: (a: BlockArgs): DownBlock => new CrossAttnDownBlock2D(a),
});
export const UP_BLOCKS = Object.freeze({
  UpBlock2D: (a: BlockArgs): UpBlock => new UpBlock2D(a),
  CrossAttnUpBlock2D: (a: BlockArgs): UpBlock => new CrossAttnUpBlock2D(a),
});
export const MID_BLOCKS = Object.freeze({
  UNetMidBlock2DCrossAttn: (a: BlockArgs): MidBlock => new UNetMidBlock2DCrossAttn(a),
});
export type DownBlockType = keyof typeof DOWN_BLOCKS;
export type UpBlockType = keyof typeof UP_BLOCKS;
export type MidBlockType = keyof typeof MID_BLOCKS;
