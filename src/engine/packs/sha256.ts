/**
 * Incremental SHA-256 (FIPS 180-4) in plain TypeScript.
 *
 * WebCrypto's `crypto.subtle.digest` only hashes a whole buffer at once, and a 2 GB UNet shard set cannot be held
 * in memory to be hashed after the fact; packs are hashed while they are written or downloaded, chunk by chunk,
 * in browsers, workers and Node alike. `update` may be called with chunks of any size; `digestHex` finishes.
 * Tested against the FIPS/NIST vectors and against WebCrypto on random data (sha256.test.ts).
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export class Sha256 {
  private readonly h = new Int32Array(IV);
  private readonly w = new Int32Array(64);
  /** Bytes of an incomplete block carried to the next `update`. */
  private readonly tail = new Uint8Array(64);
  private tailLen = 0;
  /** Total bytes hashed (exact up to 2^53). */
  private length = 0;
  private finished = false;

  /** Bytes fed so far. */
  get bytesHashed(): number {
    return this.length;
  }

  update(data: Uint8Array): this {
    if (this.finished) throw new Error("Sha256: update after digest");
    let off = 0;
    const n = data.length;
    this.length += n;
    if (this.tailLen > 0) {
      const take = Math.min(64 - this.tailLen, n);
      this.tail.set(data.subarray(0, take), this.tailLen);
      this.tailLen += take;
      off = take;
      if (this.tailLen < 64) return this;
      this.blocks(this.tail, 0, 64);
      this.tailLen = 0;
    }
    const whole = (n - off) & ~63;
    if (whole > 0) {
      this.blocks(data, off, whole);
      off += whole;
    }
    if (off < n) {
      this.tail.set(data.subarray(off), 0);
      this.tailLen = n - off;
    }
    return this;
  }

  /** Finish and return the 32-byte digest. The hasher cannot be updated afterwards. */
  digest(): Uint8Array {
    if (this.finished) throw new Error("Sha256: digest called twice");
    this.finished = true;
    const bits = this.length * 8;
    const pad = new Uint8Array(this.tailLen < 56 ? 64 : 128);
    pad.set(this.tail.subarray(0, this.tailLen));
    pad[this.tailLen] = 0x80;
    const dv = new DataView(pad.buffer);
    dv.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    dv.setUint32(pad.length - 4, bits >>> 0);
    this.blocks(pad, 0, pad.length);
    const out = new Uint8Array(32);
    const odv = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) odv.setInt32(i * 4, this.h[i]);
    return out;
  }

  digestHex(): string {
    return toHex(this.digest());
  }

  /** Compress `len` bytes (a multiple of 64) of `p` starting at `off`. */
  private blocks(p: Uint8Array, off: number, len: number): void {
    const w = this.w;
    const h = this.h;
    let h0 = h[0];
    let h1 = h[1];
    let h2 = h[2];
    let h3 = h[3];
    let h4 = h[4];
    let h5 = h[5];
    let h6 = h[6];
    let h7 = h[7];
    for (let base = off; base < off + len; base += 64) {
      for (let i = 0; i < 16; i++) {
        const j = base + i * 4;
        w[i] = (p[j] << 24) | (p[j + 1] << 16) | (p[j + 2] << 8) | p[j + 3];
      }
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15];
        const b = w[i - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let a = h0;
      let b = h1;
      let c = h2;
      let d = h3;
      let e = h4;
      let f = h5;
      let g = h6;
      let hh = h7;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const ch = (e & f) ^ (~e & g);
        const t1 = (hh + S1 + ch + K[i] + w[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const maj = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (S0 + maj) | 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + hh) | 0;
    }
    h[0] = h0;
    h[1] = h1;
    h[2] = h2;
    h[3] = h3;
    h[4] = h4;
    h[5] = h5;
    h[6] = h6;
    h[7] = h7;
  }
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** One-shot helper for small buffers. */
export function sha256Hex(data: Uint8Array): string {
  return new Sha256().update(data).digestHex();
}

/** Anything that yields bytes in order: a ReadableStream reader loop, a file read loop, … */
export interface IncrementalHasher {
  update(data: Uint8Array): unknown;
  digestHex(): string;
}

/** A factory for hashers: the TS one by default; Node tools may pass a faster native one (same digests). */
export type HasherFactory = () => IncrementalHasher;

export const defaultHasher: HasherFactory = () => new Sha256();
