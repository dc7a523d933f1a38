/**
 * Attention, FeedForward and BasicTransformerBlock (mirror diffusers models/attention_processor.py `Attention` +
 * `AttnProcessor2_0`, and models/attention.py `FeedForward`, `GEGLU`, `BasicTransformerBlock`, v0.26.3).
 * Token tensors are [B, L, C]; `Attention` also takes feature maps [B, C, H, W] (the VAE mid-block attention).
 */
import { gelu, geluTanh } from "../../nn/activations.js";
import { GroupNorm, LayerNorm, Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { SinusoidalPositionalEmbedding } from "./embeddings.js";

export interface AttentionOptions {
  query_dim: number;
  /** Width of `encoder_hidden_states`; null: self-attention only (to_k/to_v take query_dim). */
  cross_attention_dim?: number | null;
  heads?: number;
  dim_head?: number;
  /** Bias on to_q/to_k/to_v. */
  bias?: boolean;
  out_bias?: boolean;
  /** A GroupNorm applied to the input first (VAE attention); null: none. */
  norm_num_groups?: number | null;
  eps?: number;
  residual_connection?: boolean;
  rescale_output_factor?: number;
}

/** Mirrors diffusers `Attention` with the default processor (scale = dim_head^−½, softmax in fp32). */
export class Attention {
  readonly group_norm: GroupNorm | null;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  /** `to_out.0` is the Linear, `to_out.1` a Dropout (no parameters). */
  readonly to_out: readonly [Linear, null];
  readonly heads: number;
  private readonly _dimHead: number;
  private readonly _residual: boolean;
  private readonly _rescale: number;

  constructor(o: AttentionOptions) {
    this.heads = o.heads ?? 8;
    this._dimHead = o.dim_head ?? 64;
    const inner = this.heads * this._dimHead;
    const kvDim = o.cross_attention_dim ?? o.query_dim;
    const bias = o.bias ?? false;
    this.group_norm =
      o.norm_num_groups != null ? new GroupNorm(o.norm_num_groups, o.query_dim, o.eps ?? 1e-5) : null;
    this.to_q = new Linear(o.query_dim, inner, bias);
    this.to_k = new Linear(kvDim, inner, bias);
    this.to_v = new Linear(kvDim, inner, bias);
    this.to_out = [new Linear(inner, o.query_dim, o.out_bias ?? true), null];
    this._residual = o.residual_connection ?? false;
    this._rescale = o.rescale_output_factor ?? 1;
  }

  /**
   * hidden [B, L, C] or [B, C, H, W]; context [B, Lk, C_ctx] or null (self-attention, as diffusers does when
   * `encoder_hidden_states` is None) → same shape as `hidden`.
   */
  forward<T>(ops: Ops<T>, hidden: T, context: T | null = null): T {
    const shape = ops.shape(hidden);
    const spatial = shape.length === 4;
    const [b, c] = shape;
    let x = hidden;
    if (this.group_norm) x = this.group_norm.forward(ops, x); // GroupNorm over [B, C, ...] either way
    if (spatial)
      x = ops.transpose(ops.reshape(x, [b, c, -1]), [0, 2, 1]); // [B, HW, C]
    else if (this.group_norm)
      throw new RangeError("Attention with group_norm expects a feature map [B, C, H, W]");
    const kvIn = context ?? x;
    const o = this.attend(
      ops,
      this.to_q.forward(ops, x),
      this.to_k.forward(ops, kvIn),
      this.to_v.forward(ops, kvIn),
    );
    let y = this.to_out[0].forward(ops, o); // [B, L, C]
    if (spatial) y = ops.reshape(ops.transpose(y, [0, 2, 1]), shape);
    if (this._residual) y = ops.add(y, hidden);
    return this._rescale === 1 ? y : ops.div(y, this._rescale);
  }

  /** Multi-head scaled dot-product attention: q [B, Lq, H·D], k/v [B, Lk, H·D] → [B, Lq, H·D]. */
  private attend<T>(ops: Ops<T>, q: T, k: T, v: T): T {
    const h = this.heads;
    const d = this._dimHead;
    const [b, lq] = ops.shape(q);
    const lk = ops.shape(k)[1];
    const split = (t: T, l: number) =>
      h === 1 ? ops.reshape(t, [b, 1, l, d]) : ops.transpose(ops.reshape(t, [b, l, h, d]), [0, 2, 1, 3]);
    const o = ops.attention(split(q, lq), split(k, lk), split(v, lk), { scale: 1 / Math.sqrt(d) });
    return h === 1 ? ops.reshape(o, [b, lq, d]) : ops.reshape(ops.transpose(o, [0, 2, 1, 3]), [b, lq, h * d]);
  }
}

export type FeedForwardActivation = "geglu" | "gelu" | "gelu-approximate";

/** Mirrors diffusers `GEGLU` / `GELU`: `proj` then the gate (GEGLU: value · gelu(gate), halves of one Linear). */
class GatedProjection {
  readonly proj: Linear;
  constructor(
    dim: number,
    inner: number,
    private readonly _kind: FeedForwardActivation,
  ) {
    this.proj = new Linear(dim, this._kind === "geglu" ? 2 * inner : inner);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const h = this.proj.forward(ops, x);
    if (this._kind === "gelu") return gelu(ops, h);
    if (this._kind === "gelu-approximate") return geluTanh(ops, h);
    const n = ops.shape(h).at(-1)! / 2;
    return ops.mul(ops.slice(h, -1, 0, n), gelu(ops, ops.slice(h, -1, n, 2 * n)));
  }
}

/** Mirrors diffusers `FeedForward`: net.0 (activation projection), net.1 Dropout, net.2 Linear. */
export class FeedForward {
  readonly net: readonly [GatedProjection, null, Linear];
  constructor(
    dim: number,
    activation_fn: FeedForwardActivation = "geglu",
    mult = 4,
    dim_out: number | null = null,
  ) {
    const inner = dim * mult;
    this.net = [new GatedProjection(dim, inner, activation_fn), null, new Linear(inner, dim_out ?? dim)];
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.net[2].forward(ops, this.net[0].forward(ops, x));
  }
}

export interface BasicTransformerBlockOptions {
  dim: number;
  num_attention_heads: number;
  attention_head_dim: number;
  cross_attention_dim?: number | null;
  activation_fn?: FeedForwardActivation;
  attention_bias?: boolean;
  /** attn2 is a second self-attention (AnimateDiff motion modules). */
  double_self_attention?: boolean;
  norm_eps?: number;
  /** "sinusoidal" adds `pos_embed` to the normed states before each attention. */
  positional_embeddings?: "sinusoidal" | null;
  num_positional_embeddings?: number | null;
}

/**
 * Mirrors diffusers `BasicTransformerBlock` with norm_type "layer_norm":
 *   x += attn1(LN1(x));  x += attn2(LN2(x), context);  x += ff(LN3(x)).
 * attn2 exists when cross_attention_dim is set or double_self_attention; with `context` null it self-attends on
 * LN2(x) (AudioLDM passes encoder_hidden_states=None).
 */
export class BasicTransformerBlock {
  readonly pos_embed: SinusoidalPositionalEmbedding | null;
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm | null;
  readonly attn2: Attention | null;
  readonly norm3: LayerNorm;
  readonly ff: FeedForward;

  constructor(o: BasicTransformerBlockOptions) {
    const eps = o.norm_eps ?? 1e-5;
    const common = {
      query_dim: o.dim,
      heads: o.num_attention_heads,
      dim_head: o.attention_head_dim,
      bias: o.attention_bias ?? false,
    };
    this.pos_embed =
      o.positional_embeddings === "sinusoidal"
        ? new SinusoidalPositionalEmbedding(o.dim, o.num_positional_embeddings ?? 32)
        : null;
    this.norm1 = new LayerNorm(o.dim, eps);
    this.attn1 = new Attention(common);
    const hasAttn2 = o.cross_attention_dim != null || (o.double_self_attention ?? false);
    this.norm2 = hasAttn2 ? new LayerNorm(o.dim, eps) : null;
    this.attn2 = hasAttn2
      ? new Attention({
          ...common,
          cross_attention_dim: o.double_self_attention ? null : o.cross_attention_dim,
        })
      : null;
    this.norm3 = new LayerNorm(o.dim, eps);
    this.ff = new FeedForward(o.dim, o.activation_fn ?? "geglu");
  }

  /** x [B, L, dim], context [B, Lk, cross_attention_dim] or null → [B, L, dim] */
  forward<T>(ops: Ops<T>, x: T, context: T | null): T {
    const pos = (t: T) => (this.pos_embed ? this.pos_embed.forward(ops, t) : t);
    let h = ops.add(x, this.attn1.forward(ops, pos(this.norm1.forward(ops, x))));
    if (this.attn2 && this.norm2)
      h = ops.add(h, this.attn2.forward(ops, pos(this.norm2.forward(ops, h)), context));
    return ops.add(h, this.ff.forward(ops, this.norm3.forward(ops, h)));
  }
}
