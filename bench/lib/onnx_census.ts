/**
 * Op census of an ONNX model's bytes (ours or an ORT-optimized dump), with a tiny protobuf reader: only
 * ModelProto.graph (7) → GraphProto.node (1) → NodeProto.op_type (4) / domain (7), and the initializer count and
 * dtypes (GraphProto.initializer 5 → TensorProto.data_type 2) are decoded; everything else is skipped.
 */

interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0) */
  v: number;
  /** byte range of a length-delimited payload (wire 2) */
  start: number;
  end: number;
}

function* fields(b: Uint8Array, start: number, end: number): Generator<Field> {
  let p = start;
  const varint = (): number => {
    let r = 0;
    let mul = 1;
    for (;;) {
      const x = b[p++];
      r += (x & 0x7f) * mul;
      if (x < 0x80) return r;
      mul *= 128;
    }
  };
  while (p < end) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) yield { no, wire, v: varint(), start: 0, end: 0 };
    else if (wire === 2) {
      const len = varint();
      yield { no, wire, v: len, start: p, end: p + len };
      p += len;
    } else if (wire === 5) p += 4;
    else if (wire === 1) p += 8;
    else throw new Error(`unsupported wire type ${wire} at ${p}`);
  }
}

const DTYPE_NAMES: Record<number, string> = { 1: "f32", 6: "i32", 7: "i64", 10: "f16", 2: "u8", 9: "bool" };

export interface Census {
  ops: Map<string, number>;
  nodes: number;
  initializers: Map<string, number>;
  summary: string;
}

export function opCensus(bytes: Uint8Array): Census {
  const dec = new TextDecoder();
  const ops = new Map<string, number>();
  const inits = new Map<string, number>();
  let nodes = 0;
  for (const f of fields(bytes, 0, bytes.length)) {
    if (f.no !== 7 || f.wire !== 2) continue;
    for (const g of fields(bytes, f.start, f.end)) {
      if (g.no === 1 && g.wire === 2) {
        let op = "";
        let domain = "";
        for (const n of fields(bytes, g.start, g.end)) {
          if (n.no === 4 && n.wire === 2) op = dec.decode(bytes.subarray(n.start, n.end));
          if (n.no === 7 && n.wire === 2) domain = dec.decode(bytes.subarray(n.start, n.end));
        }
        const key = domain && domain !== "ai.onnx" ? `${domain}.${op}` : op;
        ops.set(key, (ops.get(key) ?? 0) + 1);
        nodes++;
      } else if (g.no === 5 && g.wire === 2) {
        let dt = 0;
        for (const t of fields(bytes, g.start, g.end)) if (t.no === 2 && t.wire === 0) dt = t.v;
        const k = DTYPE_NAMES[dt] ?? `dtype${dt}`;
        inits.set(k, (inits.get(k) ?? 0) + 1);
      }
    }
  }
  const top = [...ops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
  const ini = [...inits].map(([k, v]) => `${k} ${v}`).join(", ");
  return {
    ops,
    nodes,
    initializers: inits,
    summary: `${nodes} nodes (${top.join(", ")}); initializers: ${ini}`,
  };
}
