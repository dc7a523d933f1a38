/**
 * Naive float64 reference implementations of the trickier primitives (torch semantics), used to test the
 * executors independently of tfjs and onnxruntime.
 */

export function rng(seed: number): () => number {
  // mulberry32 → uniform [0, 1), then Box-Muller for normals
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * scale;
  return out;
}

/** torch conv2d (groups = 1), x [N,C,H,W], w [O,C,kh,kw]. Conv1d: pass H = kh = 1. */
export function conv2dRef(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  b: Float32Array | null,
  stride: [number, number],
  pad: [[number, number], [number, number]],
  dil: [number, number],
): { data: Float64Array; shape: number[] } {
  const [n, c, h, wd] = xs;
  const [o, , kh, kw] = ws;
  const oh = Math.floor((h + pad[0][0] + pad[0][1] - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((wd + pad[1][0] + pad[1][1] - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
  const out = new Float64Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++)
      for (let y = 0; y < oh; y++)
        for (let xq = 0; xq < ow; xq++) {
          let s = b ? b[oi] : 0;
          for (let ci = 0; ci < c; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = y * stride[0] - pad[0][0] + i * dil[0];
                const xx = xq * stride[1] - pad[1][0] + j * dil[1];
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                s += x[((ni * c + ci) * h + yy) * wd + xx] * w[((oi * c + ci) * kh + i) * kw + j];
              }
          out[((ni * o + oi) * oh + y) * ow + xq] = s;
        }
  return { data: out, shape: [n, o, oh, ow] };
}

/** torch conv_transpose2d (groups = 1), w [Cin, Cout, kh, kw]. */
export function convTranspose2dRef(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  b: Float32Array | null,
  stride: [number, number],
  pad: [number, number],
  outPad: [number, number],
): { data: Float64Array; shape: number[] } {
  const [n, cin, h, wd] = xs;
  const [, cout, kh, kw] = ws;
  const oh = (h - 1) * stride[0] - 2 * pad[0] + kh + outPad[0];
  const ow = (wd - 1) * stride[1] - 2 * pad[1] + kw + outPad[1];
  const out = new Float64Array(n * cout * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let co = 0; co < cout; co++)
      for (let i = 0; i < oh * ow; i++) out[(ni * cout + co) * oh * ow + i] = b ? b[co] : 0;
  for (let ni = 0; ni < n; ni++)
    for (let ci = 0; ci < cin; ci++)
      for (let y = 0; y < h; y++)
        for (let xq = 0; xq < wd; xq++) {
          const v = x[((ni * cin + ci) * h + y) * wd + xq];
          for (let co = 0; co < cout; co++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = y * stride[0] - pad[0] + i;
                const xx = xq * stride[1] - pad[1] + j;
                if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
                out[((ni * cout + co) * oh + yy) * ow + xx] += v * w[((ci * cout + co) * kh + i) * kw + j];
              }
        }
  return { data: out, shape: [n, cout, oh, ow] };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}
