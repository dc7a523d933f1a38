/**
 * Bit-faithful float32 emulation of the few PyTorch / NumPy kernels that diffusers' schedulers use to build their
 * constants (`torch.linspace`, `torch.cumprod`, `np.linspace`, `np.arange`, `np.round`).
 *
 * Why bother: the golden DDIM fixtures store `betas` and `alphas_cumprod` "exactly as stored by the scheduler",
 * and a scheduler whose constants differ by one ulp drifts from the reference over 30 steps. Every helper here is
 * checked bit for bit against `ddim_audioldm` / `ddim_animatediff` (see ddim.test.ts).
 */

const f32 = Math.fround;

const f32Buf = new Float32Array(1);
const u32Buf = new Uint32Array(f32Buf.buffer);

/** The next float32 after `x` in the direction of `dir` (+1 or -1); `x` must be a finite float32. */
function nextF32(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * 1.401298464324817e-45;
  f32Buf[0] = x;
  // Away from zero increments the magnitude bits; towards zero decrements them.
  u32Buf[0] += x > 0 === dir > 0 ? 1 : -1;
  return f32Buf[0];
}

/**
 * Correctly rounded float32 `a * b + c` (one rounding, like a fused multiply-add) for float32 inputs.
 * `a * b` is exact in double (24 + 24 significant bits); the sum is exact up to the error term `err` (TwoSum),
 * which only matters when the double sum lands exactly on a float32 rounding midpoint.
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  // Knuth TwoSum: s + err === p + c exactly.
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  const r = f32(s);
  if (err === 0 || r === s || !Number.isFinite(s)) return r;
  const other = 2 * s - r; // the float32 on the other side of s, if s is a midpoint
  if (f32(other) !== other) return r; // s is not a midpoint: rounding s is already correct
  if (err > 0 && r < s) return nextF32(r, 1);
  if (err < 0 && r > s) return nextF32(r, -1);
  return r;
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU, as built by torch 1.13
 * (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp `linspace_kernel`):
 *  - `start`, `end` are cast to float32 and `step = (end - start) / (steps - 1)` is computed in float32;
 *  - the first half counts up from `start`, the second half down from `end` (`halfway = steps / 2`);
 *  - the vectorised loop handles blocks of 2 × `lanes` elements; each `lanes`-wide vector starts from a base
 *    computed with a fused multiply-add (`start + step * idx`, contracted by the compiler in the AVX2 kernel)
 *    and fills the lanes with `base + k * step` (two roundings); the remainder goes through the scalar lambda.
 * `lanes = 8` (AVX2 / default build) reproduces both DDIM fixtures bit for bit.
 */
export function torchLinspaceF32(start: number, end: number, steps: number, lanes = 8): Float32Array {
  if (!Number.isInteger(steps) || steps < 0)
    throw new RangeError(`linspace steps must be a non-negative integer, got ${steps}`);
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (idx: number): number =>
    idx < halfway ? fmaF32(step, idx, s) : fmaF32(-step, steps - idx - 1, e);
  let idx = 0;
  const vectorEnd = Math.floor(steps / (2 * lanes)) * 2 * lanes;
  for (; idx < vectorEnd; idx += lanes) {
    const base = at(idx);
    for (let k = 0; k < lanes; k++) out[idx + k] = f32(base + f32(k * step));
  }
  for (; idx < steps; idx++) out[idx] = at(idx);
  return out;
}

/**
 * `torch.cumprod(x, dim=0)` for a float32 tensor on CPU: the running product is kept in the accumulation type
 * (`at::acc_type<float, is_cuda = false>` = double) and each prefix is cast to float32. SPEC §2.1 calls it a
 * "float32 cumulative product"; a pure float32 product differs from the fixture in ~90 % of the entries.
 */
export function torchCumprodF32(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  let acc = 1;
  for (let i = 0; i < x.length; i++) {
    acc *= x[i];
    out[i] = f32(acc);
  }
  return out;
}

/** `np.round` / `np.rint`: round half to even, in double. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half rounds up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `np.linspace(start, stop, num)` in float64 (endpoint=True): `y[i] = i * step + start`, last = stop. */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  const step = div > 0 ? delta / div : Number.NaN;
  for (let i = 0; i < num; i++) {
    // numpy: `y = y / div * delta` when step == 0, else `y * step`; with num == 1 it leaves y = [0 * delta].
    y[i] = (div > 0 ? (step === 0 ? (i / div) * delta : i * step) : i * delta) + start;
  }
  if (num > 1) y[num - 1] = stop;
  return y;
}

/**
 * `np.arange(start, stop, step)` for float64: length `ceil((stop - start) / step)`, first two values
 * `start`, `start + step`, the rest filled by `DOUBLE_fill` as `start + i * (buf[1] - buf[0])`.
 */
export function numpyArange(start: number, stop: number, step: number): Float64Array {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const y = new Float64Array(len);
  if (len === 0) return y;
  y[0] = start;
  if (len === 1) return y;
  y[1] = start + step;
  const delta = y[1] - y[0];
  for (let i = 2; i < len; i++) y[i] = start + i * delta;
  return y;
}
