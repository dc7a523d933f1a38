/**
 * A finished VAE job's model (audioldm-vae or sd-vae): its config (with the scaling factor the job measured) and
 * final weights, for the jobs and checks that encode to or decode from its latent space.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AutoencoderKL } from "../../../src/engine/models/diffusers/autoencoder_kl.js";
import { isDone, loadFinal } from "./trainer.js";

export async function loadTrainedVae(vaeDir: string): Promise<{ vae: AutoencoderKL; scalingFactor: number }> {
  if (!(await isDone(vaeDir)))
    throw new Error(`${vaeDir} has not finished: run its VAE job (tools/train) first`);
  const config = JSON.parse(await readFile(join(vaeDir, "final", "config.json"), "utf8")) as {
    scaling_factor: number;
  };
  const vae = new AutoencoderKL(config);
  await loadFinal(vaeDir, "vae", vae);
  return { vae, scalingFactor: config.scaling_factor };
}
