/**
 * SD-VAE latents of every frame of a world dataset (scaling_factor · posterior mean, [N, F, 4, 8, 8]), computed
 * once with the trained VAE and cached next to the consumer's checkpoints.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { WORLD } from "../../../src/engine/world/spec.js";
import { FRAMES, planarFrame, type WorldDataset } from "./data.js";
import { loadTrainedVae } from "./vae.js";

export const LATENT = [4, WORLD.height / 8, WORLD.width / 8] as const;
export const LATENT_SIZE = LATENT[0] * LATENT[1] * LATENT[2];

export async function frameLatents(
  data: WorldDataset,
  vaeDir: string,
  cacheDir: string,
): Promise<Float32Array> {
  const path = join(cacheDir, `frame-latents-${data.count}.bin`);
  const hit = await readFile(path).catch(() => null);
  if (hit) return new Float32Array(new Uint8Array(hit).buffer);
  const { vae, scalingFactor } = await loadTrainedVae(vaeDir);
  await data.load(["video"]);
  const ops = new TfjsOps();
  const { width: W, height: H } = WORLD;
  const out = new Float32Array(data.count * FRAMES * LATENT_SIZE);
  const x = new Float32Array(FRAMES * 3 * H * W);
  for (let i = 0; i < data.count; i++) {
    for (let fi = 0; fi < FRAMES; fi++) planarFrame(data.frames(i), fi, x, fi * 3 * H * W);
    const z = tf.tidy(() => tf.mul(vae.encode(ops, tf.tensor4d(x, [FRAMES, 3, H, W])).mean, scalingFactor));
    out.set((await z.data()) as Float32Array, i * FRAMES * LATENT_SIZE);
    z.dispose();
  }
  ops.dispose();
  await mkdir(cacheDir, { recursive: true });
  await writeFile(path, new Uint8Array(out.buffer));
  return out;
}
