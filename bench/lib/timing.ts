/**
 * Timing (pure: Node and browser). Every run records wall time and, in Node, the process CPU time (all
 * threads): on a shared box the wall time moves with other people's load while CPU time mostly does not.
 */

export interface Run {
  wallMs: number;
  /** process user+system CPU time during the run (all threads); 0 where unavailable (browser) */
  cpuMs: number;
}

export interface Stats {
  runs: Run[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** null where CPU time is unavailable (browser) */
  cpuMedianMs: number | null;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type CpuUsage = { user: number; system: number };
const cpuUsage: ((prev?: CpuUsage) => CpuUsage) | null =
  typeof process !== "undefined" && typeof process.cpuUsage === "function" ? process.cpuUsage : null;

export function stats(runs: Run[]): Stats {
  const w = runs.map((r) => r.wallMs);
  return {
    runs,
    medianMs: median(w),
    minMs: Math.min(...w),
    maxMs: Math.max(...w),
    cpuMedianMs: cpuUsage ? median(runs.map((r) => r.cpuMs)) : null,
  };
}

export async function timed<T>(f: () => Promise<T> | T): Promise<{ run: Run; value: T }> {
  const c0 = cpuUsage?.();
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  const c = cpuUsage && c0 ? cpuUsage(c0) : { user: 0, system: 0 };
  return { run: { wallMs, cpuMs: (c.user + c.system) / 1e3 }, value };
}

export async function repeat(n: number, f: () => Promise<unknown> | unknown): Promise<Stats> {
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push((await timed(f)).run);
  return stats(runs);
}
