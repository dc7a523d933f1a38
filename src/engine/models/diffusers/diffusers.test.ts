/**
 * Unit tests for the diffusers models beyond the golden fixtures (which pin one small config each): other
 * configurations (sizes that are not multiples of the UNet's factor, linear projections, per-block heads,
 * scale_shift, projection class embeddings), the frame folding of UNetMotionModel, helpers against float64
 * references, and config validation. Weights are random; tfjs and ONNX must agree, gradients must match finite
 * differences.
 */
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { type Program, runOnnx, runTfjs } from "../../../../test/parity/harness.js";
import { randn, rng } from "../../../../test/support/naive.js";
import { withTfjsBackend } from "../../../../test/support/tfjs-backend.js";
import { ModelPackError } from "../../errors.js";
import type { OrtModule } from "../../ops/onnx/session.js";
import type { Ops } from "../../ops/ops.js";
import { namedParams } from "../../ops/param.js";
import { AutoencoderKL } from "./autoencoder_kl.js";
import { Timesteps } from "./embeddings.js";
import { upsampleNearest } from "./resnet.js";
import { UNet2DConditionModel } from "./unet_2d_condition.js";
import type { UNet2DConditionConfig } from "./unet_2d_condition_config.js";
import { UNetMotionModel } from "./unet_motion_model.js";

const ort = ortWeb as unknown as OrtModule;
beforeAll(() => {
  ortWeb.env.wasm.numThreads = 1;
});

/** Random weights: matrices ~ N(0, 1/fan_in), 1-D weights 1 + 0.1 N, biases 0.1 N (like the fixtures' perturb). */
function randomize(model: object, seed: number): void {
  let s = seed;
  for (const [k, p] of namedParams(model)) {
    if (p.optional) continue;
    const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
    const v = randn(p.size, s++, p.shape.length >= 2 ? 1 / Math.sqrt(fanIn) : 0.1);
    if (p.shape.length === 1 && k.endsWith("weight")) for (let i = 0; i < v.length; i++) v[i] += 1;
    p.set(v);
  }
}

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

const sumProbe = <T>(ops: Ops<T>, out: T, probe: T): T => {
  const p = ops.mul(out, probe);
  return ops.sum(p, [...ops.shape(p).keys()]);
};

const TINY_AUDIOLDM: Partial<UNet2DConditionConfig> = {
  in_channels: 8,
  out_channels: 8,
  down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
  up_block_types: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
  block_out_channels: [16, 16, 32, 32],
  cross_attention_dim: [16, 16, 32, 32],
  norm_num_groups: 8,
  attention_head_dim: [2, 2, 4, 4],
  class_embed_type: "simple_projection",
  projection_class_embeddings_input_dim: 12,
  class_embeddings_concat: true,
};

