/**
 * ImageBindModel (facebookresearch/ImageBind imagebind_model.py, as vendored by the official Seeing-and-Hearing
 * code), written once against Ops. Module paths mirror the checkpoint: `modality_preprocessors.<m>`,
 * `modality_trunks.<m>`, `modality_heads.<m>`, `modality_postprocessors.<m>`, so `imagebind_huge.pth` loads
 * unchanged (manifest: shared/fixtures/golden/manifests/imagebind_huge.json).
 *
 * Shapes at the boundaries (huge: D_v 1280, D_a 768, D_t 1024, out 1024):
 *   vision  [B, 3, 224, 224] image, or [B, S, 3, T=2, 224, 224] clips → [B, out]
 *   audio   [B, 1, 128, 204] or [B, S, 1, 128, 204] clips             → [B, out]
 *   text    [B, 77] int32 token ids                                    → [B, out]
 * Inputs with ndim ≥ 5 fold (B, S) into the batch; the per-clip embeddings are averaged over S after the
 * postprocessor, without renormalising (SPEC §3.9).
 */
import { BadInputError, UnsupportedError } from "../../errors.js";
import { l2normalize } from "../../nn/activations.js";
import { type Conv, Conv2d, Conv3d, Embedding, LayerNorm, Linear } from "../../nn/layers.js";
import type { Ops } from "../../ops/ops.js";
import { nameParams, Param } from "../../ops/param.js";
import { IMAGEBIND_TEXT, type ImageBindConfig, imagebindConfig } from "./config.js";
import { SimpleTransformer } from "./transformer.js";

export type Modality = "vision" | "text" | "audio" | "depth" | "thermal" | "imu";
export const MODALITIES: readonly Modality[] = ["vision", "text", "audio", "depth", "thermal", "imu"];

/** PatchEmbedGeneric with a single conv and a LayerNorm (audio/depth/thermal stems). */
class PatchEmbedWithNorm {
  readonly proj: Conv;
  readonly norm_layer: LayerNorm;
  constructor(dim: number, kernel: number, stride: number) {
    this.proj = Conv2d(1, dim, kernel, { stride, bias: false });
    this.norm_layer = new LayerNorm(dim, 1e-5); // torch default eps (SPEC quirk: not 1e-6)
  }
  /** [N, 1, H, W] → [N, P, D] */
  forward<T>(ops: Ops<T>, x: T): T {
    const y = this.proj.forward(ops, x);
    const [n, d] = ops.shape(y);
    return this.norm_layer.forward(ops, ops.transpose(ops.reshape(y, [n, d, -1]), [0, 2, 1]));
  }
}

class PosEmbeddingHelper {
  readonly pos_embed: Param;
  constructor(tokens: number, dim: number) {
    this.pos_embed = new Param([1, tokens, dim]);
  }
}

/** RGBDTPreprocessor / AudioPreprocessor / ThermalPreprocessor: stem → tokens, prepend cls, add pos. */
class PatchPreprocessor {
  readonly cls_token: Param;
  readonly pos_embedding_helper: PosEmbeddingHelper;
  constructor(dim: number, patches: number) {
    this.cls_token = new Param([1, 1, dim]);
    this.pos_embedding_helper = new PosEmbeddingHelper(patches + 1, dim);
  }
  protected addClsAndPos<T>(ops: Ops<T>, tokens: T): T {
    const [n, p, d] = ops.shape(tokens);
    const expected = this.pos_embedding_helper.pos_embed.shape[1] - 1;
    if (p !== expected)
      throw new BadInputError(
        `ImageBind input produced ${p} patches, expected ${expected}: check the input size`,
      );
    const cls = ops.broadcastTo(ops.param(this.cls_token), [n, 1, d]);
    return ops.add(ops.concat([cls, tokens], 1), ops.param(this.pos_embedding_helper.pos_embed));
  }
}

