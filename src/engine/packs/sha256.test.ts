import { describe, expect, it } from "vitest";
import { Sha256, sha256Hex, toHex } from "./sha256.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("Sha256 (FIPS 180-4 vectors)", () => {
  it("hashes the NIST examples", () => {
    expect(sha256Hex(enc(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex(enc("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(enc("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(
      sha256Hex(
        enc(
          "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        ),
      ),
    ).toBe("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  });

  it("hashes one million 'a' fed in uneven chunks", () => {
    const h = new Sha256();
    const chunk = new Uint8Array(999).fill(0x61);
    let left = 1_000_000;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      h.update(chunk.subarray(0, n));
      left -= n;
    }
    expect(h.bytesHashed).toBe(1_000_000);
    expect(h.digestHex()).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });

  it("agrees with WebCrypto for every length around the padding boundaries and any chunking", async () => {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 255;
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300]) {
      const ref = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data.slice(0, n))));
      expect(sha256Hex(data.subarray(0, n)), `length ${n}`).toBe(ref);
      for (const step of [1, 3, 64, 70]) {
        const h = new Sha256();
        for (let o = 0; o < n; o += step) h.update(data.subarray(o, Math.min(n, o + step)));
        expect(h.digestHex(), `length ${n} in chunks of ${step}`).toBe(ref);
      }
    }
  });

  it("refuses to be used after digest", () => {
    const h = new Sha256().update(enc("x"));
    h.digest();
    expect(() => h.update(enc("y"))).toThrow(/after digest/);
  });
});
