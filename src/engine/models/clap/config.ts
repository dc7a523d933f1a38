/**
 * `ClapTextConfig` (transformers models/clap/configuration_clap.py), keys verbatim. Defaults are the class
 * defaults, which are also `laion/clap-htsat-unfused`'s text_config, i.e. AudioLDM's `text_encoder/config.json`
 * (SPEC §5.1; manifests/audioldm_m_full_text_encoder_clap.json).
 */
import { ModelPackError, UnsupportedError } from "../../errors.js";
import { pickKeys, supportedActivation } from "../hf_config.js";

export interface ClapTextConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** Encoder MLP activation (transformers ACT2FN name; "gelu" is the exact erf GELU). */
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  /** 514 = 512 tokens + padding_idx + 1: RoBERTa position ids start at pad_token_id + 1. */
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_factor: number;
  layer_norm_eps: number;
  /** Output size of the projection MLP, i.e. of `text_embeds` (AudioLDM: 512 = the UNet's class-embedding input). */
  projection_dim: number;
  /** Also the `padding_idx` of the word and position embeddings. */
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  position_embedding_type: string;
  use_cache: boolean;
  projection_hidden_act: string;
}

export const clapTextDefaults: Readonly<ClapTextConfig> = Object.freeze({
  vocab_size: 50265,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 514,
  type_vocab_size: 1,
  initializer_factor: 1.0,
  layer_norm_eps: 1e-12,
  projection_dim: 512,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
  position_embedding_type: "absolute",
  use_cache: true,
  projection_hidden_act: "relu",
});

export function clapTextConfig(
  overrides: Partial<ClapTextConfig> | Readonly<Record<string, unknown>> = {},
): ClapTextConfig {
  const c = pickKeys(clapTextDefaults, overrides as Record<string, unknown>);
  if (c.hidden_size % c.num_attention_heads !== 0)
    throw new ModelPackError(
      `ClapTextConfig: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`,
    );
  if (c.position_embedding_type !== "absolute")
    throw new UnsupportedError(
      `ClapTextConfig position_embedding_type "${c.position_embedding_type}" is not supported (only "absolute", as every CLAP checkpoint uses)`,
    );
  supportedActivation("ClapTextConfig", "hidden_act", c.hidden_act);
  supportedActivation("ClapTextConfig", "projection_hidden_act", c.projection_hidden_act);
  return c;
}
