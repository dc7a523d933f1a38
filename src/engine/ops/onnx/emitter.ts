/**
 * The ONNX emitter: an `Ops` whose tensors are symbols. Running model code on it records an ONNX graph
 * (opset 17 + com.microsoft for MatMulNBits); parameters become initializers stored as fp32, fp16 (+ Cast) or
 * 4-bit blocks (MatMulNBits, linear layers only). Shapes are static: a graph is traced for concrete input
 * shapes (cheap; the weights are shared), which keeps every Reshape/Slice a constant ONNX Runtime can fold.
 *
 *   const em = new OnnxEmitter({ weights: "fp16" });
 *   const x = em.input("x", [1, 3, 8, 8]);
 *   em.output("y", model.forward(em, x));
 *   const { model } = em.build();
 */
import {
  type AttentionOptions,
  broadcastShapes,
  type ConvOptions,
  type ConvTransposeOptions,
  convPads,
  type DType,
  normAxis,
  type Ops,
  perDim,
  resolveShape,
  type Shape,
  sizeOf,
} from "../ops.js";
import type { Param } from "../param.js";
import {
  type AttrValue,
  type ExternalRef,
  type Msg,
  modelProto,
  nodeProto,
  TensorDataType,
  type TensorDataTypeValue,
  tensorProto,
  valueInfoProto,
} from "./proto.js";
import { quantizeQ4, toFloat16Bytes } from "./quant.js";

export interface Sym {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type WeightFormat = "fp32" | "fp16" | "q4";

export interface EmitterOptions {
  /** Storage of rank ≥ 2 float parameters. Rank ≤ 1 params (biases, norms, scales) always stay fp32. */
  weights?: WeightFormat;
  /** MatMulNBits block size along K (power of two ≥ 16). Default 32. */
  q4BlockSize?: number;
  /** MatMulNBits accuracy_level (0 = fp32 compute, 4 = int8 compute on CPU). Default 0. */
  q4AccuracyLevel?: number;
  graphName?: string;
}

export interface BuildOptions {
  /** Put initializers larger than `threshold` bytes (default 1 KiB) in one external-data blob named `path`. */
  externalData?: { path: string; threshold?: number };
}

export interface BuiltModel {
  model: Uint8Array;
  externalData: { path: string; data: Uint8Array } | null;
  /** Initializer bytes by storage format, for reporting. */
  stats: { initializers: number; bytes: number };
}

interface Init {
  name: string;
  dtype: TensorDataTypeValue;
  dims: readonly number[];
  bytes: () => Uint8Array;
  /** Shape/index constants stay inline: ONNX Runtime reads them during shape inference. */
  inline?: boolean;
}

const ONNX_DTYPE: Readonly<Record<DType, TensorDataTypeValue>> = {
  float32: TensorDataType.FLOAT,
  int32: TensorDataType.INT32,
};

function i64Bytes(vs: readonly number[]): Uint8Array {
  const b = new Uint8Array(vs.length * 8);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < vs.length; i++) dv.setBigInt64(i * 8, BigInt(vs[i]), true);
  return b;
}

function typedBytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

export class OnnxEmitter implements Ops<Sym> {
  readonly kind = "onnx" as const;
  private readonly fmt: WeightFormat;
  private readonly blockSize: number;
  private readonly accuracyLevel: number;
  private readonly graphName: string;
  private readonly nodes: Msg[] = [];
  private readonly inits: Init[] = [];
  private readonly initNames = new Set<string>();
  private readonly inputs: Msg[] = [];
  private readonly outputs: Msg[] = [];
  private readonly paramSyms = new Map<Param, Sym>();
  private readonly constSyms = new WeakMap<Float32Array | Int32Array, Sym>();
  private readonly smallConsts = new Map<string, Sym>();
  private readonly q4Weights = new Map<Param, { codes: string; scales: string; blockSize: number }>();
  private usesMs = false;
  private counter = 0;

  constructor(opts: EmitterOptions = {}) {
    this.fmt = opts.weights ?? "fp32";
    this.blockSize = opts.q4BlockSize ?? 32;
    this.accuracyLevel = opts.q4AccuracyLevel ?? 0;
    this.graphName = opts.graphName ?? "graph";
  }

  // --- graph I/O ---------------------------------------------------------------------------------------------

  input(name: string, shape: Shape, dtype: DType = "float32"): Sym {
    this.inputs.push(valueInfoProto(name, ONNX_DTYPE[dtype], shape));
    return { name, shape: [...shape], dtype };
  }