class VisionPreprocessor extends PatchPreprocessor {
  /** proj.0 is PadIm2Video (no parameters), proj.1 the Conv3d stem. */
  readonly rgbt_stem: { proj: readonly [null, Conv] };
  constructor(cfg: ImageBindConfig) {
    const [kt, kh, kw] = cfg.kernel_size;
    super(cfg.vision_embed_dim, (cfg.video_frames / kt) * (224 / kh) * (224 / kw));
    this.rgbt_stem = {
      proj: [
        null,
        Conv3d(3, cfg.vision_embed_dim, cfg.kernel_size, { stride: cfg.kernel_size, bias: false }),
      ],
    };
  }
  forward<T>(ops: Ops<T>, x: T, videoFrames: number): T {
    // PadIm2Video(pad_type="repeat", ntimes=2, time_dim=2)
    let v = x;
    if (ops.shape(v).length === 4)
      v = ops.reshape(v, [...ops.shape(v).slice(0, 2), 1, ...ops.shape(v).slice(2)]);
    const s = ops.shape(v);
    if (s[2] === 1) v = ops.broadcastTo(v, [s[0], s[1], videoFrames, s[3], s[4]]);
    const y = this.rgbt_stem.proj[1].forward(ops, v); // [N, D, T', H', W']
    const [n, d] = ops.shape(y);
    return this.addClsAndPos(ops, ops.transpose(ops.reshape(y, [n, d, -1]), [0, 2, 1]));
  }
}

class AudioPreprocessor extends PatchPreprocessor {
  readonly rgbt_stem: PatchEmbedWithNorm;
  constructor(cfg: ImageBindConfig) {
    const k = cfg.audio_kernel_size;
    const s = cfg.audio_stride;
    const patches =
      (Math.floor((cfg.audio_num_mel_bins - k) / s) + 1) * (Math.floor((cfg.audio_target_len - k) / s) + 1);
    super(cfg.audio_embed_dim, patches);
    this.rgbt_stem = new PatchEmbedWithNorm(cfg.audio_embed_dim, k, s);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.addClsAndPos(ops, this.rgbt_stem.forward(ops, x));
  }
}

class DepthPreprocessor extends PatchPreprocessor {
  readonly depth_stem: PatchEmbedWithNorm;
  constructor(cfg: ImageBindConfig) {
    const k = cfg.depth_kernel_size;
    super(cfg.depth_embed_dim, (224 / k) ** 2);
    this.depth_stem = new PatchEmbedWithNorm(cfg.depth_embed_dim, k, k);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.addClsAndPos(ops, this.depth_stem.forward(ops, x));
  }
}

class ThermalPreprocessor extends PatchPreprocessor {
  readonly rgbt_stem: PatchEmbedWithNorm;
  constructor(cfg: ImageBindConfig) {
    const k = cfg.thermal_kernel_size;
    super(cfg.thermal_embed_dim, (224 / k) ** 2);
    this.rgbt_stem = new PatchEmbedWithNorm(cfg.thermal_embed_dim, k, k);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.addClsAndPos(ops, this.rgbt_stem.forward(ops, x));
  }
}

/** IMUPreprocessor: module tree only (the studio does not use IMU; its forward is not implemented). */
class ImuPreprocessor {
  readonly pos_embed: Param;
  readonly cls_token: Param;
  readonly imu_stem: { proj: Linear; norm_layer: LayerNorm };
  constructor(cfg: ImageBindConfig) {
    const d = cfg.imu_embed_dim;
    this.pos_embed = new Param([1, 2000 / cfg.imu_kernel_size + 1, d]);
    this.cls_token = new Param([1, 1, d]);
    this.imu_stem = {
      proj: new Linear(6 * cfg.imu_kernel_size, d, false),
      norm_layer: new LayerNorm(d, 1e-5),
    };
  }
}

class TextPreprocessor {
  readonly pos_embed: Param;
  /** Causal mask buffer (0 on/below the diagonal, −inf above), stored in the checkpoint. */
  readonly mask: Param;
  readonly token_embedding: Embedding;
  constructor(dim: number) {
    const L = IMAGEBIND_TEXT.context_length;
    this.pos_embed = new Param([1, L, dim]);
    this.mask = new Param([L, L], { buffer: true, optional: true, init: () => causalMask(L) });
    this.token_embedding = new Embedding(IMAGEBIND_TEXT.vocab_size, dim);
  }
  forward<T>(ops: Ops<T>, ids: T): T {
    return ops.add(this.token_embedding.forward(ops, ids), ops.param(this.pos_embed));
  }
}

