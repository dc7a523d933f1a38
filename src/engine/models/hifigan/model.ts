/**
 * `SpeechT5HifiGan` and `HifiGanResidualBlock` (transformers models/speecht5/modeling_speecht5.py), written once
 * against Ops. Field names are the checkpoint keys (`conv_pre`, `upsampler.i`, `resblocks.j.convs1.k`,
 * `conv_post`, buffers `mean`/`scale`), so `vocoder/diffusion_pytorch_model.safetensors` of AudioLDM loads
 * unchanged (weight-norm is already folded into `.weight` there).
 *
 * AudioLDM (SPEC §5.1, B.5): mel [B, T, 64] → waveform [B, 160·T + 32]. It sits on the guidance gradient path,
 * so it runs on the tfjs executor too; its dilated resblock convolutions are lowered by that executor
 * (DESIGN.md pitfalls: tfjs has no gradient for dilated convolutions).
 */
import { BadInputError } from "../../errors.js";
import { type Conv, Conv1d, ConvTranspose } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams, Param } from "../../ops/param.js";
import { type SpeechT5HifiGanConfig, speecht5HifiGanConfig } from "./config.js";

/** torch `F.leaky_relu` default `negative_slope` — what the final activation before `conv_post` uses. */
const TORCH_LEAKY_RELU_DEFAULT_SLOPE = 0.01;

/** `HifiGanResidualBlock(channels, kernel_size, dilation, leaky_relu_slope)`. */
export class HifiGanResidualBlock {
  readonly convs1: Conv[];
  readonly convs2: Conv[];
  private readonly _slope: number;
  constructor(channels: number, kernel_size: number, dilation: readonly number[], leaky_relu_slope: number) {
    // get_padding(k, d) = (k·d − d) // 2: "same" length for odd k.
    this.convs1 = dilation.map((d) =>
      Conv1d(channels, channels, kernel_size, {
        dilation: d,
        padding: Math.floor((kernel_size * d - d) / 2),
      }),
    );
    this.convs2 = dilation.map(() =>
      Conv1d(channels, channels, kernel_size, { padding: Math.floor((kernel_size - 1) / 2) }),
    );
    this._slope = leaky_relu_slope;
  }

  /** x [B, C, L] → [B, C, L]: for each (conv1, conv2): x = x + conv2(lrelu(conv1(lrelu(x)))). */
  forward<T>(ops: Ops<T>, x: T): T {
    let h = x;
    for (let i = 0; i < this.convs1.length; i++) {
      const residual = h;
      h = this.convs1[i].forward(ops, ops.leakyRelu(h, this._slope));
      h = this.convs2[i].forward(ops, ops.leakyRelu(h, this._slope));
      h = ops.add(h, residual);
    }
    return h;
  }
}

export class SpeechT5HifiGan {
  readonly conv_pre: Conv;
  readonly upsampler: ConvTranspose[];
  readonly resblocks: HifiGanResidualBlock[];
  readonly conv_post: Conv;
  /** `register_buffer("mean", zeros(model_in_dim))`: persistent, present in every converted checkpoint. */
  readonly mean: Param;
  /** `register_buffer("scale", ones(model_in_dim))`. */
  readonly scale: Param;
  readonly config: SpeechT5HifiGanConfig;

  constructor(config: Partial<SpeechT5HifiGanConfig> | Readonly<Record<string, unknown>> = {}) {
    const c = speecht5HifiGanConfig(config);
    this.config = c;
    const ch0 = c.upsample_initial_channel;
    this.conv_pre = Conv1d(c.model_in_dim, ch0, 7, { padding: 3 });
    this.upsampler = c.upsample_rates.map((u, i) => {
      const k = c.upsample_kernel_sizes[i];
      return new ConvTranspose(ch0 / 2 ** i, ch0 / 2 ** (i + 1), k, 1, {
        stride: u,
        padding: Math.floor((k - u) / 2),
      });
    });
    this.resblocks = [];
    for (let i = 0; i < c.upsample_rates.length; i++) {
      const channels = ch0 / 2 ** (i + 1);
      c.resblock_kernel_sizes.forEach((k, j) => {
        this.resblocks.push(
          new HifiGanResidualBlock(channels, k, c.resblock_dilation_sizes[j], c.leaky_relu_slope),
        );
      });
    }
    this.conv_post = Conv1d(ch0 / 2 ** c.upsample_rates.length, 1, 7, { padding: 3 });
    this.mean = new Param([c.model_in_dim], { buffer: true });
    this.scale = new Param([c.model_in_dim], { buffer: true });
    nameParams(this);
  }

  /**
   * Log-mel spectrogram → waveform. `spectrogram` [B, T, model_in_dim] → [B, L]; un-batched [T, model_in_dim]
   * → [L] (upstream's `is_batched` branch). L = `hifiganOutputLength(config, T)` (AudioLDM: 160·T + 32).
   */
  forward<T>(ops: Ops<T>, spectrogram: T): T {
    const c = this.config;
    const shape = ops.shape(spectrogram);
    if ((shape.length !== 2 && shape.length !== 3) || shape[shape.length - 1] !== c.model_in_dim)
      throw new BadInputError(
        `vocoder input [${shape}]: expected a log-mel spectrogram [B, T, ${c.model_in_dim}] or [T, ${c.model_in_dim}]`,
      );
    let x = spectrogram;
    // 1. optional normalisation with the checkpoint's statistics (AudioLDM: normalize_before = false).
    if (c.normalize_before) x = ops.div(ops.sub(x, ops.param(this.mean)), ops.param(this.scale));
    const batched = shape.length === 3;
    if (!batched) x = ops.reshape(x, [1, ...shape]);
    // 2. time-major mel → channels-first [B, C, T]
    let h = this.conv_pre.forward(ops, ops.transpose(x, [0, 2, 1]));
    // 3. upsample stages: lrelu → ConvTranspose1d → mean of the resblocks of every kernel size
    const nk = c.resblock_kernel_sizes.length;
    for (let i = 0; i < this.upsampler.length; i++) {
      h = this.upsampler[i].forward(ops, ops.leakyRelu(h, c.leaky_relu_slope));
      // resblocks are checkpoints: the guidance backward recomputes them instead of keeping their activations
      const rb = (j: number, x: T) => ops.checkpoint((v) => this.resblocks[i * nk + j].forward(ops, v), x);
      let res = rb(0, h);
      for (let j = 1; j < nk; j++) res = ops.add(res, rb(j, h));
      h = ops.div(res, nk);
    }
    // 4. upstream calls `nn.functional.leaky_relu(hidden_states)` here with torch's default slope 0.01, not
    //    config.leaky_relu_slope (quirk pinned by the hifigan golden).
    h = this.conv_post.forward(ops, ops.leakyRelu(h, TORCH_LEAKY_RELU_DEFAULT_SLOPE));
    const [b, , l] = ops.shape(h);
    // 5. tanh, drop the single channel: [B, 1, L] → [B, L] (un-batched: [L])
    const wave = ops.tanh(h);
    return batched ? ops.reshape(wave, [b, l]) : ops.reshape(wave, [l]);
  }
}
