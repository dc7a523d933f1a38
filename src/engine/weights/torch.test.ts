import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  concatParts,
  Global,
  OrderedDict,
  partsSource,
  pickleDump,
  Reduce,
  type SaveValue,
  Storage,
  Tensor,
  Tuple,
  torchSave,
  torchSaveParts,
  zipRecords,
} from "../../../test/support/torchsave.js";
import { ModelPackError } from "../errors.js";
import { bytesSource } from "./source.js";
import { openTorchCheckpoint } from "./torch.js";

const open = (bytes: Uint8Array, name = "model.pth") => openTorchCheckpoint(bytesSource(bytes, name));
const values = async (ck: Awaited<ReturnType<typeof open>>, key: string) => [...(await ck.read(key))];

async function rejects(p: Promise<unknown>, pattern: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelPackError);
  expect((err as Error).message).toMatch(pattern);
}

/** The structure `testdata/cpython_pickle_reference.py` pickles with CPython. */
function referenceSample(): SaveValue {
  const s0 = Storage.f32([0, 1, 2, 3, 4, 5]);
  const s1 = Storage.i64([10, 11, 12]);
  const sd = new OrderedDict(
    [
      ["a.weight", new Tensor(s0, [2, 3])],
      ["a.weight_t", new Tensor(s0, [3, 2], { stride: [1, 3] })],
      ["ids", new Tensor(s1, [2], { offset: 1 })],
      ["p", new Tensor(s0, [2], { offset: 2, stride: [2], parameter: true })],
    ],
    new OrderedDict([
      ["", new Map([["version", 1]])],
      ["a", new Map([["version", 2]])],
    ]),
  );
  return new Map<string, SaveValue>([
    ["model", sd],
    ["epoch", 70000],
    ["neg", -5],
    ["huge", 2 ** 40],
    ["lr", 0.5],
    ["hist", [1, 2, 3]],
    ["name", "x".repeat(300)],
  ]);
}

describe("torch.save writer (test support) matches CPython", () => {
  it("emits the same bytes as CPython's pickler for protocols 2 and 4", () => {
    const hex = readFileSync(new URL("./testdata/cpython_pickle_reference.hex", import.meta.url), "utf8")
      .trim()
      .split("\n");
    for (const [i, proto] of ([2, 4] as const).entries()) {
      expect(Buffer.from(pickleDump(referenceSample(), proto)).toString("hex")).toBe(hex[i]);
    }
  });
});

