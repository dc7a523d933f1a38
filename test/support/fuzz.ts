/**
 * Shared harness for the weight-reader fuzz tests (`src/engine/weights/*.fuzz.test.ts`): time-bounded fast-check
 * runs that report their case counts, per-case timing, "only ModelPackError may escape" wrappers, a bounds-watching
 * source, and byte-level mutators.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { ModelPackError } from "../../src/engine/errors.js";
import { type ByteSource, bytesSource } from "../../src/engine/weights/source.js";

export const CASES = 10_000;
export const ASYNC_CASES = 5_000;
export const TIME_LIMIT_MS = 18_000;
export const SLOW_CASE_MS = 2_000;

/** Only ModelPackError may escape. */
export function onlyModelPackErrors(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ModelPackError)) throw e;
  }
}
export async function onlyModelPackErrorsAsync(f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof ModelPackError)) throw e;
  }
}

export interface Tally {
  slowest: number;
  /** Cases the parser accepted (to show the generators reach past the first check). */
  accepted?: number;
  /** Tensors decoded in accepted cases. */
  tensors?: number;
}
export function timed<T extends unknown[]>(tally: Tally, f: (...a: T) => void): (...a: T) => void {
  return (...a) => {
    const t0 = performance.now();
    f(...a);
    tally.slowest = Math.max(tally.slowest, performance.now() - t0);
  };
}
export function timedAsync<T extends unknown[]>(
  tally: Tally,
  f: (...a: T) => Promise<void>,
): (...a: T) => Promise<void> {
  return async (...a) => {
    const t0 = performance.now();
    await f(...a);
    tally.slowest = Math.max(tally.slowest, performance.now() - t0);
  };
}

export async function check<Ts>(
  name: string,
  prop: fc.IRawProperty<Ts>,
  runs: number,
  tally: Tally,
): Promise<number> {
  const t0 = performance.now();
  const details = await fc.check(prop, {
    numRuns: runs,
    plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
  });
  const ms = performance.now() - t0;
  const reach =
    (tally.accepted === undefined ? "" : `, ${tally.accepted} accepted`) +
    (tally.tensors === undefined ? "" : `, ${tally.tensors} tensors read`);
  console.info(
    `fuzz ${name}: ${details.numRuns} cases in ${(ms / 1000).toFixed(1)} s (slowest ${tally.slowest.toFixed(1)} ms${reach})`,
  );
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? `${name} failed`);
  expect(details.numRuns).toBeGreaterThanOrEqual(details.interrupted ? Math.floor(runs / 10) : runs);
  expect(tally.slowest).toBeLessThan(SLOW_CASE_MS);
  return details.numRuns;
}

/** A source that checks every read stays in bounds (the reader must check first) and counts bytes. */
export function watched(bytes: Uint8Array, name: string): ByteSource & { bytesRead: number } {
  const inner = bytesSource(bytes, name);
  const src = {
    name,
    size: bytes.length,
    bytesRead: 0,
    read(o: number, n: number) {
      src.bytesRead += n;
      return inner.read(o, n);
    },
  };
  return src;
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations: flip, overwrite, insert, delete, truncate, and "interesting" integers at random places.

export type Mutation = { at: number; kind: number; value: number };
export const mutationArb = fc.record({ at: fc.nat(), kind: fc.nat(5), value: fc.nat(0xffffffff) });
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff];

export function mutate(base: Uint8Array, muts: Mutation[], from = 0): Uint8Array {
  let b = base.slice();
  for (const m of muts) {
    if (b.length <= from) break;
    const at = from + (m.at % (b.length - from));
    switch (m.kind) {
      case 0:
        b[at] ^= 1 << (m.value % 8);
        break;
      case 1:
        b[at] = m.value & 0xff;
        break;
      case 2: {
        const c = new Uint8Array(b.length + 1);
        c.set(b.subarray(0, at));
        c[at] = m.value & 0xff;
        c.set(b.subarray(at), at + 1);
        b = c;
        break;
      }
      case 3:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
        break;
      case 4:
        b = b.slice(0, at);
        break;
      default: {
        const v = INTERESTING[m.value % INTERESTING.length];
        for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
      }
    }
  }
  return b;
}
