/**
 * The AudioLDM LDM job's models and data layout, shared by the jobs (clap.ts, audioldm-ldm.ts) and the checks that
 * load their results (cond-check.ts, prompt-check.ts): the CLAP text tower on the generated RoBERTa vocabulary and
 * the UNet at the TRAINED_AUDIOLDM widths, the prompt length the jobs tokenize to and the CLAP embedding of a
 * prompt, and the cached VAE latents.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ClapTextModelWithProjection } from "../../../src/engine/models/clap/model.js";
import { tokenizePromptsAudioLDM } from "../../../src/engine/models/clap/prompt.js";
import { UNet2DConditionModel } from "../../../src/engine/models/diffusers/unet_2d_condition.js";
import { TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { generateRobertaVocab } from "../../../src/engine/packs/default-vocab.js";
import { RobertaTokenizer } from "../../../src/engine/preprocess/tokenizers/roberta.js";
import { TRAINED_AUDIOLDM } from "../configs.js";
import { MEL_FRAMES, type WorldDataset } from "./data.js";
import { loadTrainedVae } from "./vae.js";

/** Tokens per training prompt (the world's captions are short). */
export const LDM_TOKENS = 32;
/** One clip's latent [C, frames / 4, mel bins / 4] = [8, MEL_FRAMES / 4, 16]. */
export const LDM_LATENT = [8, MEL_FRAMES / 4, 16] as const;

/**
 * z0 = scaling_factor · E[q(z|mel)] of every clip of `data` ([count, ...LDM_LATENT] row-major): read from the cache
 * `latents-<count>.bin` in `cacheDir` (the LDM job's folder), or encoded by the finished VAE job in `vaeDir` and
 * written there.
 */
export async function ldmLatents(
  cacheDir: string,
  data: WorldDataset,
  vaeDir: string,
): Promise<Float32Array> {
  const cachePath = join(cacheDir, `latents-${data.count}.bin`);
  const hit = await readFile(cachePath).catch(() => null);
  if (hit) return new Float32Array(new Uint8Array(hit).buffer);
  const { vae, scalingFactor } = await loadTrainedVae(vaeDir);
  await data.load(["mel"]);
  const per = LDM_LATENT[0] * LDM_LATENT[1] * LDM_LATENT[2];
  const ops = new TfjsOps();
  const out = new Float32Array(data.count * per);
  for (let i = 0; i < data.count; i += 8) {
    const n = Math.min(8, data.count - i);
    const x = new Float32Array(n * MEL_FRAMES * 64);
    for (let k = 0; k < n; k++) x.set(data.logMel(i + k), k * MEL_FRAMES * 64);
    const z = tf.tidy(() =>
      tf.mul(vae.encode(ops, tf.tensor4d(x, [n, 1, MEL_FRAMES, 64])).mean, scalingFactor),
    );
    out.set((await z.data()) as Float32Array, i * per);
    z.dispose();
  }
  ops.dispose();
  data.mel = null;
  await mkdir(cacheDir, { recursive: true });
  await writeFile(cachePath, new Uint8Array(out.buffer));
  return out;
}

/**
 * normalize(CLAP text_embeds) of `prompts` on tfjs [B, projection_dim]: what the UNet is conditioned on, with the
 * prompts tokenised as the job tokenises them (LDM_TOKENS, attention mask).
 */
export function clapEmbeds(
  ops: TfjsOps,
  tokenizer: RobertaTokenizer,
  clap: ClapTextModelWithProjection,
  prompts: readonly string[],
): tf.Tensor {
  const tok = tokenizePromptsAudioLDM(tokenizer, prompts, { maxLength: LDM_TOKENS });
  return clap.forward(ops, {
    input_ids: tf.tensor2d(tok.input_ids, tok.shape as [number, number], "int32"),
    attention_mask: tf.tensor2d(tok.attention_mask, tok.shape as [number, number], "int32"),
  }).text_embeds_normalized;
}

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
