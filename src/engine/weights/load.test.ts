import { describe, expect, it } from "vitest";
import { OrderedDict, Storage, Tensor, torchSave } from "../../../test/support/torchsave.js";
import { CancelledError, ModelPackError } from "../errors.js";
import { nameParams, Param } from "../ops/param.js";
import { detectFormat, loadInto, openCheckpoint } from "./load.js";
import { f32Bytes, type SafetensorsDType, writeSafetensors } from "./safetensors.js";
import { bytesSource } from "./source.js";

class Linear {
  weight: Param;
  bias: Param;
  constructor(i: number, o: number) {
    this.weight = new Param([o, i]);
    this.bias = new Param([o]);
  }
}
class Tiny {
  layers = [new Linear(3, 2), new Linear(2, 1)];
  position_ids = new Param([4], { buffer: true, dtype: "int64" });
}

const ramp = (n: number, start = 0) => Float32Array.from({ length: n }, (_, i) => start + i);
const shapes: Record<string, number[]> = {
  "layers.0.weight": [2, 3],
  "layers.0.bias": [2],
  "layers.1.weight": [1, 2],
  "layers.1.bias": [1],
};

function tinySafetensors(
  prefix = "",
  extra: Record<string, number[]> = {},
  dtype: SafetensorsDType = "F32",
): Uint8Array {
  const spec: Parameters<typeof writeSafetensors>[0] = {};
  let start = 0;
  for (const [k, shape] of Object.entries({ ...shapes, ...extra })) {
    const n = shape.reduce((a, b) => a * b, 1);
    spec[prefix + k] = { dtype, shape, data: f32Bytes(ramp(n, start)) };
    start += 100;
  }
  const ids = new Uint8Array(32);
  for (let i = 0; i < 4; i++) new DataView(ids.buffer).setBigInt64(8 * i, BigInt(i), true);
  spec[`${prefix}position_ids`] = { dtype: "I64", shape: [4], data: ids };
  return writeSafetensors(spec);
}

function tinyTorch(prefix: string): Uint8Array {
  const entries: [string, Tensor][] = [];
  let start = 0;
  for (const [k, shape] of Object.entries(shapes)) {
    entries.push([
      k,
      new Tensor(
        Storage.f32(
          ramp(
            shape.reduce((a, b) => a * b, 1),
            start,
          ),
        ),
        shape,
      ),
    ]);
    start += 100;
  }
  entries.push(["position_ids", new Tensor(Storage.i64([0, 1, 2, 3]), [4])]);
  const sd = new OrderedDict(entries);
  return torchSave(prefix ? new Map([[prefix, sd]]) : sd);
}

async function expectLoaded(m: Tiny) {
  expect([...m.layers[0].weight.values()]).toEqual([0, 1, 2, 3, 4, 5]);
  expect([...m.layers[1].bias.values()]).toEqual([300]);
  expect(m.position_ids.values()).toBeInstanceOf(Int32Array);
  expect([...m.position_ids.values()]).toEqual([0, 1, 2, 3]);
}

