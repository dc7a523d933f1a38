/**
 * The AudioLDM LDM job's models and data layout, shared by the job (audioldm-ldm.ts) and the checks that load its
 * result (cond-check.ts): the CLAP text tower on the generated RoBERTa vocabulary and the UNet at the
 * TRAINED_AUDIOLDM widths, the prompt length the job tokenizes to, and its cached VAE latents.
 */
import { join } from "node:path";
import { ClapTextModelWithProjection } from "../../../src/engine/models/clap/model.js";
import { UNet2DConditionModel } from "../../../src/engine/models/diffusers/unet_2d_condition.js";
import { generateRobertaVocab } from "../../../src/engine/packs/default-vocab.js";
import { RobertaTokenizer } from "../../../src/engine/preprocess/tokenizers/roberta.js";
import { TRAINED_AUDIOLDM } from "../configs.js";
import { MEL_FRAMES } from "./data.js";

/** Tokens per training prompt (the world's captions are short). */
export const LDM_TOKENS = 32;
/** One clip's latent [C, frames / 4, mel bins / 4] = [8, MEL_FRAMES / 4, 16]. */
export const LDM_LATENT = [8, MEL_FRAMES / 4, 16] as const;

/** z0 = scaling_factor · E[q(z|mel)] of the first `clips` training clips, cached next to the job's checkpoints. */
export const ldmLatentsPath = (dir: string, clips: number) => join(dir, `latents-${clips}.bin`);

/** The tokenizer, CLAP text tower and UNet of the LDM job (untrained: load or init them). */
export function audioLdmModels(): {
  tokenizer: RobertaTokenizer;
  clap: ClapTextModelWithProjection;
  unet: UNet2DConditionModel;
} {
  const vocab = generateRobertaVocab();
  return {
    tokenizer: new RobertaTokenizer(vocab.vocabJson, vocab.mergesTxt, { modelMaxLength: 512 }),
    clap: new ClapTextModelWithProjection({ ...TRAINED_AUDIOLDM.text_encoder, vocab_size: vocab.vocabSize }),
    unet: new UNet2DConditionModel(TRAINED_AUDIOLDM.unet),
  };
}