describe("torch.save reader", () => {
  it("reads a nested checkpoint: views, shared storage, parameters, int64, metadata", async () => {
    for (const protocol of [2, 4] as const) {
      const ck = await open(torchSave(referenceSample(), { protocol }));
      expect(ck.keys()).toEqual(["model.a.weight", "model.a.weight_t", "model.ids", "model.p"]);
      expect(await values(ck, "model.a.weight")).toEqual([0, 1, 2, 3, 4, 5]);
      // the transpose of a.weight, sharing its storage: materialised contiguous
      expect(await values(ck, "model.a.weight_t")).toEqual([0, 3, 1, 4, 2, 5]);
      expect(ck.spec("model.a.weight_t")).toEqual({
        shape: [3, 2],
        dtype: "float32",
        stored: "F32",
        byteLength: 24,
      });
      expect(await values(ck, "model.ids")).toEqual([11, 12]);
      expect(ck.spec("model.ids").dtype).toBe("int64");
      expect(await values(ck, "model.p")).toEqual([2, 4]);
      expect(ck.spec("model.p").byteLength).toBe(12);
      await rejects(ck.read("model.nope"), /model\.pth.*no tensor "model\.nope"/);
    }
  });

  it("reads the CPython-pickled reference bytes directly", async () => {
    const hex = readFileSync(new URL("./testdata/cpython_pickle_reference.hex", import.meta.url), "utf8")
      .trim()
      .split("\n");
    const storages = [Storage.f32([0, 1, 2, 3, 4, 5]), Storage.i64([10, 11, 12])];
    for (const h of hex) {
      const zip = concatParts(
        zipRecords([
          ["imagebind_huge/data.pkl", Buffer.from(h, "hex")],
          ["imagebind_huge/data/0", storages[0].bytes],
          ["imagebind_huge/data/1", storages[1].bytes],
          ["imagebind_huge/version", new TextEncoder().encode("3\n")],
        ]),
      );
      const ck = await open(zip);
      expect(ck.prefix).toBe("imagebind_huge/");
      expect(await values(ck, "model.a.weight_t")).toEqual([0, 3, 1, 4, 2, 5]);
    }
  });

  it("decodes every storage dtype", async () => {
    const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
    const sd = new OrderedDict([
      ["f64", new Tensor(new Storage("float64", new Uint8Array(Float64Array.from([1.5, -2]).buffer)), [2])],
      ["f16", new Tensor(new Storage("float16", u16([0x3c00, 0xc000])), [2])],
      ["bf16", new Tensor(new Storage("bfloat16", u16([0x3f80, 0x4049])), [2])],
      ["i32", new Tensor(new Storage("int32", new Uint8Array(Int32Array.from([-7, 7]).buffer)), [2])],
      ["i16", new Tensor(new Storage("int16", new Uint8Array(Int16Array.from([-3]).buffer)), [1])],
      ["i8", new Tensor(new Storage("int8", Uint8Array.from([0xff])), [1])],
      ["u8", new Tensor(new Storage("uint8", Uint8Array.from([200])), [1])],
      ["b", new Tensor(new Storage("bool", Uint8Array.from([1, 0])), [2])],
      ["scalar", new Tensor(Storage.f32([42]), [])],
      ["empty", new Tensor(Storage.f32([]), [0, 3])],
    ]);
    const ck = await open(torchSave(sd));
    expect(await values(ck, "f64")).toEqual([1.5, -2]);
    expect(await values(ck, "f16")).toEqual([1, -2]);
    expect(await values(ck, "bf16")).toEqual([1, 3.140625]);
    expect(await values(ck, "i32")).toEqual([-7, 7]);
    expect(await values(ck, "i16")).toEqual([-3]);
    expect(await values(ck, "i8")).toEqual([-1]);
    expect(await values(ck, "u8")).toEqual([200]);
    expect(await values(ck, "b")).toEqual([1, 0]);
    expect(await values(ck, "scalar")).toEqual([42]);
    expect(ck.spec("scalar").shape).toEqual([]);
    expect(await values(ck, "empty")).toEqual([]);
    expect(ck.spec("f16")).toMatchObject({ dtype: "float32", stored: "F16", byteLength: 4 });
  });

  it("understands the other rebuild functions: v1, v3 (untyped storage + dtype), from_type_v2, parameter_with_state", async () => {
    const f32 = Storage.f32([1, 2, 3, 4]);
    const untyped = new Storage("uint8", new Uint8Array(Float32Array.from([5, 6]).buffer), true);
    const g = (name: string) => new Global("torch._utils", name);
    const v2args = (s: Storage) =>
      new Tuple([s, 0, new Tuple([2]), new Tuple([1]), false, new OrderedDict([])]);
    const sd = new OrderedDict([
      ["v1", new Reduce(g("_rebuild_tensor"), new Tuple([f32, 2, new Tuple([2]), new Tuple([1])]))],
      [
        "v3",
        new Reduce(
          g("_rebuild_tensor_v3"),
          new Tuple([
            untyped,
            0,
            new Tuple([2]),
            new Tuple([1]),
            false,
            new OrderedDict([]),
            new Global("torch", "float32"),
          ]),
        ),
      ],
      [
        "typed",
        new Reduce(
          new Global("torch._tensor", "_rebuild_from_type_v2"),
          new Tuple([
            g("_rebuild_tensor_v2"),
            new Global("torch", "Tensor"),
            v2args(f32),
            new Map([["note", "x"]]),
          ]),
        ),
      ],
      [
        "param",
        new Reduce(
          g("_rebuild_parameter_with_state"),
          new Tuple([new Reduce(g("_rebuild_tensor_v2"), v2args(f32)), true, new OrderedDict([]), new Map()]),
        ),
      ],
    ]);
    const ck = await open(torchSave(sd));
    expect(await values(ck, "v1")).toEqual([3, 4]);
    expect(await values(ck, "v3")).toEqual([5, 6]);
    expect(ck.spec("v3").stored).toBe("F32");
    expect(await values(ck, "typed")).toEqual([1, 2]);
    expect(await values(ck, "param")).toEqual([1, 2]);
    const badType = new Reduce(
      new Global("torch._tensor", "_rebuild_from_type_v2"),
      new Tuple([
        new Global("collections", "OrderedDict"),
        new Global("torch", "Tensor"),
        new Tuple([]),
        null,
      ]),
    );
    await rejects(open(torchSave(badType)), /inner function is not a tensor rebuild function/);
  });

  it("materialises non-contiguous 3-d views and broadcast (stride-0) views", async () => {
    const s = Storage.f32(Array.from({ length: 24 }, (_, i) => i));
    const sd = new OrderedDict([
      // x = arange(24).view(2,3,4).permute(2,0,1)[1:]  → shape [3,2,3], strides [1,12,4], offset 1
      ["perm", new Tensor(s, [3, 2, 3], { offset: 1, stride: [1, 12, 4] })],
      ["bcast", new Tensor(s, [2, 3], { offset: 5, stride: [0, 1] })],
    ]);
    const ck = await open(torchSave(sd));
    const expected: number[] = [];
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) expected.push(1 + a + 12 * b + 4 * c);
    expect(await values(ck, "perm")).toEqual(expected);
    expect(await values(ck, "bcast")).toEqual([5, 6, 7, 5, 6, 7]);
  });

  it("flattens lists and int keys, accepts any top folder name, and tolerates a missing byteorder", async () => {
    const t = (v: number) => new Tensor(Storage.f32([v]), [1]);
    const obj = new Map<string | number, SaveValue>([
      ["layers", [t(1), new Tuple([t(2), t(3)])]],
      [7, t(4)],
      ["notes", "hello"],
    ]);
    const ck = await open(torchSave(obj, { archive: "my_ckpt", byteorder: null }));
    expect(ck.keys()).toEqual(["layers.0", "layers.1.0", "layers.1.1", "7"]);
    expect(await values(ck, "layers.1.1")).toEqual([3]);
    expect((ck.root as { map: Map<unknown, unknown> }).map.get("notes")).toBe("hello");
  });

  it("opens lazily: only the directory and data.pkl are read until a tensor is asked for", async () => {
    const big = Storage.f32(new Float32Array(100_000));
    const src = partsSource(torchSaveParts(new OrderedDict([["w", new Tensor(big, [100_000])]])), "lazy.pth");
    const ck = await openTorchCheckpoint(src);
    expect(src.bytesRead).toBeLessThan(2_000);
    expect((await ck.read("w")).length).toBe(100_000);
  });

  it("reads storages that sit past 4 GiB in a ZIP64 archive", async () => {
    const sd = new OrderedDict([["w", new Tensor(Storage.f32([1, 2, 3]), [3])]]);
    const src = partsSource(
      torchSaveParts(sd, { before: [["archive/pad", { zeros: 2 ** 32 + 7 }]] }),
      "imagebind_huge.pth",
    );
    expect(src.size).toBeGreaterThan(2 ** 32);
    const ck = await openTorchCheckpoint(src);
    expect([...(await ck.read("w"))]).toEqual([1, 2, 3]);
    expect(src.bytesRead).toBeLessThan(100_000);
  });
});