describe("UNet2DConditionModel on other configurations", () => {
  it("AudioLDM topology at a latent length that is not a multiple of 8 (forwarded upsample sizes): tfjs = ONNX, ∇ = finite differences", async () => {
    const model = new UNet2DConditionModel({ ...TINY_AUDIOLDM, layers_per_block: 1 });
    randomize(model, 11);
    const [b, h, w] = [2, 10, 6]; // 10 → 5 → 3 → 2 and 6 → 3 → 2 → 1, upsampled back to the skips' sizes
    const program: Program = {
      inputs: {
        x: { data: randn(b * 8 * h * w, 1), shape: [b, 8, h, w] },
        t: { data: Int32Array.from([981, 3]), shape: [b] },
        c: { data: randn(b * 12, 2), shape: [b, 12] },
        probe: { data: randn(b * 8 * h * w, 3), shape: [b, 8, h, w] },
      },
      forward: (ops, xs) => ({ out: model.forward(ops, xs.x, xs.t, { classLabels: xs.c }) }),
      loss: (ops, outs, xs) => sumProbe(ops, outs.out, xs.probe),
      gradWrt: ["x", "c"],
    };
    const tfr = await withTfjsBackend("wasm", () => runTfjs(program));
    const onnx = await runOnnx(program, ort, "fp32");
    expect(tfr.outs.out.length).toBe(b * 8 * h * w);
    expect(relL2(tfr.outs.out, onnx.out)).toBeLessThan(1e-5);
    // directional derivative of L along a random direction v, by central differences in float32
    const v = randn(b * 8 * h * w, 4);
    const eps = 1e-2;
    const lossAt = async (sign: number) => {
      const x = Float32Array.from(program.inputs.x.data as Float32Array, (xi, i) => xi + sign * eps * v[i]);
      const r = await withTfjsBackend("wasm", () =>
        runTfjs({
          ...program,
          inputs: { ...program.inputs, x: { data: x, shape: [b, 8, h, w] } },
          gradWrt: [],
        }),
      );
      const p = program.inputs.probe.data as Float32Array;
      return dot(r.outs.out, p);
    };
    const fd = ((await lossAt(1)) - (await lossAt(-1))) / (2 * eps);
    const analytic = dot(tfr.grads["grad.x"], v);
    expect(Math.abs(fd - analytic) / Math.abs(analytic)).toBeLessThan(1e-2);
  });

  it("linear projections, two transformer layers, scale_shift resnets, projection class embedding: tfjs = ONNX", async () => {
    const model = new UNet2DConditionModel({
      in_channels: 4,
      out_channels: 4,
      down_block_types: ["CrossAttnDownBlock2D", "DownBlock2D"],
      up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D"],
      block_out_channels: [16, 32],
      layers_per_block: [1, 2],
      cross_attention_dim: 24,
      norm_num_groups: 4,
      attention_head_dim: 4,
      use_linear_projection: true,
      transformer_layers_per_block: 2,
      resnet_time_scale_shift: "scale_shift",
      class_embed_type: "projection",
      projection_class_embeddings_input_dim: 6,
      time_embedding_act_fn: "silu",
      center_input_sample: true,
      freq_shift: 1,
      flip_sin_to_cos: false,
    });
    randomize(model, 21);
    const first = model.down_blocks[0];
    expect("attentions" in first && first.attentions[0].transformer_blocks.length).toBe(2);
    const program: Program = {
      inputs: {
        x: { data: randn(4 * 8 * 8, 5), shape: [1, 4, 8, 8] },
        t: { data: Float32Array.of(500.5), shape: [] },
        ctx: { data: randn(7 * 24, 6), shape: [1, 7, 24] },
        c: { data: randn(6, 7), shape: [1, 6] },
      },
      forward: (ops, xs) => ({
        out: model.forward(ops, xs.x, xs.t, { encoderHiddenStates: xs.ctx, classLabels: xs.c }),
      }),
    };
    const tfr = await withTfjsBackend("wasm", () => runTfjs(program));
    const onnx = await runOnnx(program, ort, "fp32");
    expect(relL2(tfr.outs.out, onnx.out)).toBeLessThan(1e-5);
  });

  it("rejects every unsupported config value at once, by name", () => {
    let err: unknown;
    try {
      new UNet2DConditionModel(
        {
          down_block_types: ["SimpleCrossAttnDownBlock2D", "DownBlock2D"],
          up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D"],
          block_out_channels: [32, 64],
          addition_embed_type: "text",
          num_attention_heads: 8,
        },
        "test-pack",
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelPackError);
    const msg = (err as Error).message;
    for (const s of ["test-pack", "SimpleCrossAttnDownBlock2D", "addition_embed_type", "num_attention_heads"])
      expect(msg).toContain(s);
  });
});

describe("UNetMotionModel", () => {
  it("with identity motion modules equals the spatial UNet applied frame by frame", async () => {
    const unetConfig: Partial<UNet2DConditionConfig> = {
      block_out_channels: [16, 32],
      down_block_types: ["CrossAttnDownBlock2D", "DownBlock2D"],
      up_block_types: ["UpBlock2D", "CrossAttnUpBlock2D"],
      layers_per_block: 1,
      cross_attention_dim: 8,
      norm_num_groups: 8,
      attention_head_dim: 2,
    };
    const adapter = { block_out_channels: [16, 32], motion_layers_per_block: 1, motion_norm_num_groups: 8 };
    const motion = new UNetMotionModel(unetConfig, adapter);
    randomize(motion, 31);
    // zero every motion module's proj_out: each module then returns its residual
    for (const [k, p] of namedParams(motion))
      if (k.includes("motion_modules") && k.includes("proj_out")) p.set(new Float32Array(p.size));
    const unet = new UNet2DConditionModel(unetConfig);
    const shared = new Map(namedParams(motion));
    for (const [k, p] of namedParams(unet)) p.set(shared.get(k)!.values());
    const [b, c, f, h, w] = [2, 4, 3, 4, 4];
    const x = randn(b * c * f * h * w, 8);
    const ctx = randn(b * 5 * 8, 9);
    const video = await runTfjs({
      inputs: {
        x: { data: x, shape: [b, c, f, h, w] },
        t: { data: Int32Array.from([10, 700]), shape: [b] },
        ctx: { data: ctx, shape: [b, 5, 8] },
      },
      forward: (ops, xs) => ({ out: motion.forward(ops, xs.x, xs.t, { encoderHiddenStates: xs.ctx }) }),
    });
    const got = video.outs.out as Float32Array;
    for (let bi = 0; bi < b; bi++)
      for (let fi = 0; fi < f; fi++) {
        const frame = new Float32Array(c * h * w);
        for (let ci = 0; ci < c; ci++)
          frame.set(
            x.subarray(((bi * c + ci) * f + fi) * h * w, ((bi * c + ci) * f + fi + 1) * h * w),
            ci * h * w,
          );
        const ref = await runTfjs({
          inputs: {
            x: { data: frame, shape: [1, c, h, w] },
            t: { data: Int32Array.of(bi === 0 ? 10 : 700), shape: [1] },
            ctx: { data: ctx.slice(bi * 40, (bi + 1) * 40), shape: [1, 5, 8] },
          },
          forward: (ops, xs) => ({ out: unet.forward(ops, xs.x, xs.t, { encoderHiddenStates: xs.ctx }) }),
        });
        const mine = new Float32Array(c * h * w);
        for (let ci = 0; ci < c; ci++)
          mine.set(
            got.subarray(((bi * c + ci) * f + fi) * h * w, ((bi * c + ci) * f + fi + 1) * h * w),
            ci * h * w,
          );
        expect(relL2(mine, ref.outs.out)).toBeLessThan(1e-5);
      }
  });
});

describe("helpers against float64 references", () => {
  it("upsampleNearest follows torch's nearest rule for ×2 and for forwarded sizes", async () => {
    const cases: [number, number, number, number][] = [
      [3, 5, 6, 10],
      [2, 3, 5, 7],
      [5, 4, 10, 8],
      [4, 1, 7, 3],
      [5, 3, 9, 5],
      [32, 2, 63, 4],
    ];
    for (const [h, w, oh, ow] of cases) {
      const x = randn(2 * h * w, h * 10 + w);
      const p: Program = {
        inputs: { x: { data: x, shape: [1, 2, h, w] } },
        forward: (ops, xs) => ({ y: upsampleNearest(ops, xs.x, [oh, ow]) }),
      };
      const want = new Float32Array(2 * oh * ow);
      const src = (o: number, i: number) =>
        o === 2 * i
          ? (d: number) => d >> 1
          : (d: number) => Math.min(Math.floor(d * Math.fround(i / o)), i - 1);
      const sh = src(oh, h);
      const sw = src(ow, w);
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) want[(c * oh + i) * ow + j] = x[(c * h + sh(i)) * w + sw(j)];
      expect(Array.from((await runTfjs(p)).outs.y)).toEqual(Array.from(want));
      expect(Array.from((await runOnnx(p, ort, "fp32")).y)).toEqual(Array.from(want));
    }
  });

  it("Timesteps matches get_timestep_embedding (flip, shift, odd width)", async () => {
    for (const [dim, flip, shift] of [
      [32, true, 0],
      [10, false, 1],
      [7, true, 0],
    ] as const) {
      const ts = [0, 1, 421, 999];
      const emb = new Timesteps(dim, flip, shift);
      const r = await runTfjs({
        inputs: { t: { data: Int32Array.from(ts), shape: [4] } },
        forward: (ops, xs) => ({ e: emb.forward(ops, xs.t) }),
      });
      const half = Math.floor(dim / 2);
      const want = new Float64Array(4 * dim);
      ts.forEach((t, n) => {
        for (let i = 0; i < half; i++) {
          const a = t * Math.exp((-Math.log(10000) * i) / (half - shift));
          want[n * dim + (flip ? half + i : i)] = Math.sin(a);
          want[n * dim + (flip ? i : half + i)] = Math.cos(a);
        }
      });
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(r.outs.e[i] - want[i]));
      expect(worst).toBeLessThan(1e-3); // float32 arguments up to ~1e3 rad
    }
  });
});