describe("detectFormat / openCheckpoint", () => {
  it("recognises each format by its first bytes", async () => {
    const head = (b: Uint8Array) => detectFormat(b.subarray(0, 16), b.length);
    expect(head(tinySafetensors())).toBe("safetensors");
    expect(head(tinyTorch(""))).toBe("torch-zip");
    expect(head(new TextEncoder().encode('\n {"weight_map": {}}'))).toBe("safetensors-index");
    expect(
      head(
        Uint8Array.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]),
      ),
    ).toBe("torch-legacy");
    expect(head(new TextEncoder().encode("GGUF...."))).toBe("unknown");
    expect((await openCheckpoint(bytesSource(tinySafetensors(), "a.safetensors"))).format).toBe(
      "safetensors",
    );
    expect((await openCheckpoint(bytesSource(tinyTorch(""), "a.pth"))).format).toBe("torch");
  });

  it("refuses legacy torch files, unknown files and an empty list, with actionable messages", async () => {
    const legacy = Uint8Array.from([
      0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
    ]);
    await expect(openCheckpoint(bytesSource(legacy, "old.pth"))).rejects.toThrow(/old\.pth.*legacy.*re-save/);
    await expect(openCheckpoint(bytesSource(new Uint8Array(40), "x.bin"))).rejects.toThrow(
      /x\.bin.*not a recognised checkpoint/,
    );
    await expect(openCheckpoint([])).rejects.toBeInstanceOf(ModelPackError);
  });

  it("opens an index with its shards from a list of files, and merges unrelated files", async () => {
    const a = writeSafetensors({ "x.w": { dtype: "F32", shape: [1], data: f32Bytes(ramp(1, 5)) } });
    const b = writeSafetensors({ "y.w": { dtype: "F32", shape: [2], data: f32Bytes(ramp(2, 7)) } });
    const idx = new TextEncoder().encode(
      JSON.stringify({
        weight_map: { "x.w": "model-00001-of-00002.safetensors", "y.w": "model-00002-of-00002.safetensors" },
      }),
    );
    const ck = await openCheckpoint([
      bytesSource(b, "https://hf.example/unet/model-00002-of-00002.safetensors?download=1"),
      bytesSource(idx, "unet/model.safetensors.index.json"),
      bytesSource(a, "unet/model-00001-of-00002.safetensors"),
    ]);
    expect(ck.format).toBe("safetensors-sharded");
    expect([...(await ck.read("y.w"))]).toEqual([7, 8]);
    const merged = await openCheckpoint([bytesSource(a, "a.safetensors"), bytesSource(b, "b.safetensors")]);
    expect(merged.format).toBe("merged");
    expect(merged.keys().sort()).toEqual(["x.w", "y.w"]);
    await expect(
      openCheckpoint([bytesSource(a, "a.safetensors"), bytesSource(a, "a2.safetensors")]),
    ).rejects.toThrow(/"x\.w" appears in both a\.safetensors and a2\.safetensors/);
    await expect(
      openCheckpoint([bytesSource(idx, "i.json"), bytesSource(a, "model-00001-of-00002.safetensors")]),
    ).rejects.toThrow(/model-00002-of-00002\.safetensors.*not among the files given/);
  });
});