describe("torch.save reader: refusals", () => {
  const sd = () => new OrderedDict([["w", new Tensor(Storage.f32([1, 2, 3, 4]), [2, 2])]]);

  it("rejects a pickle with a non-allowed global, naming the global and the file", async () => {
    const evil = new OrderedDict([
      ["w", new Reduce(new Global("os", "system"), new Tuple(["touch /tmp/pwned"]))],
    ]);
    await rejects(
      open(torchSave(evil), "evil.pth"),
      /evil\.pth.*data\.pkl.*"os\.system" is not on the allow-list/,
    );
    const evil2 = new Reduce(new Global("builtins", "eval"), new Tuple(["__import__('os')"]));
    await rejects(open(torchSave(evil2), "evil.pth"), /"builtins\.eval"/);
  });

  it("rejects wrong byte order, TorchScript archives and other zips", async () => {
    await rejects(open(torchSave(sd(), { byteorder: "big" })), /"big"-endian/);
    const ts = concatParts(
      zipRecords([
        ["m/constants.pkl", new Uint8Array(1)],
        ["m/code/__torch__.py", new Uint8Array(1)],
      ]),
    );
    await rejects(open(ts), /TorchScript.*state_dict/);
    await rejects(
      open(concatParts(zipRecords([["readme.txt", new Uint8Array(1)]]))),
      /not a torch\.save archive/,
    );
  });

  it("rejects missing or mis-sized storages and views that reach past them", async () => {
    const s = Storage.f32([1, 2, 3, 4]);
    const parts = torchSaveParts(new OrderedDict([["w", new Tensor(s, [4])]]));
    const names = (zip: Uint8Array) => new TextDecoder("latin1").decode(zip);
    const missing = concatParts(parts);
    const at = names(missing).lastIndexOf("archive/data/0");
    missing[at + 13] = "9".charCodeAt(0); // rename the central-directory entry data/0 → data/9
    await rejects(open(missing), /tensor "w": its storage "archive\/data\/0" is missing/);
    // the pickle declares 4 elements; the entry holds 3
    const short = torchSave(
      new OrderedDict([["w", new Tensor(new Storage("float32", new Uint8Array(12)), [3])]]),
    );
    const shortPkl = pickleDump(new OrderedDict([["w", new Tensor(Storage.f32([1, 2, 3, 4]), [4])]]));
    const bad = concatParts(
      zipRecords([
        ["archive/data.pkl", shortPkl],
        ["archive/data/0", new Uint8Array(12)],
      ]),
    );
    expect((await open(short)).keys()).toEqual(["w"]);
    await rejects(open(bad), /storage "archive\/data\/0" has 12 bytes but the pickle declares 4 × F32/);
    await rejects(
      open(torchSave(new OrderedDict([["w", new Tensor(s, [3], { offset: 2 })]]))),
      /reaches past its 16-byte storage/,
    );
    await rejects(
      open(torchSave(new OrderedDict([["w", new Tensor(s, [2, 2], { stride: [3, 1] })]]))),
      /reaches past/,
    );
    await rejects(
      open(torchSave(new OrderedDict([["w", new Tensor(s, [2 ** 20, 2 ** 10], { stride: [0, 0] })]]))),
      /broadcast view .* too large/,
    );
  });

  it("rejects tampered data via CRC-32, in the pickle at open and in a storage at read", async () => {
    const bytes = torchSave(sd());
    const ck = await open(bytes);
    const storageAt = await ck.archive.dataOffset(ck.archive.entry("archive/data/0"));
    const pklAt = await ck.archive.dataOffset(ck.archive.entry("archive/data.pkl"));
    const t1 = bytes.slice();
    t1[storageAt] ^= 0x40;
    await rejects((await open(t1)).read("w"), /"archive\/data\/0" fails its CRC-32/);
    const ok = await openTorchCheckpoint(bytesSource(t1), { verifyChecksums: false });
    expect((await ok.read("w")).length).toBe(4);
    const t2 = bytes.slice();
    t2[pklAt + 5] ^= 0x01;
    await rejects(open(t2), /data\.pkl" fails its CRC-32/);
  });

  it("rejects nesting bombs, cycles and shared-reference explosions without recursing", async () => {
    let deep: SaveValue = new Tensor(Storage.f32([1]), [1]);
    for (let i = 0; i < 150; i++) deep = [deep];
    await rejects(open(torchSave(deep)), /nest deeper than 100/);
    // A list that contains itself: EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP
    const cyc = concatParts(
      zipRecords([["archive/data.pkl", Uint8Array.from([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e])]]),
    );
    await rejects(open(cyc), /nest deeper|cyclic/);
    // L0 = [t]; L(i+1) = [Li, Li] … 2^60 paths from a few hundred bytes
    const t = new Tensor(Storage.f32([1]), [1]);
    let laugh: SaveValue = [t];
    for (let i = 0; i < 60; i++) laugh = [laugh, laugh];
    const t0 = performance.now();
    await rejects(open(torchSave(laugh)), /too many objects/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("rejects keys that collide after flattening and malformed persistent ids", async () => {
    const t = () => new Tensor(Storage.f32([1]), [1]);
    const clash = new Map<string, SaveValue>([
      ["a", new Map([["b", t()]])],
      ["a.b", t()],
    ]);
    await rejects(open(torchSave(clash)), /"a\.b" appears twice/);
    const pid = (items: SaveValue[]) =>
      concatParts(
        zipRecords([
          ["archive/data.pkl", Uint8Array.from([...pickleDump(new Tuple(items)).slice(0, -1), 0x51, 0x2e])],
        ]),
      );
    await rejects(
      open(pid(["storage", new Global("torch", "FloatStorage"), "0", "cpu", -1])),
      /storage size is invalid/,
    );
    await rejects(open(pid(["storage", "torch.FloatStorage", "0", "cpu", 1])), /not a torch storage class/);
    await rejects(
      open(pid(["module", new Global("torch", "FloatStorage"), "0", "cpu", 1])),
      /only \('storage'/,
    );
    await rejects(
      open(pid(["storage", new Global("torch", "FloatStorage"), "../x", "cpu", 1])),
      /key is malformed/,
    );
  });
});
