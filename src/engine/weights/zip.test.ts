import { describe, expect, it } from "vitest";
import { concatParts, partsSource, zipRecords } from "../../../test/support/torchsave.js";
import { ModelPackError } from "../errors.js";
import { bytesSource } from "./source.js";
import { crc32, ZipArchive } from "./zip.js";

const txt = (s: string) => new TextEncoder().encode(s);

describe("zip reader", () => {
  it("computes the standard CRC-32", () => {
    expect(crc32(txt("123456789"))).toBe(0xcbf43926);
    expect(crc32(txt("6789"), crc32(txt("12345")))).toBe(0xcbf43926);
  });

  it("lists entries and reads 64-byte-aligned STORED data, in both plain and ZIP64 form", async () => {
    for (const zip64 of [false, true]) {
      const bytes = concatParts(
        zipRecords(
          [
            ["a/x", txt("hello")],
            ["a/y", txt("world!")],
          ],
          { zip64 },
        ),
      );
      const z = await ZipArchive.open(bytesSource(bytes, "t.zip"));
      expect([...z.entries.keys()]).toEqual(["a/x", "a/y"]);
      expect(new TextDecoder().decode(await z.read("a/y"))).toBe("world!");
      expect(new TextDecoder().decode(await z.read("a/y", 1, 3))).toBe("orl");
      expect((await z.dataOffset(z.entry("a/x"))) % 64).toBe(0);
      await expect(z.read("a/y", 4, 5)).rejects.toThrow(/outside entry "a\/y"/);
      await expect(z.read("nope")).rejects.toThrow(/t\.zip.*no entry "nope"/);
    }
  });

  it("finds the end record behind a short or long comment", async () => {
    const bytes = concatParts(zipRecords([["a/x", txt("hi")]]));
    for (const n of [5, 3000, 0xffff]) {
      const withComment = new Uint8Array(bytes.length + n).fill(0x20, bytes.length);
      withComment.set(bytes);
      new DataView(withComment.buffer).setUint16(bytes.length - 2, n, true); // comment length
      const z = await ZipArchive.open(bytesSource(withComment, "c.zip"));
      expect(new TextDecoder().decode(await z.read("a/x"))).toBe("hi");
    }
  });

  it("reads entries stored past 4 GiB through ZIP64 offsets, without materialising the file", async () => {
    const parts = zipRecords([
      ["a/pad", { zeros: 2 ** 32 + 100 }],
      ["a/late", txt("after 4 GiB")],
    ]);
    const src = partsSource(parts, "big.zip");
    expect(src.size).toBeGreaterThan(2 ** 32);
    const z = await ZipArchive.open(src);
    expect(z.entry("a/pad").size).toBe(2 ** 32 + 100);
    expect(z.entry("a/late").localHeaderOffset).toBeGreaterThan(2 ** 32);
    expect(new TextDecoder().decode(await z.read("a/late"))).toBe("after 4 GiB");
    expect(src.bytesRead).toBeLessThan(100_000);
  });

  it("rejects compressed, encrypted, corrupt, truncated and non-zip input", async () => {
    const bytes = concatParts(zipRecords([["a/x", txt("hello")]]));
    const cdAt = bytes.length - 22 - (46 + 3);
    const compressed = bytes.slice();
    compressed[cdAt + 10] = 8; // central directory method = DEFLATE
    let z = await ZipArchive.open(bytesSource(compressed, "c.pth"));
    await expect(z.read("a/x")).rejects.toThrow(/c\.pth.*"a\/x" is compressed \(method 8\).*torch\.save/);
    const encrypted = bytes.slice();
    encrypted[cdAt + 8] |= 1;
    z = await ZipArchive.open(bytesSource(encrypted, "e.pth"));
    await expect(z.read("a/x")).rejects.toThrow(/encrypted/);
    const flipped = bytes.slice();
    const dataAt = await (await ZipArchive.open(bytesSource(bytes))).dataOffset(
      (await ZipArchive.open(bytesSource(bytes))).entry("a/x"),
    );
    flipped[dataAt] ^= 1;
    z = await ZipArchive.open(bytesSource(flipped, "f.pth"));
    await expect(z.read("a/x")).rejects.toThrow(/CRC-32/);
    expect((await z.read("a/x", 0, 5, false)).length).toBe(5);
    await expect(ZipArchive.open(bytesSource(bytes.subarray(0, bytes.length - 1), "t.pth"))).rejects.toThrow(
      /end-of-central-directory/,
    );
    await expect(ZipArchive.open(bytesSource(bytes.subarray(10), "t.pth"))).rejects.toBeInstanceOf(
      ModelPackError,
    );
    await expect(ZipArchive.open(bytesSource(new Uint8Array(10), "t.pth"))).rejects.toThrow(/too short/);
    const dup = concatParts(
      zipRecords([
        ["a/x", txt("1")],
        ["a/x", txt("2")],
      ]),
    );
    await expect(ZipArchive.open(bytesSource(dup, "d.pth"))).rejects.toThrow(/"a\/x" appears twice/);
    const manyEntries = bytes.slice();
    new DataView(manyEntries.buffer).setUint16(bytes.length - 22 + 10, 1000, true);
    await expect(ZipArchive.open(bytesSource(manyEntries, "m.pth"))).rejects.toThrow(
      /cannot hold 1000 entries/,
    );
  });
});