function causalMask(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = Number.NEGATIVE_INFINITY;
  return m;
}

class LogitScaling {
  readonly log_logit_scale: Param;
  constructor(learnable: boolean) {
    this.log_logit_scale = new Param([], { buffer: !learnable });
  }
  /** clip(exp(log_logit_scale), max=100) · x (LearnableLogitScaling, max_logit_scale 100). */
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.mul(x, ops.minimum(ops.exp(ops.param(this.log_logit_scale)), 100));
  }
}

/**
 * Head: Sequential(LayerNorm(eps 1e-6), SelectElement(0)[, Dropout], Linear(no bias)). Held as the Sequential's
 * list so keys read `modality_heads.audio.0.weight` / `.2.weight` (`.3.weight` for IMU, which has a Dropout).
 */
type ClsHead = readonly (LayerNorm | Linear | null)[];

function clsHead(dim: number, out: number, linearIndex: number): ClsHead {
  return [
    new LayerNorm(dim, 1e-6),
    ...new Array<null>(linearIndex - 1).fill(null),
    new Linear(dim, out, false),
  ];
}

function clsHeadForward<T>(ops: Ops<T>, head: ClsHead, x: T): T {
  const norm = head[0] as LayerNorm;
  const proj = head[head.length - 1] as Linear;
  const cls = ops.reshape(ops.slice(norm.forward(ops, x), 1, 0, 1), [ops.shape(x)[0], -1]);
  return proj.forward(ops, cls);
}

/** SelectEOSAndProject(proj=Sequential(LayerNorm, Linear(no bias))): pools the token at argmax(ids). */
class TextHead {
  readonly proj: readonly [LayerNorm, Linear];
  private readonly _rowStarts = new Map<number, Int32Array>();
  constructor(dim: number, out: number) {
    this.proj = [new LayerNorm(dim, 1e-6), new Linear(dim, out, false)];
  }
  forward<T>(ops: Ops<T>, x: T, ids: T): T {
    const [b, l, d] = ops.shape(x);
    let starts = this._rowStarts.get(b);
    if (!starts) {
      starts = Int32Array.from({ length: b }, (_, i) => i * l);
      this._rowStarts.set(b, starts);
    }
    // x[arange(B), ids.argmax(-1)]: first maximum wins (EOT 49407 is the largest id; SOT if truncated).
    const eos = ops.add(ops.argmax(ids, -1), ops.constant(starts, [b]));
    const pooled = ops.gather(ops.reshape(x, [b * l, d]), eos, 0);
    return this.proj[1].forward(ops, this.proj[0].forward(ops, pooled));
  }
}

export interface ModalityOutputs<T> {
  /** Trunk input (after cls + position embeddings) [N, L, D]. */
  tokens: T;
  /** Trunk output [N, L, D]. */
  trunk: T;
  /** Head output before the postprocessor [N, out]. */
  head: T;
  /** Postprocessed embedding, averaged over clips for ≥ 5-D inputs [B, out]. */
  embedding: T;
}

export class ImageBindModel {
  readonly modality_preprocessors: {
    vision: VisionPreprocessor;
    text: TextPreprocessor;
    audio: AudioPreprocessor;
    depth: DepthPreprocessor;
    thermal: ThermalPreprocessor;
    imu: ImuPreprocessor;
  };
  readonly modality_trunks: Record<Modality, SimpleTransformer>;
  readonly modality_heads: {
    vision: ClsHead;
    text: TextHead;
    audio: ClsHead;
    depth: ClsHead;
    thermal: ClsHead;
    imu: ClsHead;
  };
  readonly modality_postprocessors: {
    vision: null;
    text: readonly [null, LogitScaling];
    audio: readonly [null, LogitScaling];
    depth: readonly [null, LogitScaling];
    thermal: readonly [null, LogitScaling];
    imu: readonly [null, LogitScaling];
  };
  readonly config: ImageBindConfig;

