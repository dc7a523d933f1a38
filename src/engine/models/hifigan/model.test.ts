/** SpeechT5HifiGan beyond the goldens: other small configs, both executors, un-batched input, config checks. */
import * as tf from "@tensorflow/tfjs-core";
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { type Program, runOnnx, runTfjs } from "../../../../test/parity/harness.js";
import { relL2 } from "../../../../test/support/golden.js";
import { randn } from "../../../../test/support/naive.js";
import { BadInputError, ModelPackError } from "../../errors.js";
import type { OrtModule } from "../../ops/onnx/session.js";
import { namedParams } from "../../ops/param.js";
import { TfjsOps } from "../../ops/tfjs.js";
import { audioldmVocoderConfig, hifiganOutputLength, speecht5HifiGanConfig } from "./config.js";
import { SpeechT5HifiGan } from "./model.js";

beforeAll(() => {
  ortWeb.env.wasm.numThreads = 1;
});

function randomized(config: ConstructorParameters<typeof SpeechT5HifiGan>[0], seed: number) {
  const m = new SpeechT5HifiGan(config);
  namedParams(m).forEach(([name, p], i) => {
    const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
    const v = randn(
      p.size,
      seed + i,
      name === "scale" ? 0.1 : p.shape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.1,
    );
    if (name === "scale") for (let j = 0; j < v.length; j++) v[j] += 1;
    p.set(v);
  });
  return m;
}

const SMALL = {
  model_in_dim: 8,
  upsample_initial_channel: 16,
  upsample_rates: [3, 2],
  upsample_kernel_sizes: [7, 4],
  resblock_kernel_sizes: [3, 5],
  resblock_dilation_sizes: [
    [1, 2],
    [1, 3, 4],
  ],
  leaky_relu_slope: 0.2,
  normalize_before: true,
};

describe("SpeechT5HifiGan", () => {
  it("maps T mel frames to 160·T + 32 samples with the AudioLDM config", () => {
    const c = speecht5HifiGanConfig(audioldmVocoderConfig);
    for (const t of [1, 16, 800, 1000]) expect(hifiganOutputLength(c, t)).toBe(160 * t + 32);
  });

  it("agrees across executors on another small config, batched and un-batched", async () => {
    const m = randomized(SMALL, 40);
    const mel = { data: randn(2 * 11 * 8, 7), shape: [2, 11, 8] };
    const program: Program = {
      inputs: { mel },
      forward: (ops, xs) => ({ wave: m.forward(ops, xs.mel) }),
    };
    const tfr = await runTfjs(program);
    const onnx = await runOnnx(program, ortWeb as unknown as OrtModule, "fp32");
    const len = hifiganOutputLength(m.config, 11);
    expect(tfr.outs.wave.length).toBe(2 * len);
    expect(relL2(onnx.wave, tfr.outs.wave).rel).toBeLessThan(1e-5);
    // un-batched [T, mel] → [L], equal to the first row
    const ops = new TfjsOps();
    const one = tf.tidy(() => m.forward(ops, tf.tensor(mel.data.slice(0, 11 * 8), [11, 8])));
    expect(one.shape).toEqual([len]);
    expect(relL2(one.dataSync(), tfr.outs.wave.slice(0, len)).rel).toBeLessThan(1e-6);
    ops.dispose();
  });

  it("rejects inconsistent configs and wrong inputs with typed errors", () => {
    expect(() => new SpeechT5HifiGan({ upsample_rates: [4, 4], upsample_kernel_sizes: [8] })).toThrow(
      ModelPackError,
    );
    expect(() => new SpeechT5HifiGan({ resblock_kernel_sizes: [4, 7, 11] })).toThrow(ModelPackError);
    const m = randomized(SMALL, 1);
    const ops = new TfjsOps();
    expect(() => m.forward(ops, tf.zeros([1, 5, 9]))).toThrow(BadInputError);
    ops.dispose();
  });
});
