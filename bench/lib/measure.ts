/** Memory and machine-load probes (Node only); timing lives in timing.ts (shared with the browser bench). */
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export { median, type Run, repeat, type Stats, stats, timed } from "./timing.js";

export interface ProcMem {
  rss: number;
  /** peak RSS since the last `resetPeak()` (VmHWM) */
  peak: number;
}

export function procMem(): ProcMem {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Reset the kernel's peak-RSS counter (Linux ≥ 4.0: echo 5 > /proc/self/clear_refs). */
export function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

let gcFn: (() => void) | null = null;
/** A full GC (so RSS deltas mean something); enables --expose-gc at run time. */
export function gc(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

export function load(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** Jiffies spent busy vs all on the whole machine since `prev` (0..1): how loaded the box was meanwhile. */
export function machineBusy(prev?: number[]): { sample: number[]; busy: number | null } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (!prev) return { sample: v, busy: null };
  const d = v.map((x, i) => x - (prev[i] ?? 0));
  const total = d.reduce((a, b) => a + b, 0);
  const idle = (d[3] ?? 0) + (d[4] ?? 0);
  return { sample: v, busy: total > 0 ? 1 - idle / total : null };
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