  constructor(config: Partial<ImageBindConfig> = {}) {
    const c = imagebindConfig(config);
    this.config = c;
    this.modality_preprocessors = {
      vision: new VisionPreprocessor(c),
      text: new TextPreprocessor(c.text_embed_dim),
      audio: new AudioPreprocessor(c),
      depth: new DepthPreprocessor(c),
      thermal: new ThermalPreprocessor(c),
      imu: new ImuPreprocessor(c),
    };
    // instantiate_trunk(dim, blocks, heads, pre_transformer_ln, add_bias_kv, drop_path)
    this.modality_trunks = {
      vision: new SimpleTransformer(c.vision_embed_dim, c.vision_num_blocks, c.vision_num_heads, true, false),
      text: new SimpleTransformer(c.text_embed_dim, c.text_num_blocks, c.text_num_heads, false, false),
      audio: new SimpleTransformer(c.audio_embed_dim, c.audio_num_blocks, c.audio_num_heads, false, true),
      depth: new SimpleTransformer(c.depth_embed_dim, c.depth_num_blocks, c.depth_num_heads, false, true),
      thermal: new SimpleTransformer(
        c.thermal_embed_dim,
        c.thermal_num_blocks,
        c.thermal_num_heads,
        false,
        true,
      ),
      imu: new SimpleTransformer(c.imu_embed_dim, c.imu_num_blocks, c.imu_num_heads, false, true),
    };
    const o = c.out_embed_dim;
    this.modality_heads = {
      vision: clsHead(c.vision_embed_dim, o, 2),
      text: new TextHead(c.text_embed_dim, o),
      audio: clsHead(c.audio_embed_dim, o, 2),
      depth: clsHead(c.depth_embed_dim, o, 2),
      thermal: clsHead(c.thermal_embed_dim, o, 2),
      imu: clsHead(c.imu_embed_dim, o, 3),
    };
    this.modality_postprocessors = {
      vision: null,
      text: [null, new LogitScaling(true)],
      audio: [null, new LogitScaling(false)],
      depth: [null, new LogitScaling(false)],
      thermal: [null, new LogitScaling(false)],
      imu: [null, new LogitScaling(false)],
    };
    nameParams(this);
  }

  /** One modality through preprocessor → trunk → head → postprocessor (→ clip mean). */
  forward<T>(ops: Ops<T>, modality: Modality, input: T): ModalityOutputs<T> {
    if (modality === "imu")
      throw new UnsupportedError("ImageBind IMU forward is not implemented (the studio does not use it)");
    const shape = ops.shape(input);
    if (modality === "vision" && shape.length === 5) {
      throw new BadInputError(
        `ImageBind vision input [${shape}]: pass an image [B,3,H,W] or clips [B,S,3,T,H,W]`,
      );
    }
    const reduce = modality !== "text" && shape.length >= 5;
    const [b, s] = shape;
    const x = reduce ? ops.reshape(input, [b * s, ...shape.slice(2)]) : input;
    let tokens: T;
    let mask: T | null = null;
    const pre = this.modality_preprocessors;
    switch (modality) {
      case "vision":
        tokens = pre.vision.forward(ops, x, this.config.video_frames);
        break;
      case "audio":
        tokens = pre.audio.forward(ops, x);
        break;
      case "depth":
        tokens = pre.depth.forward(ops, x);
        break;
      case "thermal":
        tokens = pre.thermal.forward(ops, x);
        break;
      case "text":
        tokens = pre.text.forward(ops, x);
        mask = ops.param(pre.text.mask);
        break;
    }
    const trunk = this.modality_trunks[modality].forward(ops, tokens, mask);
    const head =
      modality === "text"
        ? this.modality_heads.text.forward(ops, trunk, x)
        : clsHeadForward(ops, this.modality_heads[modality], trunk);
    let emb = l2normalize(ops, head, -1);
    const post = this.modality_postprocessors[modality];
    if (post) emb = post[1].forward(ops, emb);
    if (reduce) emb = ops.mean(ops.reshape(emb, [b, s, -1]), 1);
    return { tokens, trunk, head, embedding: emb };
  }

  /** The postprocessed embedding only. */
  embed<T>(ops: Ops<T>, modality: Modality, input: T): T {
    return this.forward(ops, modality, input).embedding;
  }
}
