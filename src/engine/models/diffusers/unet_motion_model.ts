/**
 * AnimateDiff's denoiser: UNetMotionModel = an SD 1.5 UNet2DConditionModel + a MotionAdapter (mirrors diffusers
 * models/unets/unet_motion_model.py v0.26.3 `MotionAdapter`, `UNetMotionModel.from_unet2d`; SPEC §4.1, §5.2).
 *
 * The spatial blocks are UNet2DConditionModel's own; the motion modules go into their `motion_modules` hook
 * (unet_2d_blocks.ts), so the key names are upstream's: the union of the UNet's state dict and the adapter's
 * (`down_blocks.i.motion_modules.j.…`, `mid_block.motion_modules.0.…`, `up_blocks.i.motion_modules.j.…`).
 *
 * forward: sample [B, C, F, H, W], timestep [] | [1] | [B], encoder_hidden_states [B, L, D] → [B, C_out, F, H, W].
 * Frames are folded into the batch for the spatial layers (index b·F + f); the time embedding and the text states
 * are repeated F times (repeat_interleave).
 */
import { BadInputError, ModelPackError } from "../../errors.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams } from "../../ops/param.js";
import { TransformerTemporalModel } from "./transformer_temporal.js";
import { UpBlock2D } from "./unet_2d_blocks.js";
import {
  type UNet2DConditionConfig,
  type UNet2DConditionInputs,
  UNet2DConditionModel,
} from "./unet_2d_condition.js";

/** diffusers MotionAdapter config keys, verbatim, with upstream's defaults. */
export interface MotionAdapterConfig {
  block_out_channels: readonly number[];
  motion_layers_per_block: number;
  motion_mid_block_layers_per_block: number;
  motion_num_attention_heads: number;
  motion_norm_num_groups: number;
  motion_max_seq_length: number;
  use_motion_mid_block: boolean;
  conv_in_channels: number | null;
}

export const MOTION_ADAPTER_DEFAULTS: Readonly<MotionAdapterConfig> = Object.freeze({
  block_out_channels: [320, 640, 1280, 1280],
  motion_layers_per_block: 2,
  motion_mid_block_layers_per_block: 1,
  motion_num_attention_heads: 8,
  motion_norm_num_groups: 32,
  motion_max_seq_length: 32,
  use_motion_mid_block: true,
  conv_in_channels: null,
});

export function motionAdapterConfig(overrides: Partial<MotionAdapterConfig> = {}): MotionAdapterConfig {
  // config.json's `_class_name` / `_diffusers_version` are metadata, not arguments
  const picked = Object.fromEntries(Object.entries(overrides).filter(([k]) => !k.startsWith("_")));
  const c = { ...MOTION_ADAPTER_DEFAULTS, ...picked } as MotionAdapterConfig;
  if (c.conv_in_channels !== null)
    throw new ModelPackError(`MotionAdapter conv_in_channels ${c.conv_in_channels} is not supported`);
  return c;
}

/** MotionModules(in_channels, layers, heads, groups, max_seq_length): a list of temporal transformers. */
function motionModules(channels: number, layers: number, heads: number, groups: number, maxSeq: number) {
  return Array.from(
    { length: layers },
    () =>
      new TransformerTemporalModel({
        in_channels: channels,
        num_attention_heads: heads,
        attention_head_dim: Math.floor(channels / heads),
        norm_num_groups: groups,
        num_positional_embeddings: maxSeq,
      }),
  );
}

interface MotionModulesHolder {
  motion_modules: TransformerTemporalModel[];
}

/** The adapter checkpoint's module tree (for loading / manifest checks); it has no forward of its own. */
export class MotionAdapter {
  readonly conv_in: null = null;
  readonly down_blocks: MotionModulesHolder[];
  readonly mid_block: MotionModulesHolder | null;
  readonly up_blocks: MotionModulesHolder[];
  readonly config: Readonly<MotionAdapterConfig>;
  constructor(config: Partial<MotionAdapterConfig> = {}) {
    const c = Object.freeze(motionAdapterConfig(config));
    this.config = c;
    const mm = (ch: number, layers: number) =>
      motionModules(
        ch,
        layers,
        c.motion_num_attention_heads,
        c.motion_norm_num_groups,
        c.motion_max_seq_length,
      );
    const boc = c.block_out_channels;
    this.down_blocks = boc.map((ch) => ({ motion_modules: mm(ch, c.motion_layers_per_block) }));
    this.mid_block = c.use_motion_mid_block
      ? { motion_modules: mm(boc[boc.length - 1], c.motion_mid_block_layers_per_block) }
      : null;
    this.up_blocks = [...boc]
      .reverse()
      .map((ch) => ({ motion_modules: mm(ch, c.motion_layers_per_block + 1) }));
    nameParams(this);
  }
}

