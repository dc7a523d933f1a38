/**
 * Weight storage formats for the ONNX emitter and model packs:
 *  - fp16: IEEE half, round-to-nearest-even (overflow → ±inf is refused: weights that large mean a broken file);
 *  - q4: ONNX Runtime `com.microsoft.MatMulNBits` layout — a torch Linear weight W [N=out, K=in] quantized in
 *    blocks of `blockSize` along K, symmetric with the implicit zero point 8 (value = (code − 8) · scale),
 *    two codes per byte, low nibble first; B is [N, ceil(K/bs), bs/2] uint8, scales [N · ceil(K/bs)] float.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, round to nearest even. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct
  return sign | h;
}

export function toFloat16Bytes(src: Float32Array): Uint8Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toHalfBits(src[i]);
  return new Uint8Array(out.buffer);
}

export function fromHalfBits(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface Q4Packed {
  /** [N, kBlocks, blockSize / 2] */
  codes: Uint8Array;
  /** [N · kBlocks] */
  scales: Float32Array;
  n: number;
  k: number;
  kBlocks: number;
  blockSize: number;
}

/** Quantize a row-major [N, K] weight (torch Linear layout) to MatMulNBits 4-bit blocks. */
export function quantizeQ4(w: Float32Array, n: number, k: number, blockSize = 32): Q4Packed {
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new RangeError("q4 block size must be a power of two ≥ 16");
  if (w.length !== n * k) throw new RangeError(`q4: weight has ${w.length} values, expected ${n}×${k}`);
  const kBlocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const codes = new Uint8Array(n * kBlocks * blob);
  const scales = new Float32Array(n * kBlocks);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(k, k0 + blockSize);
      // The signed value of largest magnitude maps to code 0 (−8 · scale) exactly.
      let vmax = 0;
      for (let i = k0; i < k1; i++) {
        const v = w[r * k + i];
        if (Math.abs(v) > Math.abs(vmax)) vmax = v;
      }
      const scale = vmax / -8;
      scales[r * kBlocks + b] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      const base = (r * kBlocks + b) * blob;
      for (let i = 0; i < blockSize; i++) {
        const kk = k0 + i;
        const q = kk < k1 ? Math.min(15, Math.max(0, Math.round(w[r * k + kk] * inv) + 8)) : 8;
        const byte = base + (i >> 1);
        codes[byte] |= i & 1 ? q << 4 : q;
      }
    }
  }
  return { codes, scales, n, k, kBlocks, blockSize };
}

/** Dequantize (for tests and for the tfjs executor when a pack holds only q4 weights). */
export function dequantizeQ4(q: Q4Packed): Float32Array {
  const out = new Float32Array(q.n * q.k);
  const blob = q.blockSize / 2;
  for (let r = 0; r < q.n; r++)
    for (let kk = 0; kk < q.k; kk++) {
      const b = Math.floor(kk / q.blockSize);
      const i = kk % q.blockSize;
      const byte = q.codes[(r * q.kBlocks + b) * blob + (i >> 1)];
      const code = i & 1 ? byte >> 4 : byte & 15;
      out[r * q.k + kk] = (code - 8) * q.scales[r * q.kBlocks + b];
    }
  return out;
}