describe("loadInto", () => {
  it("fills every Param from safetensors and from torch (with a wrapping prefix)", async () => {
    const m1 = nameParams(new Tiny());
    const r1 = await loadInto(m1, await openCheckpoint(bytesSource(tinySafetensors(), "tiny.safetensors")));
    expect(r1.loaded.length).toBe(5);
    await expectLoaded(m1);
    const m2 = nameParams(new Tiny());
    await loadInto(m2, await openCheckpoint(bytesSource(tinyTorch("state_dict"), "tiny.pth")), {
      prefix: "state_dict.",
    });
    await expectLoaded(m2);
  });

  it("loads one sub-tree by prefix and ignores the rest (ImageBind trunks)", async () => {
    const other = { "modality_trunks.vision.blocks.0.w": [9] };
    const bytes = writeSafetensors({
      ...Object.fromEntries(
        Object.entries(shapes).map(([k, s]) => [
          `modality_trunks.audio.${k}`,
          { dtype: "F32" as const, shape: s, data: f32Bytes(ramp(s.reduce((a, b) => a * b, 1))) },
        ]),
      ),
      "modality_trunks.audio.position_ids": { dtype: "I64", shape: [4], data: new Uint8Array(32) },
      ...Object.fromEntries(
        Object.entries(other).map(([k, s]) => [
          k,
          { dtype: "F32" as const, shape: s, data: f32Bytes(ramp(9)) },
        ]),
      ),
    });
    const m = nameParams(new Tiny());
    const ck = await openCheckpoint(bytesSource(bytes, "imagebind.safetensors"));
    const r = await loadInto(m, ck, { prefix: "modality_trunks.audio." });
    expect(r.loaded.length).toBe(5);
    expect(r.unexpected).toEqual([]);
    await expect(loadInto(m, ck, { prefix: "modality_trunks.audoi." })).rejects.toThrow(
      /no keys start with "modality_trunks\.audoi\."/,
    );
  });

  it("reports every missing, unexpected, mis-shaped and mistyped key in one error, before loading anything", async () => {
    const bytes = writeSafetensors({
      "layers.0.weight": { dtype: "F32", shape: [3, 2], data: f32Bytes(ramp(6)) }, // wrong shape
      "layers.0.bias": { dtype: "F32", shape: [2], data: f32Bytes(ramp(2)) },
      "layers.1.weight": { dtype: "I32", shape: [1, 2], data: new Uint8Array(8) }, // wrong dtype
      "layers.9.weight": { dtype: "F32", shape: [1], data: f32Bytes(ramp(1)) }, // unexpected
      // layers.1.bias and position_ids missing
    });
    const m = nameParams(new Tiny());
    const err = await loadInto(m, await openCheckpoint(bytesSource(bytes, "bad.safetensors"))).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ModelPackError);
    expect(err.message).toMatch(/bad\.safetensors does not match the model/);
    expect(err.message).toMatch(/missing 2: layers\.1\.bias, position_ids/);
    expect(err.message).toMatch(/unexpected 1: layers\.9\.weight/);
    expect(err.message).toMatch(/wrong shape 1: layers\.0\.weight \[3,2\] \(expected \[2,3\]\)/);
    expect(err.message).toMatch(/wrong dtype 1: layers\.1\.weight \(I32, expected float32\)/);
    expect(err.details.missing).toEqual(["layers.1.bias", "position_ids"]);
    expect(m.layers[0].bias.data).toBeNull();
  });

  it("with strict: false tolerates missing and unexpected keys but not wrong shapes", async () => {
    const bytes = tinySafetensors("", { "extra.w": [2] });
    const m = nameParams(new Tiny());
    const partial = writeSafetensors({
      "layers.0.bias": { dtype: "F32", shape: [2], data: f32Bytes(ramp(2, 50)) },
      "extra.w": { dtype: "F32", shape: [2], data: f32Bytes(ramp(2)) },
    });
    const r = await loadInto(m, await openCheckpoint(bytesSource(partial, "p.safetensors")), {
      strict: false,
    });
    expect(r.loaded).toEqual(["layers.0.bias"]);
    expect(r.missing.length).toBe(4);
    expect(r.unexpected).toEqual(["extra.w"]);
    expect([...m.layers[0].bias.values()]).toEqual([50, 51]);
    expect(() => m.layers[0].weight.values()).toThrow(/not loaded/);
    await expect(loadInto(m, await openCheckpoint(bytesSource(bytes)))).rejects.toThrow(
      /unexpected 1: extra\.w/,
    );
    const wrong = writeSafetensors({
      "layers.0.bias": { dtype: "F32", shape: [3], data: f32Bytes(ramp(3)) },
    });
    await expect(loadInto(m, await openCheckpoint(bytesSource(wrong)), { strict: false })).rejects.toThrow(
      /wrong shape/,
    );
  });

  it("decodes half precision into float Params, reports progress, and can be cancelled", async () => {
    const m = nameParams(new Tiny());
    const ck = await openCheckpoint(bytesSource(tinySafetensors("", {}, "F32"), "t.safetensors"));
    const seen: number[] = [];
    await loadInto(m, ck, { concurrency: 1, onProgress: (p) => seen.push(p.loaded) });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    const h = writeSafetensors({
      ...Object.fromEntries(
        Object.entries(shapes).map(([k, s]) => {
          const n = s.reduce((a, b) => a * b, 1);
          return [
            k,
            {
              dtype: "F16" as const,
              shape: s,
              data: new Uint8Array(Uint16Array.from({ length: n }, () => 0x3c00).buffer),
            },
          ];
        }),
      ),
      position_ids: { dtype: "I64", shape: [4], data: new Uint8Array(32) },
    });
    const m2 = nameParams(new Tiny());
    await loadInto(m2, await openCheckpoint(bytesSource(h)));
    expect([...m2.layers[0].weight.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    const ac = new AbortController();
    ac.abort();
    await expect(loadInto(nameParams(new Tiny()), ck, { signal: ac.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
  });
});
