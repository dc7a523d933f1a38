/**
 * SD 1.5 / AnimateDiff prompt encoding, as diffusers `StableDiffusionPipeline._encode_prompt` (and
 * `AnimateDiffPipeline.encode_prompt`, without clip_skip / LoRA) does it:
 *
 *   text_inputs = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length (77), truncation=True)
 *   attention_mask = text_inputs.attention_mask if text_encoder.config.use_attention_mask else None  (SD 1.5: None)
 *   prompt_embeds = text_encoder(input_ids, attention_mask=attention_mask)[0]               → [B, 77, hidden]
 *
 * HF's CLIPTokenizer pads with `<|endoftext|>` (49407), so the padded positions carry real (causal) states; the
 * UNet cross-attends to all 77. The negative prompt ("" by default) uses the same length.
 */
import type { Ops } from "../../ops/ops.js";
import { type PromptBatch, stackPrompts } from "../../preprocess/tokenizers/bpe.js";
import type { ClipTokenizer } from "../../preprocess/tokenizers/clip.js";
import type { CLIPTextModel } from "./model.js";

/** What the helpers need of the CLIP tokenizer (`preprocess/tokenizers/clip.ts`, HF front-end). */
export type SDTokenizer = Pick<ClipTokenizer, "encodeHf">;

export interface SDPromptOptions {
  /** Padded/truncated length; default the tokenizer's (77 = `CLIP_CONTEXT_LENGTH`). */
  maxLength?: number;
  /**
   * Pass the padding mask to the encoder (`text_encoder.config.use_attention_mask`, absent and so false for
   * SD 1.5). Default false.
   */
  useAttentionMask?: boolean;
}

/** Host side: HF `CLIPTokenizer(prompts, padding="max_length", max_length, truncation=True)` stacked to [B, L]. */
export function tokenizePromptsSD(
  tokenizer: SDTokenizer,
  prompts: string | readonly string[],
  options: SDPromptOptions = {},
): PromptBatch {
  return stackPrompts(prompts, (p) =>
    tokenizer.encodeHf(p, { maxLength: options.maxLength, padding: "max_length", truncation: true }),
  );
}

/**
 * Prompts → `last_hidden_state` [B, 77, hidden], the cross-attention context of the SD / AnimateDiff UNet.
 * The ids enter as executor constants; for graph inputs tokenize with `tokenizePromptsSD` and call
 * `model.forward`.
 */
export function encodePromptSD<T>(
  ops: Ops<T>,
  tokenizer: SDTokenizer,
  model: CLIPTextModel,
  prompts: string | readonly string[],
  options: SDPromptOptions = {},
): T {
  const batch = tokenizePromptsSD(tokenizer, prompts, options);
  const ids = ops.constant(batch.input_ids, batch.shape);
  const mask = options.useAttentionMask ? ops.constant(batch.attention_mask, batch.shape) : undefined;
  return model.forward(ops, { input_ids: ids, attention_mask: mask }).last_hidden_state;
}
