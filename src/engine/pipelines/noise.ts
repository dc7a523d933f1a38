/**
 * Seeded standard-normal noise for initial latents. PyTorch's CUDA Philox stream cannot be reproduced in
 * JavaScript (SPEC §3.3), so the studio defines its own: xoshiro128** seeded by splitmix32 from the integer
 * seed, Box–Muller in float64, rounded to float32. The same seed gives the same latent on every platform,
 * which is what compare mode (vanilla vs guided) and re-runs need. Tests that pin upstream numbers supply
 * the initial latent instead.
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128** — uniform 32-bit integers. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    const sm = splitmix32((seed >>> 0) ^ Math.floor(seed / 2 ** 32));
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
  }
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  /** Uniform in (0, 1): never 0, so log() is finite. */
  nextUniform(): number {
    return (this.nextU32() + 0.5) / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** `n` float32 samples of N(0, 1) from `seed`. */
export function randn(n: number, seed: number): Float32Array {
  const rng = new Xoshiro128(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = rng.nextUniform();
    const u2 = rng.nextUniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
