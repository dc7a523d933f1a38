/**
 * The VAE's Encoder and Decoder (mirror diffusers models/vae.py v0.21.1, the version the official V2A code pins,
 * and its blocks `DownEncoderBlock2D`, `UpDecoderBlock2D`, `UNetMidBlock2D` from unet_2d_blocks.py). No time
 * embedding anywhere; every GroupNorm uses eps 1e-6; the mid block's attention is single-head with its own
 * GroupNorm and a residual connection. Feature maps are [N, C, H, W].
 */
import { type ActivationName, silu } from "../../nn/activations.js";
import { type Conv, Conv2d, GroupNorm } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { Attention } from "./attention.js";
import { Downsample2D, ResnetBlock2D, Upsample2D } from "./resnet.js";

const VAE_EPS = 1e-6;

interface VaeBlockArgs {
  num_layers: number;
  in_channels: number;
  out_channels: number;
  add_sample: boolean;
  act: ActivationName;
  groups: number;
}

const vaeResnet = (a: VaeBlockArgs, cin: number, cout: number) =>
  new ResnetBlock2D({
    in_channels: cin,
    out_channels: cout,
    temb_channels: null,
    eps: VAE_EPS,
    groups: a.groups,
    non_linearity: a.act,
  });

/** Mirrors diffusers `DownEncoderBlock2D` (downsample_padding 0: pad bottom/right, stride-2 conv). */
export class DownEncoderBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly downsamplers: [Downsample2D] | null;
  constructor(a: VaeBlockArgs) {
    this.resnets = Array.from({ length: a.num_layers }, (_, i) =>
      vaeResnet(a, i === 0 ? a.in_channels : a.out_channels, a.out_channels),
    );
    this.downsamplers = a.add_sample ? [new Downsample2D(a.out_channels, a.out_channels, 0)] : null;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = x;
    for (const r of this.resnets) h = r.forward(ops, h, null);
    return this.downsamplers ? this.downsamplers[0].forward(ops, h) : h;
  }
}

/** Mirrors diffusers `UpDecoderBlock2D`: resnets, then nearest ×2 + conv (no skip connections). */
export class UpDecoderBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly upsamplers: [Upsample2D] | null;
  constructor(a: VaeBlockArgs) {
    this.resnets = Array.from({ length: a.num_layers }, (_, i) =>
      vaeResnet(a, i === 0 ? a.in_channels : a.out_channels, a.out_channels),
    );
    this.upsamplers = a.add_sample ? [new Upsample2D(a.out_channels, a.out_channels)] : null;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = x;
    // each resnet is a checkpoint: the guidance backward recomputes it instead of keeping its activations
    for (const r of this.resnets) h = ops.checkpoint((v) => r.forward(ops, v, null), h);
    return this.upsamplers ? ops.checkpoint((v) => this.upsamplers![0].forward(ops, v), h) : h;
  }
}

/**
 * Mirrors diffusers `UNetMidBlock2D` as the VAE builds it: resnet, (Attention, resnet) × 1. The attention has
 * attention_head_dim = channels, i.e. one head, a GroupNorm(norm_num_groups, eps 1e-6), bias on q/k/v and
 * `residual_connection` (the old `AttentionBlock` weights, renamed to to_q/to_k/to_v/to_out.0).
 */
export class UNetMidBlock2D {
  readonly attentions: Attention[];
  readonly resnets: ResnetBlock2D[];
  constructor(channels: number, act: ActivationName, groups: number, addAttention = true) {
    const a: VaeBlockArgs = {
      num_layers: 1,
      in_channels: channels,
      out_channels: channels,
      add_sample: false,
      act,
      groups,
    };
    this.resnets = [vaeResnet(a, channels, channels), vaeResnet(a, channels, channels)];
    this.attentions = addAttention
      ? [
          new Attention({
            query_dim: channels,
            heads: 1,
            dim_head: channels,
            bias: true,
            norm_num_groups: groups,
            eps: VAE_EPS,
            residual_connection: true,
          }),
        ]
      : [];
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = ops.checkpoint((v) => this.resnets[0].forward(ops, v, null), x);
    if (this.attentions.length) h = ops.checkpoint((v) => this.attentions[0].forward(ops, v), h);
    return ops.checkpoint((v) => this.resnets[1].forward(ops, v, null), h);
  }
}