  output(name: string, x: Sym): void {
    if (x.name !== name) this.node("Identity", [x.name], { out: name });
    this.outputs.push(valueInfoProto(name, ONNX_DTYPE[x.dtype], x.shape));
  }

  build(opts: BuildOptions = {}): BuiltModel {
    const ext = opts.externalData;
    const threshold = ext?.threshold ?? 1024;
    const tensors: Msg[] = [];
    const chunks: Uint8Array[] = [];
    let extLen = 0;
    let bytes = 0;
    for (const init of this.inits) {
      const data = init.bytes();
      bytes += data.length;
      if (ext && !init.inline && data.length > threshold) {
        const pad = (64 - (extLen % 64)) % 64; // 64-byte aligned tensors
        if (pad) chunks.push(new Uint8Array(pad));
        extLen += pad;
        const ref: ExternalRef = { location: ext.path, offset: extLen, length: data.length };
        chunks.push(data);
        extLen += data.length;
        tensors.push(tensorProto(init.name, init.dtype, init.dims, null, ref));
      } else tensors.push(tensorProto(init.name, init.dtype, init.dims, data));
    }
    const opsets = [{ domain: "", version: 17 }];
    if (this.usesMs) opsets.push({ domain: "com.microsoft", version: 1 });
    const model = modelProto(
      {
        name: this.graphName,
        nodes: this.nodes,
        initializers: tensors,
        inputs: this.inputs,
        outputs: this.outputs,
      },
      opsets,
    ).finish();
    let externalData: BuiltModel["externalData"] = null;
    if (ext) {
      const data = new Uint8Array(extLen);
      let o = 0;
      for (const c of chunks) {
        data.set(c, o);
        o += c.length;
      }
      externalData = { path: ext.path, data };
    }
    return { model, externalData, stats: { initializers: this.inits.length, bytes } };
  }

  // --- escape hatch for graph transforms (ops/onnx/grad.ts) ---------------------------------------------------

  /**
   * Emit one ONNX node that is not an `Ops` primitive (e.g. the ConvTranspose of a conv's input gradient, or
   * a comparison mask). Number inputs become scalar constants of `dtype`. The caller states the output shape.
   */
  raw(
    op: string,
    inputs: readonly (Sym | number)[],
    out: { shape: readonly number[]; dtype: DType },
    attrs?: Record<string, AttrValue>,
  ): Sym {
    const names = inputs.map((i) => (typeof i === "number" ? this.scalarConst(i, out.dtype) : i.name));
    return this.sym(this.node(op, names, { attrs }), out.shape, out.dtype);
  }

  /** A float 0/1 mask of `op(a, b)` for a comparison op (Greater, GreaterOrEqual, Less, LessOrEqual, Equal). */
  mask(op: "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" | "Equal", a: Sym, b: Sym | number): Sym {
    const rb = this.operand(a, b);
    const bool = this.node(op, [a.name, rb.name]);
    return this.sym(
      this.node("Cast", [bool], { attrs: { to: { kind: "int", v: TensorDataType.FLOAT } } }),
      broadcastShapes(a.shape, rb.shape),
      "float32",
    );
  }

  // --- internals ---------------------------------------------------------------------------------------------

  private fresh(prefix = "t"): string {
    return `${prefix}${this.counter++}`;
  }

  private node(
    op: string,
    inputs: readonly string[],
    o: { out?: string; attrs?: Record<string, AttrValue>; domain?: string } = {},
  ): string {
    const out = o.out ?? this.fresh();
    this.nodes.push(
      nodeProto({
        op,
        inputs,
        outputs: [out],
        name: `${op}_${this.counter++}`,
        attrs: o.attrs,
        domain: o.domain,
      }),
    );
    return out;
  }

  private sym(name: string, shape: readonly number[], dtype: DType): Sym {
    return { name, shape: [...shape], dtype };
  }

  private addInit(
    base: string,
    dtype: TensorDataTypeValue,
    dims: readonly number[],
    bytes: () => Uint8Array,
    inline = false,
  ): string {
    let name = base;
    for (let i = 1; this.initNames.has(name); i++) name = `${base}__${i}`;
    this.initNames.add(name);
    this.inits.push({ name, dtype, dims: [...dims], bytes, inline });
    return name;
  }

  private i64(vs: readonly number[]): string {
    const key = `i64:${vs.join(",")}`;
    const hit = this.smallConsts.get(key);
    if (hit) return hit.name;
    const name = this.addInit(this.fresh("c"), TensorDataType.INT64, [vs.length], () => i64Bytes(vs), true);
    this.smallConsts.set(key, this.sym(name, [vs.length], "int32"));
    return name;
  }

