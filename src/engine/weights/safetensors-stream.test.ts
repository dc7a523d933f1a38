import { describe, expect, it } from "vitest";
import { ModelPackError } from "../errors.js";
import { iterateTensors } from "./checkpoint.js";
import { f32Bytes, writeSafetensors } from "./safetensors.js";
import { openSafetensors, openShardedSafetensors, parseShardIndex } from "./safetensors-stream.js";
import { type ByteSource, bytesSource } from "./source.js";

/** A source that records every read, to prove what the reader touches. */
function counting(bytes: Uint8Array, name: string): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes, name);
  const reads: [number, number][] = [];
  return {
    name,
    size: inner.size,
    reads,
    read(o, n) {
      reads.push([o, n]);
      return inner.read(o, n);
    },
  };
}

function file(tensors: Record<string, number[]>): Uint8Array {
  const spec: Parameters<typeof writeSafetensors>[0] = {};
  for (const [k, v] of Object.entries(tensors))
    spec[k] = { dtype: "F32", shape: [v.length], data: f32Bytes(new Float32Array(v)) };
  return writeSafetensors(spec);
}

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe("streaming safetensors", () => {
  it("opens with two reads (length, header) and reads tensors one at a time", async () => {
    const src = counting(file({ a: [1, 2, 3], b: [4] }), "m.safetensors");
    const ck = await openSafetensors(src);
    expect(src.reads.length).toBe(2);
    expect(ck.keys().sort()).toEqual(["a", "b"]);
    expect(ck.spec("a")).toEqual({ shape: [3], dtype: "float32", stored: "F32", byteLength: 12 });
    expect([...(await ck.read("b"))]).toEqual([4]);
    expect(src.reads.at(-1)?.[1]).toBe(4);
    const all: [string, number[]][] = [];
    for await (const [k, v] of iterateTensors(ck)) all.push([k, [...v]]);
    expect(Object.fromEntries(all)).toEqual({ a: [1, 2, 3], b: [4] });
    await expect(ck.read("zzz")).rejects.toThrow(/m\.safetensors.*no tensor "zzz"/);
  });

  it("catches truncation from the header, before reading any tensor data", async () => {
    const bytes = file({ a: [1, 2, 3] });
    const src = counting(bytes.subarray(0, bytes.length - 1), "cut.safetensors");
    await expect(openSafetensors(src)).rejects.toThrow(/cut\.safetensors.*truncated/);
    expect(src.reads.every(([o, n]) => o + n <= bytes.length - 12)).toBe(true);
  });

  it("rejects a header length past the end without reading it", async () => {
    const b = new Uint8Array(64);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    const src = counting(b, "short.safetensors");
    await expect(openSafetensors(src)).rejects.toThrow(/header claims 1000 bytes/);
    expect(src.reads).toEqual([[0, 8]]);
    await expect(openSafetensors(bytesSource(new Uint8Array(3), "tiny"))).rejects.toBeInstanceOf(
      ModelPackError,
    );
  });
});

describe("header validation edge cases", () => {
  it("rejects inherited property names as dtypes", async () => {
    for (const dtype of ["constructor", "toString", "__proto__"]) {
      const h = new TextEncoder().encode(JSON.stringify({ a: { dtype, shape: [1], data_offsets: [0, 4] } }));
      const b = new Uint8Array(8 + h.length + 4);
      new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
      b.set(h, 8);
      await expect(openSafetensors(bytesSource(b, "p.safetensors"))).rejects.toThrow(/unsupported dtype/);
    }
  });
});

describe("sharded safetensors", () => {
  const shards = { "m-1.safetensors": file({ a: [1], b: [2] }), "m-2.safetensors": file({ c: [3] }) };
  const index = {
    metadata: { total_size: 12 },
    weight_map: { a: "m-1.safetensors", b: "m-1.safetensors", c: "m-2.safetensors" },
  };
  const resolver = (files: Record<string, Uint8Array>) => (f: string) => {
    if (!files[f]) throw new Error("ENOENT");
    return bytesSource(files[f], f);
  };

  it("opens an index and reads through it", async () => {
    const ck = await openShardedSafetensors(
      bytesSource(enc(index), "m.safetensors.index.json"),
      resolver(shards),
    );
    expect(ck.keys()).toEqual(["a", "b", "c"]);
    expect([...(await ck.read("c"))]).toEqual([3]);
    expect(ck.spec("b").shape).toEqual([1]);
    expect(ck.index.metadata).toEqual({ total_size: 12 });
  });

  it("reports every missing shard in one error", async () => {
    const idx = { weight_map: { a: "m-1.safetensors", x: "gone-1.safetensors", y: "gone-2.safetensors" } };
    await expect(openShardedSafetensors(bytesSource(enc(idx), "i.json"), resolver(shards))).rejects.toThrow(
      /missing: gone-1\.safetensors.*gone-2\.safetensors/,
    );
  });

  it("rejects a key in two shards, a key missing from its shard, and an unindexed key", async () => {
    const dup = { "m-1.safetensors": file({ a: [1], b: [2] }), "m-2.safetensors": file({ b: [9], c: [3] }) };
    await expect(openShardedSafetensors(bytesSource(enc(index), "i.json"), resolver(dup))).rejects.toThrow(
      /"b" is in both m-1\.safetensors and m-2\.safetensors/,
    );
    const idx2 = { weight_map: { a: "m-1.safetensors", c: "m-1.safetensors" } };
    const err = await openShardedSafetensors(bytesSource(enc(idx2), "i.json"), resolver(shards)).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ModelPackError);
    expect(err.message).toMatch(/"b" is in m-1\.safetensors but not in the index/);
    expect(err.message).toMatch(/"c" is mapped to m-1\.safetensors, which does not contain it/);
  });

  it("rejects malformed indexes and path-like shard names", () => {
    expect(() => parseShardIndex(enc([1]), "i.json")).toThrow(/weight_map/);
    expect(() => parseShardIndex(enc({ weight_map: { a: 3 } }), "i.json")).toThrow(/not a file name/);
    expect(() => parseShardIndex(new Uint8Array([0xff]), "i.json")).toThrow(/UTF-8 JSON/);
    for (const bad of ["../etc/passwd", "/abs.safetensors", "a/../../b", "C:\\x", ""]) {
      expect(() => parseShardIndex(enc({ weight_map: { a: bad } }), "i.json")).toThrow(
        /plain relative file name/,
      );
    }
    expect(parseShardIndex(enc({ weight_map: { a: "sub/x.safetensors" } })).files).toEqual([
      "sub/x.safetensors",
    ]);
  });
});
