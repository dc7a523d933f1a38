/**
 * Exact rationals with BigInt, mirroring the parts of Python's `fractions.Fraction` that pytorchvideo's clip
 * samplers use (SPEC §3.6 step 2, §3.7 step 2, §7.3 last item). The samplers build their times from Python
 * floats, so `Fraction.fromFloat` converts the exact binary value of a double (as `Fraction(0.1)` does,
 * giving 3602879701896397/36028797018963968), never a decimal approximation.
 *
 * Python's mixed arithmetic is reproduced where it matters: `int(f)` truncates toward zero (`trunc`), and a
 * Fraction meeting a float degrades to float arithmetic (`toFloat` is the correctly rounded `float(f)`).
 */

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

export class Fraction {
  /** Lowest terms, denominator > 0 (Python's invariant). */
  readonly num: bigint;
  readonly den: bigint;

  constructor(num: bigint | number, den: bigint | number = 1n) {
    let n = typeof num === "bigint" ? num : BigInt(num);
    let d = typeof den === "bigint" ? den : BigInt(den);
    if (d === 0n) throw new RangeError("Fraction with zero denominator");
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n, d);
    this.num = g > 1n ? n / g : n;
    this.den = g > 1n ? d / g : d;
  }

  static readonly ZERO = new Fraction(0n);

  /** `Fraction(x)` for a Python float `x`: the exact value of the IEEE double (finite only). */
  static fromFloat(x: number): Fraction {
    if (!Number.isFinite(x)) throw new RangeError(`cannot convert ${x} to a Fraction`);
    if (Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER) return new Fraction(BigInt(x));
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    const sign = hi >>> 31 ? -1n : 1n;
    const exp = (hi >>> 20) & 0x7ff;
    let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    let e: number;
    if (exp === 0)
      e = -1074; // subnormal
    else {
      mant |= 1n << 52n;
      e = exp - 1075;
    }
    return e >= 0 ? new Fraction(sign * (mant << BigInt(e))) : new Fraction(sign * mant, 1n << BigInt(-e));
  }

  add(o: Fraction | number): Fraction {
    const b = Fraction.of(o);
    return new Fraction(this.num * b.den + b.num * this.den, this.den * b.den);
  }
  sub(o: Fraction | number): Fraction {
    const b = Fraction.of(o);
    return new Fraction(this.num * b.den - b.num * this.den, this.den * b.den);
  }
  mul(o: Fraction | number): Fraction {
    const b = Fraction.of(o);
    return new Fraction(this.num * b.num, this.den * b.den);
  }
  div(o: Fraction | number): Fraction {
    const b = Fraction.of(o);
    if (b.num === 0n) throw new RangeError("Fraction division by zero");
    return new Fraction(this.num * b.den, this.den * b.num);
  }
  cmp(o: Fraction | number): number {
    const b = Fraction.of(o);
    const l = this.num * b.den;
    const r = b.num * this.den;
    return l < r ? -1 : l > r ? 1 : 0;
  }

  /** Python `int(f)`: truncation toward zero (a JS number; exact while it fits). */
  trunc(): number {
    return Number(this.num / this.den);
  }

  /** Python `float(f)`: `num / den` correctly rounded to the nearest double (ties to even). */
  toFloat(): number {
    if (this.num === 0n) return 0;
    const neg = this.num < 0n;
    const n = neg ? -this.num : this.num;
    const d = this.den;
    // Quotient with ≥ 55 significant bits, remainder as a sticky bit.
    const s = Math.max(0, 55 + bitLength(d) - bitLength(n));
    const scaled = n << BigInt(s);
    let q = scaled / d;
    const sticky = scaled % d !== 0n;
    const drop = bitLength(q) - 53;
    let scale = -s;
    if (drop > 0) {
      const rem = q & ((1n << BigInt(drop)) - 1n);
      const half = 1n << BigInt(drop - 1);
      q >>= BigInt(drop);
      scale += drop;
      if (rem > half || (rem === half && (sticky || (q & 1n) === 1n))) q += 1n;
    }
    const v = Number(q) * 2 ** scale;
    return neg ? -v : v;
  }

  /** Python `str(Fraction)`: "n" or "n/d". */
  toString(): string {
    return this.den === 1n ? `${this.num}` : `${this.num}/${this.den}`;
  }

  private static of(x: Fraction | number): Fraction {
    if (x instanceof Fraction) return x;
    if (!Number.isInteger(x)) throw new TypeError(`mixed Fraction arithmetic needs an integer, got ${x}`);
    return new Fraction(BigInt(x));
  }
}
