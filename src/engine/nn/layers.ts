/**
 * Basic layers written once against `Ops` (STYLE.md 5). Field names are torch's (`weight`, `bias`), so module
 * trees built from these yield upstream state-dict keys. A missing optional part is `null`, never renamed.
 */
import type { ConvOptions, ConvTransposeOptions, Ops } from "../ops/ops.js";
import { Param } from "../ops/param.js";

/** torch.nn.Linear: weight [out, in], y = x Wᵀ + b. */
export class Linear {
  readonly weight: Param;
  readonly bias: Param | null;
  constructor(
    readonly in_features: number,
    readonly out_features: number,
    bias = true,
  ) {
    this.weight = new Param([out_features, in_features]);
    this.bias = bias ? new Param([out_features]) : null;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.linear(x, this.weight, this.bias);
  }
}

export interface ConvNdOptions {
  stride?: number | readonly number[];
  padding?: number | readonly number[] | readonly (readonly [number, number])[];
  dilation?: number | readonly number[];
  groups?: number;
  bias?: boolean;
}

/** torch.nn.Conv1d/2d/3d by the kernel's rank: weight [O, C/groups, ...k]. */
export class Conv {
  readonly weight: Param;
  readonly bias: Param | null;
  private readonly _opts: ConvOptions;
  constructor(
    inChannels: number,
    outChannels: number,
    kernel: number | readonly number[],
    dims: 1 | 2 | 3,
    opts: ConvNdOptions = {},
  ) {
    const k = typeof kernel === "number" ? new Array(dims).fill(kernel) : [...kernel];
    const groups = opts.groups ?? 1;
    this.weight = new Param([outChannels, inChannels / groups, ...k]);
    this.bias = opts.bias === false ? null : new Param([outChannels]);
    this._opts = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups };
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.conv(x, ops.param(this.weight), this.bias ? ops.param(this.bias) : null, this._opts);
  }
}

export const Conv1d = (cin: number, cout: number, k: number, o?: ConvNdOptions) =>
  new Conv(cin, cout, k, 1, o);
export const Conv2d = (cin: number, cout: number, k: number | readonly number[], o?: ConvNdOptions) =>
  new Conv(cin, cout, k, 2, o);
export const Conv3d = (cin: number, cout: number, k: number | readonly number[], o?: ConvNdOptions) =>
  new Conv(cin, cout, k, 3, o);

/** torch.nn.ConvTranspose1d/2d: weight [C_in, C_out, ...k]. */
export class ConvTranspose {
  readonly weight: Param;
  readonly bias: Param | null;
  private readonly _opts: ConvTransposeOptions;
  constructor(
    inChannels: number,
    outChannels: number,
    kernel: number,
    dims: 1 | 2,
    opts: ConvTransposeOptions & { bias?: boolean } = {},
  ) {
    this.weight = new Param([inChannels, outChannels, ...new Array(dims).fill(kernel)]);
    this.bias = opts.bias === false ? null : new Param([outChannels]);
    this._opts = { stride: opts.stride, padding: opts.padding, outputPadding: opts.outputPadding };
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.convTranspose(x, ops.param(this.weight), this.bias ? ops.param(this.bias) : null, this._opts);
  }
}

/** torch.nn.LayerNorm over the last dim. */
export class LayerNorm {
  readonly weight: Param | null;
  readonly bias: Param | null;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
    affine = true,
  ) {
    this.weight = affine ? new Param([dim]) : null;
    this.bias = affine ? new Param([dim]) : null;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.layerNorm(
      x,
      this.weight ? ops.param(this.weight) : null,
      this.bias ? ops.param(this.bias) : null,
      this.eps,
      -1,
    );
  }
}

/** torch.nn.GroupNorm on channels-first input [N, C, ...]. */
export class GroupNorm {
  readonly weight: Param | null;
  readonly bias: Param | null;
  constructor(
    readonly num_groups: number,
    readonly num_channels: number,
    readonly eps = 1e-5,
    affine = true,
  ) {
    if (num_channels % num_groups !== 0)
      throw new RangeError(`GroupNorm: ${num_channels} channels not divisible by ${num_groups} groups`);
    this.weight = affine ? new Param([num_channels]) : null;
    this.bias = affine ? new Param([num_channels]) : null;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const shape = ops.shape(x);
    const [n, c] = shape;
    const spatial = shape.slice(2);
    const g = ops.reshape(x, [n, this.num_groups, -1]);
    let y = ops.reshape(ops.layerNorm(g, null, null, this.eps, 2), shape);
    const bshape = [1, c, ...spatial.map(() => 1)];
    if (this.weight) y = ops.mul(y, ops.reshape(ops.param(this.weight), bshape));
    if (this.bias) y = ops.add(y, ops.reshape(ops.param(this.bias), bshape));
    return y;
  }
}

/** torch.nn.Embedding: weight [num, dim]; ids int32 of any shape. */
export class Embedding {
  readonly weight: Param;
  constructor(
    readonly num_embeddings: number,
    readonly embedding_dim: number,
  ) {
    this.weight = new Param([num_embeddings, embedding_dim]);
  }
  forward<T>(ops: Ops<T>, ids: T): T {
    return ops.gather(ops.param(this.weight), ids, 0);
  }
}
