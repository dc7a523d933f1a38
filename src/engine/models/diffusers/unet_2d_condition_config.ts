/**
 * UNet2DConditionModel config: the keys of diffusers `UNet2DConditionModel.__init__` (v0.26.3), verbatim, with
 * upstream's defaults (SD 1.5's), plus `checkUNetConfig`, which rejects every value we do not implement in one
 * ModelPackError (STYLE.md 3, 4, 15).
 */
import { ModelPackError } from "../../errors.js";
import type { ActivationName } from "../../nn/activations.js";
import { DOWN_BLOCKS, MID_BLOCKS, UP_BLOCKS } from "./unet_2d_blocks.js";

export interface UNet2DConditionConfig {
  sample_size: number | null;
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  flip_sin_to_cos: boolean;
  freq_shift: number;
  down_block_types: readonly string[];
  mid_block_type: string | null;
  up_block_types: readonly string[];
  only_cross_attention: boolean | readonly boolean[];
  block_out_channels: readonly number[];
  layers_per_block: number | readonly number[];
  downsample_padding: number;
  mid_block_scale_factor: number;
  dropout: number;
  act_fn: string;
  norm_num_groups: number | null;
  norm_eps: number;
  cross_attention_dim: number | readonly number[];
  transformer_layers_per_block: number | readonly (number | readonly number[])[];
  reverse_transformer_layers_per_block: readonly (readonly number[])[] | null;
  encoder_hid_dim: number | null;
  encoder_hid_dim_type: string | null;
  /**
   * Misnamed upstream: when `num_attention_heads` is unset (always, in practice) this is the NUMBER OF HEADS of
   * every transformer (head dim = channels / attention_head_dim). diffusers keeps the name for the "40,000+
   * configurations" that use it; so do we.
   */
  attention_head_dim: number | readonly number[];
  num_attention_heads: number | readonly number[] | null;
  dual_cross_attention: boolean;
  use_linear_projection: boolean;
  class_embed_type: string | null;
  addition_embed_type: string | null;
  addition_time_embed_dim: number | null;
  num_class_embeds: number | null;
  upcast_attention: boolean;
  resnet_time_scale_shift: string;
  resnet_skip_time_act: boolean;
  resnet_out_scale_factor: number;
  time_embedding_type: string;
  time_embedding_dim: number | null;
  time_embedding_act_fn: string | null;
  timestep_post_act: string | null;
  time_cond_proj_dim: number | null;
  conv_in_kernel: number;
  conv_out_kernel: number;
  projection_class_embeddings_input_dim: number | null;
  attention_type: string;
  class_embeddings_concat: boolean;
  mid_block_only_cross_attention: boolean | null;
  cross_attention_norm: string | null;
  addition_embed_type_num_heads: number;
}

export const UNET_2D_CONDITION_DEFAULTS: Readonly<UNet2DConditionConfig> = Object.freeze({
  sample_size: null,
  in_channels: 4,
  out_channels: 4,
  center_input_sample: false,
  flip_sin_to_cos: true,
  freq_shift: 0,
  down_block_types: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  mid_block_type: "UNetMidBlock2DCrossAttn",
  up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  only_cross_attention: false,
  block_out_channels: [320, 640, 1280, 1280],
  layers_per_block: 2,
  downsample_padding: 1,
  mid_block_scale_factor: 1,
  dropout: 0.0,
  act_fn: "silu",
  norm_num_groups: 32,
  norm_eps: 1e-5,
  cross_attention_dim: 1280,
  transformer_layers_per_block: 1,
  reverse_transformer_layers_per_block: null,
  encoder_hid_dim: null,
  encoder_hid_dim_type: null,
  attention_head_dim: 8,
  num_attention_heads: null,
  dual_cross_attention: false,
  use_linear_projection: false,
  class_embed_type: null,
  addition_embed_type: null,
  addition_time_embed_dim: null,
  num_class_embeds: null,
  upcast_attention: false,
  resnet_time_scale_shift: "default",
  resnet_skip_time_act: false,
  resnet_out_scale_factor: 1.0,
  time_embedding_type: "positional",
  time_embedding_dim: null,
  time_embedding_act_fn: null,
  timestep_post_act: null,
  time_cond_proj_dim: null,
  conv_in_kernel: 3,
  conv_out_kernel: 3,
  projection_class_embeddings_input_dim: null,
  attention_type: "default",
  class_embeddings_concat: false,
  mid_block_only_cross_attention: null,
  cross_attention_norm: null,
  addition_embed_type_num_heads: 64,
});

/** Activations the UNet can be configured with (diffusers get_activation names we implement). */
export const UNET_ACTIVATIONS: readonly ActivationName[] = ["silu", "swish", "gelu", "relu"];

/** Class-embedding kinds we implement (diffusers `class_embed_type`). */
export const CLASS_EMBED_TYPES = ["simple_projection", "projection"] as const;
export type ClassEmbedType = (typeof CLASS_EMBED_TYPES)[number];

export function isActivation(v: string | null): v is ActivationName {
  return v !== null && (UNET_ACTIVATIONS as readonly string[]).includes(v);
}