export interface CoderArgs {
  in_channels: number;
  out_channels: number;
  block_out_channels: readonly number[];
  layers_per_block: number;
  norm_num_groups: number;
  act_fn: ActivationName;
  /** Encoder only: emit mean and logvar (2 × out_channels). */
  double_z?: boolean;
  mid_block_add_attention?: boolean;
}

/** Mirrors diffusers `Encoder`: x [N, C_in, H, W] → moments [N, 2·latent, H/2^k, W/2^k]. */
export class Encoder {
  readonly conv_in: Conv;
  readonly down_blocks: DownEncoderBlock2D[];
  readonly mid_block: UNetMidBlock2D;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv;
  constructor(a: CoderArgs) {
    const boc = a.block_out_channels;
    this.conv_in = Conv2d(a.in_channels, boc[0], 3, { padding: 1 });
    this.down_blocks = boc.map(
      (out, i) =>
        new DownEncoderBlock2D({
          num_layers: a.layers_per_block,
          in_channels: i === 0 ? boc[0] : boc[i - 1],
          out_channels: out,
          add_sample: i < boc.length - 1,
          act: a.act_fn,
          groups: a.norm_num_groups,
        }),
    );
    const top = boc[boc.length - 1];
    this.mid_block = new UNetMidBlock2D(top, a.act_fn, a.norm_num_groups, a.mid_block_add_attention ?? true);
    this.conv_norm_out = new GroupNorm(a.norm_num_groups, top, VAE_EPS);
    this.conv_out = Conv2d(top, (a.double_z ?? true) ? 2 * a.out_channels : a.out_channels, 3, {
      padding: 1,
    });
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = this.conv_in.forward(ops, x);
    for (const blk of this.down_blocks) h = blk.forward(ops, h);
    h = this.mid_block.forward(ops, h);
    // upstream's conv_act is nn.SiLU() whatever act_fn is
    return this.conv_out.forward(ops, silu(ops, this.conv_norm_out.forward(ops, h)));
  }
}

/** Mirrors diffusers `Decoder` (norm_type "group"): z [N, latent, h, w] → [N, C_out, h·2^k, w·2^k]. */
export class Decoder {
  readonly conv_in: Conv;
  readonly mid_block: UNetMidBlock2D;
  readonly up_blocks: UpDecoderBlock2D[];
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv;
  constructor(a: CoderArgs) {
    const rev = [...a.block_out_channels].reverse();
    this.conv_in = Conv2d(a.in_channels, rev[0], 3, { padding: 1 });
    this.mid_block = new UNetMidBlock2D(
      rev[0],
      a.act_fn,
      a.norm_num_groups,
      a.mid_block_add_attention ?? true,
    );
    this.up_blocks = rev.map(
      (out, i) =>
        new UpDecoderBlock2D({
          num_layers: a.layers_per_block + 1,
          in_channels: i === 0 ? rev[0] : rev[i - 1],
          out_channels: out,
          add_sample: i < rev.length - 1,
          act: a.act_fn,
          groups: a.norm_num_groups,
        }),
    );
    const bottom = a.block_out_channels[0];
    this.conv_norm_out = new GroupNorm(a.norm_num_groups, bottom, VAE_EPS);
    this.conv_out = Conv2d(bottom, a.out_channels, 3, { padding: 1 });
  }
  forward<T>(ops: Ops<T>, z: T): T {
    let h = this.mid_block.forward(ops, this.conv_in.forward(ops, z));
    for (const blk of this.up_blocks) h = blk.forward(ops, h);
    return this.conv_out.forward(ops, silu(ops, this.conv_norm_out.forward(ops, h)));
  }
}
