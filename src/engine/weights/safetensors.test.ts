import { describe, expect, it } from "vitest";
import { ModelPackError } from "../errors.js";
import { f32Bytes, parseSafetensors, SafetensorsFile, writeSafetensors } from "./safetensors.js";

function sample(): Uint8Array {
  const a = new Float32Array([1, -2.5, 3e-8, 4]);
  const ids = new Uint8Array(16);
  new DataView(ids.buffer).setBigInt64(0, 49406n, true);
  new DataView(ids.buffer).setBigInt64(8, -7n, true);
  return writeSafetensors(
    {
      "w.weight": { dtype: "F32", shape: [2, 2], data: f32Bytes(a) },
      ids: { dtype: "I64", shape: [2], data: ids },
    },
    { format: "pt" },
  );
}

describe("safetensors", () => {
  it("round-trips F32 and I64 tensors and metadata", () => {
    const f = new SafetensorsFile(sample(), "sample.safetensors");
    expect(f.keys().sort()).toEqual(["ids", "w.weight"]);
    expect([...f.float("w.weight")]).toEqual([...new Float32Array([1, -2.5, 3e-8, 4])]);
    expect([...f.get("ids")]).toEqual([49406, -7]);
    expect(f.header.metadata).toEqual({ format: "pt" });
    expect(f.shape("w.weight")).toEqual([2, 2]);
  });

  it("decodes F16 and BF16 exactly", () => {
    // 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24 (subnormal), 0x7bff = 65504
    const h = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff]).buffer);
    // bf16 0x3f80 = 1, 0x4049 = 3.140625
    const b = new Uint8Array(new Uint16Array([0x3f80, 0x4049]).buffer);
    const f = new SafetensorsFile(
      writeSafetensors({
        h: { dtype: "F16", shape: [4], data: h },
        b: { dtype: "BF16", shape: [2], data: b },
      }),
    );
    expect([...f.float("h")]).toEqual([1, -2, 2 ** -24, 65504]);
    expect([...f.float("b")]).toEqual([1, 3.140625]);
  });

  it("rejects a truncated file, naming it", () => {
    const bytes = sample();
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 3), "cut.safetensors")).toThrow(
      ModelPackError,
    );
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 3), "cut.safetensors")).toThrow(
      /cut\.safetensors.*truncated/,
    );
  });

  it("rejects overlapping or mis-sized entries", () => {
    const hdr = JSON.stringify({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
    });
    const enc = new TextEncoder().encode(hdr);
    const buf = new Uint8Array(8 + enc.length + 8);
    new DataView(buf.buffer).setBigUint64(0, BigInt(enc.length), true);
    buf.set(enc, 8);
    expect(() => parseSafetensors(buf, "bad.safetensors")).toThrow(/overlap or gap/);
    const hdr2 = JSON.stringify({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } });
    const enc2 = new TextEncoder().encode(hdr2);
    const buf2 = new Uint8Array(8 + enc2.length + 8);
    new DataView(buf2.buffer).setBigUint64(0, BigInt(enc2.length), true);
    buf2.set(enc2, 8);
    expect(() => parseSafetensors(buf2, "bad.safetensors")).toThrow(/needs 12/);
  });

  it("names an unsupported dtype of any JSON shape, a tampered one included (fuzz-found: String() threw)", () => {
    const file = (header: unknown) => {
      const enc = new TextEncoder().encode(JSON.stringify(header));
      const buf = new Uint8Array(8 + enc.length);
      new DataView(buf.buffer).setBigUint64(0, BigInt(enc.length), true);
      buf.set(enc, 8);
      return buf;
    };
    const cases: [unknown, RegExp][] = [
      [{ toString: null }, /unsupported dtype \{"toString":null\}/],
      [{ valueOf: 1, toString: [] }, /unsupported dtype \{"valueOf":1,"toString":\[\]\}/],
      ["F128", /unsupported dtype F128/],
      [undefined, /unsupported dtype missing/],
      ["X".repeat(100), /unsupported dtype X{39}…/],
    ];
    for (const [dtype, msg] of cases) {
      const b = file({ t: { dtype, shape: [1], data_offsets: [0, 4] } });
      expect(() => parseSafetensors(b, "tampered.safetensors")).toThrow(ModelPackError);
      expect(() => parseSafetensors(b, "tampered.safetensors")).toThrow(msg);
    }
  });

  it("rejects an oversized header length without allocating it", () => {
    const buf = new Uint8Array(16);
    new DataView(buf.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => parseSafetensors(buf, "huge.safetensors")).toThrow(/exceeds/);
  });
});