export class UNetMotionModel extends UNet2DConditionModel {
  readonly motion_config: Readonly<MotionAdapterConfig>;

  /** `unetConfig`: the SD UNet's config.json; `adapterConfig`: the MotionAdapter's. */
  constructor(
    unetConfig: Partial<UNet2DConditionConfig>,
    adapterConfig: Partial<MotionAdapterConfig>,
    source?: string,
  ) {
    // from_unet2d: UNetMotionModel hard-codes Timesteps(flip_sin_to_cos=True, freq_shift=0) and has no class
    // embedding; the rest of the spatial config carries over.
    if (unetConfig.class_embed_type != null)
      throw new ModelPackError(`${source ?? "UNetMotionModel"}: a motion UNet has no class embedding`);
    super({ ...unetConfig, flip_sin_to_cos: true, freq_shift: 0 }, source);
    const a = Object.freeze(motionAdapterConfig(adapterConfig));
    this.motion_config = a;
    const c = this.config;
    const heads = a.motion_num_attention_heads;
    // as upstream, the motion modules' GroupNorm takes the UNet's norm_num_groups (the adapter's
    // motion_norm_num_groups only shapes the adapter's own, forward-less tree; parameter shapes are the same)
    const groups = c.norm_num_groups as number;
    const boc = c.block_out_channels;
    const mm = (ch: number, layers: number, g: number) =>
      motionModules(ch, layers, heads, g, a.motion_max_seq_length);
    this.down_blocks.forEach((blk, i) => {
      blk.motion_modules = mm(boc[i], blk.resnets.length, groups);
    });
    if (a.use_motion_mid_block && this.mid_block)
      this.mid_block.motion_modules = mm(boc[boc.length - 1], this.mid_block.attentions.length, groups);
    this.up_blocks.forEach((blk, i) => {
      // quirk: UpBlockMotion's temporal GroupNorm uses its own default of 32 groups, not norm_num_groups
      blk.motion_modules = mm(
        boc[boc.length - 1 - i],
        blk.resnets.length,
        blk instanceof UpBlock2D ? 32 : groups,
      );
    });
    nameParams(this);
  }

  /** sample [B, C, F, H, W], encoder_hidden_states [B, L, D] → ε [B, C_out, F, H, W]. */
  override forward<T>(ops: Ops<T>, sample: T, timestep: T, inputs: UNet2DConditionInputs<T> = {}): T {
    const encoderHiddenStates = inputs.encoderHiddenStates;
    if (!encoderHiddenStates)
      throw new BadInputError("UNetMotionModel needs encoder_hidden_states [B, L, D]");
    const shape = ops.shape(sample);
    if (shape.length !== 5)
      throw new BadInputError(`UNetMotionModel expects [B, C, F, H, W], got [${shape}]`);
    const [b, c, f, h, w] = shape;
    if (f > this.motion_config.motion_max_seq_length)
      throw new BadInputError(
        `${f} frames exceed the motion modules' maximum of ${this.motion_config.motion_max_seq_length}`,
      );
    const repeat = (t: T) => {
      const s = ops.shape(t);
      const rest = s.slice(1);
      return ops.reshape(ops.broadcastTo(ops.reshape(t, [b, 1, ...rest]), [b, f, ...rest]), [b * f, ...rest]);
    };
    const temb = repeat(this.embed(ops, timestep, b, null)); // emb.repeat_interleave(F)
    const context = repeat(encoderHiddenStates);
    const x = ops.reshape(ops.transpose(sample, [0, 2, 1, 3, 4]), [b * f, c, h, w]);
    const y = this.denoise(ops, x, { temb, context, numFrames: f });
    const [, co, ho, wo] = ops.shape(y);
    return ops.transpose(ops.reshape(y, [b, f, co, ho, wo]), [0, 2, 1, 3, 4]);
  }
}