  private scalarConst(v: number, dtype: DType): string {
    const key = `${dtype}:${Object.is(v, -0) ? "-0" : v}`;
    const hit = this.smallConsts.get(key);
    if (hit) return hit.name;
    const arr = dtype === "int32" ? Int32Array.of(v) : Float32Array.of(v);
    const name = this.addInit(this.fresh("c"), ONNX_DTYPE[dtype], [], () => typedBytes(arr), true);
    this.smallConsts.set(key, this.sym(name, [], dtype));
    return name;
  }

  private operand(a: Sym, b: Sym | number): Sym {
    return typeof b === "number" ? this.sym(this.scalarConst(b, a.dtype), [], a.dtype) : b;
  }

  private binary(op: string, a: Sym, b: Sym | number): Sym {
    const rb = this.operand(a, b);
    return this.sym(this.node(op, [a.name, rb.name]), broadcastShapes(a.shape, rb.shape), a.dtype);
  }

  private unary(op: string, x: Sym, attrs?: Record<string, AttrValue>): Sym {
    return this.sym(this.node(op, [x.name], { attrs }), x.shape, x.dtype);
  }

  private reduce(op: string, x: Sym, axes: number | readonly number[], keepDims: boolean): Sym {
    const ax = (typeof axes === "number" ? [axes] : [...axes]).map((a) => normAxis(a, x.shape.length));
    const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepDims ? [1] : []) : [d]));
    const keep: AttrValue = { kind: "int", v: keepDims ? 1 : 0 };
    // opset 17: ReduceSum takes axes as an input, ReduceMean/ReduceMax as an attribute.
    const out =
      op === "ReduceSum"
        ? this.node(op, [x.name, this.i64(ax)], { attrs: { keepdims: keep } })
        : this.node(op, [x.name], { attrs: { axes: { kind: "ints", v: ax }, keepdims: keep } });
    return this.sym(out, shape, x.dtype);
  }

  /** A float param stored per the weight format, cast to float32 if stored as fp16. */
  private floatParam(p: Param): Sym {
    const quantize = this.fmt !== "fp32" && p.shape.length >= 2;
    const base = p.name || this.fresh("param");
    if (!quantize) {
      const name = this.addInit(base, TensorDataType.FLOAT, p.shape, () => typedBytes(p.values()));
      return this.sym(name, p.shape, "float32");
    }
    const half = this.addInit(`${base}::fp16`, TensorDataType.FLOAT16, p.shape, () =>
      toFloat16Bytes(p.values() as Float32Array),
    );
    return this.sym(
      this.node("Cast", [half], { attrs: { to: { kind: "int", v: TensorDataType.FLOAT } } }),
      p.shape,
      "float32",
    );
  }

  // --- leaves ------------------------------------------------------------------------------------------------

  shape(x: Sym): number[] {
    return [...x.shape];
  }
  dtype(x: Sym): DType {
    return x.dtype;
  }

  param(p: Param): Sym {
    const hit = this.paramSyms.get(p);
    if (hit) return hit;
    let s: Sym;
    if (p.dtype === "float32") s = this.floatParam(p);
    else {
      const name = this.addInit(p.name || this.fresh("param"), TensorDataType.INT32, p.shape, () => {
        const v = p.values();
        return typedBytes(v instanceof Int32Array ? v : Int32Array.from(v));
      });
      s = this.sym(name, p.shape, "int32");
    }
    this.paramSyms.set(p, s);
    return s;
  }

  constant(data: Float32Array | Int32Array, shape: Shape): Sym {
    const hit = this.constSyms.get(data);
    if (hit) return hit;
    if (data.length !== sizeOf(shape))
      throw new RangeError(`constant of ${data.length} values for shape [${shape}]`);
    const dtype: DType = data instanceof Int32Array ? "int32" : "float32";
    const name = this.addInit(this.fresh("const"), ONNX_DTYPE[dtype], shape, () => typedBytes(data));
    const s = this.sym(name, shape, dtype);
    this.constSyms.set(data, s);
    return s;
  }

  // --- elementwise -------------------------------------------------------------------------------------------

  add(a: Sym, b: Sym | number): Sym {
    return this.binary("Add", a, b);
  }
  sub(a: Sym, b: Sym | number): Sym {
    return this.binary("Sub", a, b);
  }
  mul(a: Sym, b: Sym | number): Sym {
    return this.binary("Mul", a, b);
  }
  div(a: Sym, b: Sym | number): Sym {
    return this.binary("Div", a, b);
  }
  pow(a: Sym, p: number): Sym {
    if (p === 1) return a;
    if (p === 2) return this.binary("Mul", a, a);
    if (p === 0.5) return this.unary("Sqrt", a);
    return this.binary("Pow", a, p);
  }
  maximum(a: Sym, b: Sym | number): Sym {
    return this.binary("Max", a, b);
  }
  minimum(a: Sym, b: Sym | number): Sym {
    return this.binary("Min", a, b);
  }
  neg(x: Sym): Sym {
    return this.unary("Neg", x);
  }
  exp(x: Sym): Sym {
    return this.unary("Exp", x);
  }
  log(x: Sym): Sym {
    return this.unary("Log", x);
  }
  sqrt(x: Sym): Sym {
    return this.unary("Sqrt", x);
  }
  abs(x: Sym): Sym {
    return this.unary("Abs", x);
  }
  tanh(x: Sym): Sym {
    return this.unary("Tanh", x);
  }
  sigmoid(x: Sym): Sym {
    return this.unary("Sigmoid", x);
  }
  relu(x: Sym): Sym {
    return this.unary("Relu", x);
  }
  erf(x: Sym): Sym {
    return this.unary("Erf", x);
  }
  sin(x: Sym): Sym {
    return this.unary("Sin", x);
  }
  cos(x: Sym): Sym {
    return this.unary("Cos", x);
  }
  leakyRelu(x: Sym, alpha: number): Sym {
    return this.unary("LeakyRelu", x, { alpha: { kind: "float", v: alpha } });
  }

  // --- reductions --------------------------------------------------------------------------------------------

  sum(x: Sym, axes: number | readonly number[], keepDims = false): Sym {
    return this.reduce("ReduceSum", x, axes, keepDims);
  }
  mean(x: Sym, axes: number | readonly number[], keepDims = false): Sym {
    return this.reduce("ReduceMean", x, axes, keepDims);
  }
  max(x: Sym, axes: number | readonly number[], keepDims = false): Sym {
    return this.reduce("ReduceMax", x, axes, keepDims);
  }
  softmax(x: Sym, axis = -1): Sym {
    return this.unary("Softmax", x, { axis: { kind: "int", v: normAxis(axis, x.shape.length) } });
  }
  argmax(x: Sym, axis: number): Sym {
    const a = normAxis(axis, x.shape.length);
    const idx = this.node("ArgMax", [x.name], {
      attrs: {
        axis: { kind: "int", v: a },
        keepdims: { kind: "int", v: 0 },
        select_last_index: { kind: "int", v: 0 },
      },
    });
    const out = this.node("Cast", [idx], { attrs: { to: { kind: "int", v: TensorDataType.INT32 } } });
    return this.sym(
      out,
      x.shape.filter((_, i) => i !== a),
      "int32",
    );
  }

  // --- linear algebra ----------------------------------------------------------------------------------------

  matmul(a: Sym, b: Sym): Sym {
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) throw new RangeError(`matmul inner dims differ: [${a.shape}] @ [${b.shape}]`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.sym(this.node("MatMul", [a.name, b.name]), [...batch, m, n], "float32");
  }

  linear(x: Sym, weight: Param, bias: Param | null): Sym {
    const [n, k] = weight.shape;
    if (x.shape[x.shape.length - 1] !== k)
      throw new RangeError(`linear ${weight.name}: input [${x.shape}] vs weight [${weight.shape}]`);
    const outShape = [...x.shape.slice(0, -1), n];
    let y: string;
    if (this.fmt === "q4") {
      this.usesMs = true;
      let q = this.q4Weights.get(weight);
      if (!q) {
        const base = weight.name || this.fresh("linear");
        // Blocks loaded from a q4 pack are used as stored (with their own block size); others are packed here.
        const stored = weight.q4;
        const blockSize = stored ? stored.blockSize : this.blockSize;
        let packed: { codes: Uint8Array; scales: Float32Array } | null = stored;
        const pack = () => {
          packed ??= quantizeQ4(weight.values() as Float32Array, n, k, blockSize);
          return packed;
        };
        const kBlocks = Math.ceil(k / blockSize);
        q = {
          codes: this.addInit(
            `${base}::q4`,
            TensorDataType.UINT8,
            [n, kBlocks, blockSize / 2],
            () => pack().codes,
          ),
          scales: this.addInit(`${base}::q4scales`, TensorDataType.FLOAT, [n * kBlocks], () =>
            typedBytes(pack().scales),
          ),
          blockSize,
        };
        this.q4Weights.set(weight, q);
      }
      const flat = x.shape.length > 3;
      const a = flat ? this.reshape(x, [-1, k]).name : x.name;
      y = this.node("MatMulNBits", [a, q.codes, q.scales], {
        domain: "com.microsoft",
        attrs: {
          K: { kind: "int", v: k },
          N: { kind: "int", v: n },
          bits: { kind: "int", v: 4 },
          block_size: { kind: "int", v: q.blockSize },
          accuracy_level: { kind: "int", v: this.accuracyLevel },
        },
      });
      if (flat) y = this.node("Reshape", [y, this.i64(outShape)]);
    } else {
      // W is stored in the upstream [out, in] layout; ONNX Runtime folds this Transpose at session creation.
      const w = this.param(weight);
      const wt = this.node("Transpose", [w.name], { attrs: { perm: { kind: "ints", v: [1, 0] } } });
      y = this.node("MatMul", [x.name, wt]);
    }
    if (bias) y = this.node("Add", [y, this.param(bias).name]);
    return this.sym(y, outShape, "float32");
  }

  conv(x: Sym, w: Sym, b: Sym | null, opts: ConvOptions = {}): Sym {
    const dims = x.shape.length - 2;
    const stride = perDim(opts.stride, dims, 1);
    const dilation = perDim(opts.dilation, dims, 1);
    const pads = convPads(opts.padding, dims);
    const groups = opts.groups ?? 1;
    const k = w.shape.slice(2);
    if (w.shape[1] * groups !== x.shape[1])
      throw new RangeError(`conv weight [${w.shape}] vs input [${x.shape}] (groups ${groups})`);
    const spatial = x.shape
      .slice(2)
      .map(
        (l, i) => Math.floor((l + pads[i][0] + pads[i][1] - dilation[i] * (k[i] - 1) - 1) / stride[i]) + 1,
      );
    const inputs = b ? [x.name, w.name, b.name] : [x.name, w.name];
    const out = this.node("Conv", inputs, {
      attrs: {
        kernel_shape: { kind: "ints", v: k },
        strides: { kind: "ints", v: stride },
        dilations: { kind: "ints", v: dilation },
        pads: { kind: "ints", v: [...pads.map((p) => p[0]), ...pads.map((p) => p[1])] },
        group: { kind: "int", v: groups },
      },
    });
    return this.sym(out, [x.shape[0], w.shape[0], ...spatial], "float32");
  }

  convTranspose(x: Sym, w: Sym, b: Sym | null, opts: ConvTransposeOptions = {}): Sym {
    const dims = x.shape.length - 2;
    const stride = perDim(opts.stride, dims, 1);
    const padding = perDim(opts.padding, dims, 0);
    const outPad = perDim(opts.outputPadding, dims, 0);
    const k = w.shape.slice(2);
    if (w.shape[0] !== x.shape[1])
      throw new RangeError(`convTranspose weight [${w.shape}] vs input [${x.shape}]`);
    const spatial = x.shape.slice(2).map((l, i) => (l - 1) * stride[i] - 2 * padding[i] + k[i] + outPad[i]);
    const inputs = b ? [x.name, w.name, b.name] : [x.name, w.name];
    const out = this.node("ConvTranspose", inputs, {
      attrs: {
        kernel_shape: { kind: "ints", v: k },
        strides: { kind: "ints", v: stride },
        pads: { kind: "ints", v: [...padding, ...padding] },
        output_padding: { kind: "ints", v: outPad },
      },
    });
    return this.sym(out, [x.shape[0], w.shape[1], ...spatial], "float32");
  }

  layerNorm(x: Sym, weight: Sym | null, bias: Sym | null, eps: number, axis = -1): Sym {
    const a = normAxis(axis, x.shape.length);
    const normShape = x.shape.slice(a);
    if (weight && weight.shape.join() === normShape.join()) {
      const ins = bias ? [x.name, weight.name, bias.name] : [x.name, weight.name];
      const out = this.node("LayerNormalization", ins, {
        attrs: { axis: { kind: "int", v: a }, epsilon: { kind: "float", v: eps } },
      });
      return this.sym(out, x.shape, "float32");
    }
    // No (or broadcast) affine: InstanceNormalization over [outer, 1, inner] with unit scale, then the affine.
    const outer = sizeOf(x.shape.slice(0, a));
    const r = this.reshape(x, [outer, 1, sizeOf(normShape)]);
    const one = this.constant(ONE, [1]);
    const zero = this.constant(ZERO, [1]);
    const n = this.node("InstanceNormalization", [r.name, one.name, zero.name], {
      attrs: { epsilon: { kind: "float", v: eps } },
    });
    let y = this.reshape(this.sym(n, r.shape, "float32"), x.shape);
    if (weight) y = this.mul(y, weight);
    if (bias) y = this.add(y, bias);
    return y;
  }

  attention(q: Sym, k: Sym, v: Sym, opts: AttentionOptions<Sym>): Sym {
    const kt = this.transpose(k, [0, 1, 3, 2]);
    let s = this.mul(this.matmul(q, kt), opts.scale);
    if (opts.bias) s = this.add(s, opts.bias);
    return this.matmul(this.softmax(s, -1), v);
  }

  // --- layout ------------------------------------------------------------------------------------------------

  reshape(x: Sym, shape: Shape): Sym {
    const resolved = resolveShape(shape, sizeOf(x.shape));
    if (resolved.join() === x.shape.join()) return x;
    return this.sym(this.node("Reshape", [x.name, this.i64(resolved)]), resolved, x.dtype);
  }
  transpose(x: Sym, perm: readonly number[]): Sym {
    if (perm.every((p, i) => p === i)) return x;
    return this.sym(
      this.node("Transpose", [x.name], { attrs: { perm: { kind: "ints", v: perm } } }),
      perm.map((p) => x.shape[p]),
      x.dtype,
    );
  }
  slice(x: Sym, axis: number, start: number, end: number): Sym {
    const a = normAxis(axis, x.shape.length);
    const n = x.shape[a];
    const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const e = Math.min(Math.max(end < 0 ? end + n : end, s), n);
    if (s === 0 && e === n) return x;
    const shape = [...x.shape];
    shape[a] = e - s;
    return this.sym(
      this.node("Slice", [x.name, this.i64([s]), this.i64([e]), this.i64([a])]),
      shape,
      x.dtype,
    );
  }
  concat(xs: readonly Sym[], axis: number): Sym {
    if (xs.length === 1) return xs[0];
    const a = normAxis(axis, xs[0].shape.length);
    const shape = [...xs[0].shape];
    shape[a] = xs.reduce((acc, s) => acc + s.shape[a], 0);
    return this.sym(
      this.node(
        "Concat",
        xs.map((s) => s.name),
        { attrs: { axis: { kind: "int", v: a } } },
      ),
      shape,
      xs[0].dtype,
    );
  }
  pad(x: Sym, pads: readonly (readonly [number, number])[], value = 0): Sym {
    if (pads.length !== x.shape.length) throw new RangeError(`pad needs ${x.shape.length} pairs`);
    if (pads.every(([p, q]) => p === 0 && q === 0)) return x;
    const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
    const out = this.node(
      "Pad",
      [
        x.name,
        this.i64([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]),
        this.scalarConst(value, x.dtype),
      ],
      {
        attrs: { mode: { kind: "string", v: "constant" } },
      },
    );
    return this.sym(out, shape, x.dtype);
  }
  gather(x: Sym, indices: Sym, axis: number): Sym {
    const a = normAxis(axis, x.shape.length);
    const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
    return this.sym(
      this.node("Gather", [x.name, indices.name], { attrs: { axis: { kind: "int", v: a } } }),
      shape,
      x.dtype,
    );
  }
  broadcastTo(x: Sym, shape: Shape): Sym {
    const out = broadcastShapes(x.shape, shape);
    if (out.join() !== shape.join()) throw new RangeError(`cannot broadcast [${x.shape}] to [${shape}]`);
    if (out.join() === x.shape.join()) return x;
    return this.sym(this.node("Expand", [x.name, this.i64(shape)]), shape, x.dtype);
  }
  checkpoint(f: (x: Sym) => Sym, x: Sym): Sym {
    return f(x); // a forward-only graph keeps nothing for a backward
  }
  cast(x: Sym, dtype: DType): Sym {
    if (dtype === x.dtype) return x;
    return this.sym(
      this.node("Cast", [x.name], { attrs: { to: { kind: "int", v: ONNX_DTYPE[dtype] } } }),
      x.shape,
      dtype,
    );
  }
}

const ONE = Float32Array.of(1);
const ZERO = Float32Array.of(0);