describe("AutoencoderKL", () => {
  it("round-trips shapes for a 1-channel mel VAE and keeps logvar in [−30, 20]", async () => {
    const vae = new AutoencoderKL({
      in_channels: 1,
      out_channels: 1,
      down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
      up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
      block_out_channels: [8, 8, 16],
      latent_channels: 8,
      norm_num_groups: 4,
      scaling_factor: 0.9138,
    });
    randomize(vae, 41);
    const r = rng(5);
    // push the encoder's quant_conv bias to extremes so the clamp is active on both ends
    const qb = vae.quant_conv!.bias!;
    qb.set(Float32Array.from({ length: qb.size }, (_, i) => (i < 8 ? r() : i % 2 ? 500 : -500)));
    const out = await runTfjs({
      inputs: { mel: { data: randn(20 * 16, 6), shape: [1, 1, 20, 16] } },
      forward: (ops, xs) => {
        const d = vae.encode(ops, xs.mel);
        return { mean: d.mean, logvar: d.logvar, std: d.std, mel: vae.decode(ops, d.mean) };
      },
    });
    expect(out.outs.mean.length).toBe(8 * 5 * 4);
    expect(out.outs.mel.length).toBe(20 * 16);
    expect(Math.max(...out.outs.logvar)).toBe(20);
    expect(Math.min(...out.outs.logvar)).toBe(-30);
    expect(vae.scaleFactor).toBe(4);
  });

  it("decodeVideo decodes frames independently, whatever the chunk size", async () => {
    const vae = new AutoencoderKL({
      down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D"],
      up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D"],
      block_out_channels: [8, 8],
      norm_num_groups: 4,
    });
    randomize(vae, 51);
    const [b, c, f, h, w] = [2, 4, 3, 3, 2];
    const z = randn(b * c * f * h * w, 10);
    const r = await runTfjs({
      inputs: { z: { data: z, shape: [b, c, f, h, w] } },
      forward: (ops, xs) => ({
        all: vae.decodeVideo(ops, xs.z),
        chunked: vae.decodeVideo(ops, xs.z, 4),
        frame: vae.decode(ops, ops.reshape(ops.slice(ops.slice(xs.z, 0, 1, 2), 2, 2, 3), [1, c, h, w])),
      }),
    });
    expect(relL2(r.outs.chunked, r.outs.all)).toBeLessThan(1e-6);
    // frame (b=1, f=2) of the [B, 3, F, 2h, 2w] video equals that frame decoded alone
    const [H, W] = [2 * h, 2 * w];
    const got = new Float32Array(3 * H * W);
    for (let ch = 0; ch < 3; ch++)
      got.set(
        r.outs.all.subarray(((1 * 3 + ch) * f + 2) * H * W, ((1 * 3 + ch) * f + 3) * H * W),
        ch * H * W,
      );
    expect(relL2(got, r.outs.frame)).toBeLessThan(1e-6);
  });
});
