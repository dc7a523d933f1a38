/**
 * The sd-vae job's object-weighted reconstruction loss: the pixel weights mark exactly the pixels the renderer
 * paints over its plain background, and `vaeLoss` with weights is the weighted mean of |x̂ − x| (with unit weights,
 * the plain L1 the other VAE jobs use).
 */
import { describe, expect, it } from "vitest";
import { SeededRng } from "../../../src/engine/metrics/stats.js";
import { AutoencoderKL } from "../../../src/engine/models/diffusers/autoencoder_kl.js";
import { nameParams } from "../../../src/engine/ops/param.js";
import { TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { worldClip } from "../../../src/engine/world/clip.js";
import { renderFrame } from "../../../src/engine/world/render.js";
import { WORLD } from "../../../src/engine/world/spec.js";
import { type ClipMeta, FRAMES, gaussian, objectPixelWeights } from "./data.js";
import { vaeLoss } from "./losses.js";
import { initParams } from "./params.js";

describe("objectPixelWeights", () => {
  it("weighs up exactly the pixels the objects change against the same scene rendered empty", () => {
    const { width: W, height: H, fps } = WORLD;
    let marked = 0;
    let total = 0;
    for (const seed of [3, 17, 4242]) {
      const clip = worldClip(seed);
      const video = Uint8Array.from(clip.video.data);
      const empty = new Uint8Array(W * H * 3);
      renderFrame({ ...clip.scene, objects: [] }, 0, empty);
      for (const fi of [0, 7, FRAMES - 1]) {
        const frame = video.subarray(fi * W * H * 3, (fi + 1) * W * H * 3);
        // the job's frames are the renderer's (the same clip re-rendered at this frame's time)
        const again = new Uint8Array(W * H * 3);
        renderFrame(clip.scene, fi / fps, again);
        expect(again).toEqual(frame);
        const w = new Float32Array(W * H);
        objectPixelWeights({ scene: clip.scene } as ClipMeta, video, fi, 8, w, 0);
        let frameMarked = 0;
        for (let p = 0; p < W * H; p++) {
          let d = 0;
          for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(frame[3 * p + c] - empty[3 * p + c]));
          expect(w[p], `seed ${seed} frame ${fi} pixel ${p}`).toBe(d > 24 ? 9 : 1);
          if (w[p] > 1) frameMarked++;
        }
        expect(frameMarked, `seed ${seed} frame ${fi}: an object is visible`).toBeGreaterThan(20);
        marked += frameMarked;
        total += W * H;
      }
    }
    // objects cover a few percent of a frame: the reason the weights exist
    expect(marked / total).toBeGreaterThan(0.01);
    expect(marked / total).toBeLessThan(0.2);
  });
});

describe("vaeLoss", () => {
  const config = {
    in_channels: 3,
    out_channels: 3,
    down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D"],
    up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D"],
    block_out_channels: [8, 8],
    latent_channels: 4,
    layers_per_block: 1,
    norm_num_groups: 4,
  };
  const vae = new AutoencoderKL(config);
  nameParams({ vae });
  initParams(vae, 5);
  const [B, H, W] = [2, 8, 8];
  const rng = new SeededRng(9);
  const x = tf.tensor4d(gaussian(rng, B * 3 * H * W), [B, 3, H, W]);
  const eps = tf.tensor4d(gaussian(rng, B * 4 * (H / 2) * (W / 2)), [B, 4, H / 2, W / 2]);
  const ops = new TfjsOps();

  it("is the plain L1 with unit pixel weights, and the weighted mean of |x̂ − x| with others", async () => {
    const plain = vaeLoss(vae, ops, x, eps);
    const ones = vaeLoss(vae, ops, x, eps, 1e-3, tf.ones([B, 1, H, W]));
    expect(ones.parts.l1w!.dataSync()[0]).toBeCloseTo(plain.parts.l1!.dataSync()[0], 6);
    expect(ones.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0], 6);

    const wData = Float32Array.from({ length: B * H * W }, (_, i) => 1 + (i % 5));
    const weighted = vaeLoss(vae, ops, x, eps, 1e-3, tf.tensor4d(wData, [B, 1, H, W]));
    // reference: decode the same reparameterised sample, weigh |x̂ − x| in plain JS
    const p = vae.encode(ops, x);
    const xh = (await vae.decode(ops, tf.add(p.mean, tf.mul(p.std, eps))).data()) as Float32Array;
    const xs = (await x.data()) as Float32Array;
    let sum = 0;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < 3; c++)
        for (let q = 0; q < H * W; q++) {
          const i = (b * 3 + c) * H * W + q;
          sum += wData[b * H * W + q] * Math.abs(xh[i] - xs[i]);
        }
    const ref = sum / (B * 3 * H * W);
    expect(weighted.parts.l1w!.dataSync()[0]).toBeCloseTo(ref, 5);
    expect(weighted.parts.l1!.dataSync()[0]).toBeCloseTo(plain.parts.l1!.dataSync()[0], 6);
    const kl = plain.parts.kl!.dataSync()[0];
    expect(weighted.loss.dataSync()[0]).toBeCloseTo(ref + 1e-3 * kl, 5);
    // the weights matter: mean weight 3, so the weighted term is well above the plain one
    expect(ref).toBeGreaterThan(2 * plain.parts.l1!.dataSync()[0]);
  });
});
