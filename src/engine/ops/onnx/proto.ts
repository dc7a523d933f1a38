/**
 * A minimal protobuf writer for the subset of onnx.proto the emitter produces (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto). Field numbers follow onnx/onnx.proto (IR v8).
 *
 * Messages are built bottom-up as lists of byte chunks; a nested message is appended by reference, and the
 * whole model is concatenated once at the end, so multi-hundred-MB initializers are copied a single time.
 */

export class Msg {
  readonly parts: Uint8Array[] = [];
  length = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }

  private tag(field: number, wire: number): void {
    this.push(varint(field * 8 + wire));
  }

  /** int64/int32/enum/bool as varint (wire type 0). */
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.push(varint(v));
    return this;
  }

  /** float (wire type 5). */
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(b.length));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Msg): this {
    this.tag(field, 2);
    this.push(varint(m.length));
    for (const p of m.parts) this.push(p);
    return this;
  }

  /** Packed repeated int64 (wire type 2). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new Msg();
    for (const v of vs) inner.push(varint(v));
    return this.msg(field, inner);
  }

  /** Packed repeated float. */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat32(i * 4, vs[i], true);
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export function varint(v: number | bigint): Uint8Array {
  let x = typeof v === "bigint" ? v : BigInt(Math.trunc(v));
  if (x < 0n) x += 1n << 64n; // two's complement, 10 bytes
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

/** onnx.TensorProto.DataType */
export const TensorDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type TensorDataTypeValue = (typeof TensorDataType)[keyof typeof TensorDataType];

/** onnx.AttributeProto.AttributeType */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export type AttrValue =
  | { kind: "int"; v: number }
  | { kind: "float"; v: number }
  | { kind: "ints"; v: readonly number[] }
  | { kind: "floats"; v: readonly number[] }
  | { kind: "string"; v: string };

export function attributeProto(name: string, a: AttrValue): Msg {
  const m = new Msg().string(1, name);
  switch (a.kind) {
    case "int":
      return m.int(3, a.v).int(20, AttrType.INT);
    case "float":
      return m.float(2, a.v).int(20, AttrType.FLOAT);
    case "ints":
      return m.packedInts(8, a.v).int(20, AttrType.INTS);
    case "floats":
      return m.packedFloats(7, a.v).int(20, AttrType.FLOATS);
    case "string":
      return m.bytes(4, new TextEncoder().encode(a.v)).int(20, AttrType.STRING);
  }
}

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  domain?: string;
  attrs?: Readonly<Record<string, AttrValue>>;
}

export function nodeProto(n: NodeSpec): Msg {
  const m = new Msg();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.msg(5, attributeProto(k, v));
  if (n.domain) m.string(7, n.domain);
  return m;
}

export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

export function tensorProto(
  name: string,
  dtype: TensorDataTypeValue,
  dims: readonly number[],
  data: Uint8Array | null,
  external?: ExternalRef,
): Msg {
  const m = new Msg();
  if (dims.length) m.packedInts(1, dims);
  m.int(2, dtype).string(8, name);
  if (external) {
    for (const [k, v] of [
      ["location", external.location],
      ["offset", String(external.offset)],
      ["length", String(external.length)],
    ]) {
      m.msg(13, new Msg().string(1, k).string(2, v));
    }
    m.int(14, 1); // DataLocation.EXTERNAL
  } else if (data) {
    m.bytes(9, data); // raw_data, little-endian
  }
  return m;
}

export function valueInfoProto(name: string, elemType: TensorDataTypeValue, shape: readonly number[]): Msg {
  const dims = new Msg();
  for (const d of shape) dims.msg(1, new Msg().int(1, d));
  const tensorType = new Msg().int(1, elemType).msg(2, dims);
  const type = new Msg().msg(1, tensorType);
  return new Msg().string(1, name).msg(2, type);
}

export interface GraphSpec {
  name: string;
  nodes: readonly Msg[];
  initializers: readonly Msg[];
  inputs: readonly Msg[];
  outputs: readonly Msg[];
}

export function modelProto(
  g: GraphSpec,
  opsets: readonly { domain: string; version: number }[],
  irVersion = 8,
): Msg {
  const graph = new Msg();
  for (const n of g.nodes) graph.msg(1, n);
  graph.string(2, g.name);
  for (const t of g.initializers) graph.msg(5, t);
  for (const i of g.inputs) graph.msg(11, i);
  for (const o of g.outputs) graph.msg(12, o);
  const model = new Msg().int(1, irVersion);
  for (const o of opsets) {
    const os = new Msg();
    if (o.domain) os.string(1, o.domain);
    os.int(2, o.version);
    model.msg(8, os);
  }
  model.string(2, "seeing-hearing-studio").string(3, "0.1.0");
  model.msg(7, graph);
  return model;
}
