/**
 * AudioLDM prompt encoding, as diffusers `AudioLDMPipeline._encode_prompt` (pipelines/audioldm/
 * pipeline_audioldm.py, v0.21.1) does it:
 *
 *   text_inputs = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True)
 *   prompt_embeds = text_encoder(input_ids, attention_mask=attention_mask).text_embeds
 *   prompt_embeds = F.normalize(prompt_embeds, dim=-1)                               → [B, projection_dim]
 *
 * For classifier-free guidance the pipeline tokenizes the negative prompt ("" by default) with
 * `max_length=prompt_embeds.shape[1]`, i.e. the projection dim (512), not the tokenizer's length: pass that as
 * `maxLength` to reproduce it. With the attention mask the padded length does not change the embedding (the
 * pooled `<s>` token never attends to padding), only the float rounding.
 */
import type { Ops } from "../../ops/ops.js";
import { type PromptBatch, stackPrompts } from "../../preprocess/tokenizers/bpe.js";
import type { RobertaTokenizer } from "../../preprocess/tokenizers/roberta.js";
import type { ClapTextModelWithProjection } from "./model.js";

export type { PromptBatch };

/** What the helpers need of a RoBERTa tokenizer (`preprocess/tokenizers/roberta.ts`). */
export type AudioLDMTokenizer = Pick<RobertaTokenizer, "encode" | "modelMaxLength">;

export interface AudioLDMPromptOptions {
  /** Padded/truncated length. Default `tokenizer.modelMaxLength` (512 for CLAP's RoBERTa tokenizer). */
  maxLength?: number;
}

/** Host side: `tokenizer(prompts, padding="max_length", max_length, truncation=True)` stacked to [B, L]. */
export function tokenizePromptsAudioLDM(
  tokenizer: AudioLDMTokenizer,
  prompts: string | readonly string[],
  options: AudioLDMPromptOptions = {},
): PromptBatch {
  const maxLength = options.maxLength ?? tokenizer.modelMaxLength;
  return stackPrompts(prompts, (p) =>
    tokenizer.encode(p, { maxLength, padding: "max_length", truncation: true }),
  );
}

/**
 * Prompts → L2-normalised CLAP `text_embeds` [B, projection_dim], the UNet's `class_labels`. The token ids enter
 * as executor constants; to keep them as graph inputs (ONNX), tokenize with `tokenizePromptsAudioLDM` and call
 * `model.forward` directly.
 */
export function encodePromptAudioLDM<T>(
  ops: Ops<T>,
  tokenizer: AudioLDMTokenizer,
  model: ClapTextModelWithProjection,
  prompts: string | readonly string[],
  options: AudioLDMPromptOptions = {},
): T {
  const batch = tokenizePromptsAudioLDM(tokenizer, prompts, options);
  const out = model.forward(ops, {
    input_ids: ops.constant(batch.input_ids, batch.shape),
    attention_mask: ops.constant(batch.attention_mask, batch.shape),
  });
  return out.text_embeds_normalized;
}