/**
 * Merge a (possibly partial, JSON-read) config over upstream's defaults. Keys upstream does not know are
 * reported by `checkUNetConfig`; `_`-prefixed keys (diffusers' `_class_name`, `_diffusers_version`) are dropped.
 */
export function unet2DConditionConfig(overrides: Partial<UNet2DConditionConfig> = {}): UNet2DConditionConfig {
  const picked = Object.fromEntries(Object.entries(overrides).filter(([k]) => !k.startsWith("_")));
  return { ...UNET_2D_CONDITION_DEFAULTS, ...picked } as UNet2DConditionConfig;
}

/** Every problem with a config, as readable strings (empty: we can build it). Mirrors diffusers `_check_config`. */
export function unetConfigProblems(c: UNet2DConditionConfig): string[] {
  const bad: string[] = [];
  const n = c.down_block_types.length;
  const unknown = Object.keys(c).filter((k) => !(k in UNET_2D_CONDITION_DEFAULTS));
  if (unknown.length) bad.push(`unknown config keys: ${unknown.join(", ")}`);
  const expect = (ok: boolean, what: string) => {
    if (!ok) bad.push(what);
  };
  expect(
    c.up_block_types.length === n,
    `up_block_types has ${c.up_block_types.length} entries, expected ${n}`,
  );
  expect(
    c.block_out_channels.length === n,
    `block_out_channels has ${c.block_out_channels.length} entries, expected ${n}`,
  );
  for (const k of [
    "layers_per_block",
    "attention_head_dim",
    "cross_attention_dim",
    "only_cross_attention",
  ] as const) {
    const v = c[k];
    if (Array.isArray(v)) expect(v.length === n, `${k} has ${v.length} entries, expected ${n}`);
  }
  for (const t of c.down_block_types) expect(t in DOWN_BLOCKS, `down block type "${t}" is not supported`);
  for (const t of c.up_block_types) expect(t in UP_BLOCKS, `up block type "${t}" is not supported`);
  expect(
    c.mid_block_type === null || c.mid_block_type in MID_BLOCKS,
    `mid_block_type "${c.mid_block_type}" is not supported`,
  );
  expect(
    c.num_attention_heads === null,
    "num_attention_heads must be unset (diffusers UNet2DConditionModel rejects it; attention_head_dim is the head count)",
  );
  expect(
    c.time_embedding_type === "positional",
    `time_embedding_type "${c.time_embedding_type}" is not supported`,
  );
  expect(
    c.class_embed_type === null || (CLASS_EMBED_TYPES as readonly string[]).includes(c.class_embed_type),
    `class_embed_type "${c.class_embed_type}" is not supported`,
  );
  expect(
    c.class_embed_type === null || c.projection_class_embeddings_input_dim !== null,
    `class_embed_type "${c.class_embed_type}" requires projection_class_embeddings_input_dim`,
  );
  expect(c.num_class_embeds === null, "num_class_embeds is not supported");
  expect(c.addition_embed_type === null, `addition_embed_type "${c.addition_embed_type}" is not supported`);
  expect(
    c.encoder_hid_dim === null && c.encoder_hid_dim_type === null,
    "encoder_hid_dim / encoder_hid_dim_type are not supported",
  );
  expect(!c.dual_cross_attention, "dual_cross_attention is not supported");
  expect(
    c.only_cross_attention === false ||
      (Array.isArray(c.only_cross_attention) && c.only_cross_attention.every((v) => !v)),
    "only_cross_attention is not supported",
  );
  expect(c.attention_type === "default", `attention_type "${c.attention_type}" is not supported`);
  expect(
    c.cross_attention_norm === null,
    `cross_attention_norm "${c.cross_attention_norm}" is not supported`,
  );
  expect(
    c.resnet_time_scale_shift === "default" || c.resnet_time_scale_shift === "scale_shift",
    `resnet_time_scale_shift "${c.resnet_time_scale_shift}" is not supported`,
  );
  expect(c.time_cond_proj_dim === null, "time_cond_proj_dim is not supported");
  expect(isActivation(c.act_fn), `act_fn "${c.act_fn}" is not supported`);
  for (const k of ["time_embedding_act_fn", "timestep_post_act"] as const)
    expect(c[k] === null || isActivation(c[k]), `${k} "${c[k]}" is not supported`);
  expect(c.norm_num_groups !== null, "norm_num_groups null is not supported");
  expect(
    c.conv_in_kernel % 2 === 1 && c.conv_out_kernel % 2 === 1,
    "conv_in_kernel/conv_out_kernel must be odd",
  );
  const tl = c.transformer_layers_per_block;
  if (Array.isArray(tl)) {
    expect(tl.length === n, `transformer_layers_per_block has ${tl.length} entries, expected ${n}`);
    if (tl.some((v) => Array.isArray(v)))
      expect(
        c.reverse_transformer_layers_per_block !== null,
        "an asymmetrical transformer_layers_per_block needs reverse_transformer_layers_per_block",
      );
  }
  return bad;
}

/** Throws one ModelPackError naming every unsupported or inconsistent value. */
export function checkUNetConfig(c: UNet2DConditionConfig, source = "UNet2DConditionModel config"): void {
  const bad = unetConfigProblems(c);
  if (bad.length) throw new ModelPackError(`${source}: ${bad.join("; ")}`, { problems: bad });
}
