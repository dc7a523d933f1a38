/**
 * `CLIPTextConfig` (transformers models/clip/configuration_clip.py), keys verbatim, class defaults.
 * `sd15TextEncoderConfig` is `runwayml/stable-diffusion-v1-5` `text_encoder/config.json` (= openai/clip-vit-large-
 * patch14's text_config; manifests/sd15_clip_text_encoder.json), including its legacy `eos_token_id: 2`.
 */
import { ModelPackError } from "../../errors.js";
import { pickKeys, supportedActivation } from "../hf_config.js";

export interface CLIPTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  /** Unused by CLIPTextModel (only CLIPTextModelWithProjection has `text_projection`). */
  projection_dim: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: string;
  layer_norm_eps: number;
  attention_dropout: number;
  initializer_range: number;
  initializer_factor: number;
  pad_token_id: number;
  bos_token_id: number;
  /**
   * Selects the pooling. The value 2 is a legacy default that old configs (SD 1.5, openai/clip-vit-large-patch14)
   * still carry although the real EOS id is 49407: transformers then pools at argmax(input_ids), which is the
   * first `<|endoftext|>` because it is the highest id. Any other value pools at the first `eos_token_id`.
   */
  eos_token_id: number;
}

export const clipTextDefaults: Readonly<CLIPTextConfig> = Object.freeze({
  vocab_size: 49408,
  hidden_size: 512,
  intermediate_size: 2048,
  projection_dim: 512,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 77,
  hidden_act: "quick_gelu",
  layer_norm_eps: 1e-5,
  attention_dropout: 0.0,
  initializer_range: 0.02,
  initializer_factor: 1.0,
  pad_token_id: 1,
  bos_token_id: 49406,
  eos_token_id: 49407,
});

/** SD 1.5's text encoder (CLIP ViT-L/14 text tower). */
export const sd15TextEncoderConfig: Readonly<Partial<CLIPTextConfig>> = Object.freeze({
  vocab_size: 49408,
  hidden_size: 768,
  intermediate_size: 3072,
  projection_dim: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  max_position_embeddings: 77,
  hidden_act: "quick_gelu",
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
});

export function clipTextConfig(
  overrides: Partial<CLIPTextConfig> | Readonly<Record<string, unknown>> = {},
): CLIPTextConfig {
  const c = pickKeys(clipTextDefaults, overrides as Record<string, unknown>);
  if (c.hidden_size % c.num_attention_heads !== 0)
    throw new ModelPackError(
      `CLIPTextConfig: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`,
    );
  supportedActivation("CLIPTextConfig", "hidden_act", c.hidden_act);
  return c;
}
