/**
 * Machine-speed calibration in the same process: the GFLOP/s onnxruntime reaches on one large fp32 GEMM right
 * now, per wall second and per CPU second. Under load (a shared box) every wall time moves; "efficiency" =
 * (model GFLOP per CPU second) / (the GEMM's GFLOP per CPU second at the same thread count) is the load-robust
 * way to say whether a graph wastes time. The CPU's theoretical fp32 peak (from /proc/cpuinfo) bounds what any
 * implementation can reach on this box.
 */
import { readFileSync } from "node:fs";
import { OnnxEmitter } from "../../src/engine/ops/onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "../../src/engine/ops/onnx/session.js";
import { Param } from "../../src/engine/ops/param.js";
import { wave } from "./cases.js";
import { median, timed } from "./timing.js";

export interface GemmRate {
  /** GFLOP per wall second of the fastest run */
  gflops: number;
  /** GFLOP per process-CPU second (all threads), median over the runs */
  cpuGflops: number;
  ms: number;
  flops: number;
}

export async function gemmGflops(
  ort: OrtModule,
  opts: { threads: number; m?: number; k?: number; n?: number; runs?: number; extra?: object } = {
    threads: 2,
  },
): Promise<GemmRate> {
  const m = opts.m ?? 2048;
  const k = opts.k ?? 1024;
  const n = opts.n ?? 1024;
  const w = new Param([n, k]);
  w.name = "w";
  w.set(wave(n * k, 3));
  const em = new OnnxEmitter({ weights: "fp32" });
  const x = em.input("x", [m, k]);
  em.output("y", em.linear(x, w, null));
  const session = await createSession(ort, em.build(), {
    intraOpNumThreads: opts.threads,
    extra: opts.extra,
  });
  const input = { x: { data: wave(m * k), shape: [m, k] } };
  await runSession(ort, session, input);
  let best = Number.POSITIVE_INFINITY;
  const cpu: number[] = [];
  for (let r = 0; r < (opts.runs ?? 7); r++) {
    const { run } = await timed(() => runSession(ort, session, input));
    best = Math.min(best, run.wallMs);
    if (run.cpuMs > 0) cpu.push(run.cpuMs);
  }
  await session.release();
  const flops = 2 * m * k * n;
  return {
    gflops: flops / best / 1e6,
    cpuGflops: cpu.length ? flops / median(cpu) / 1e6 : Number.NaN,
    ms: best,
    flops,
  };
}

export interface CpuPeak {
  mhz: number;
  /** fp32 FLOP per cycle per core assumed from the vector ISA (two FMA pipes: AVX-512 64, AVX2+FMA 32, SSE 8) */
  flopPerCycle: number;
  isa: string;
  /** theoretical fp32 GFLOP/s of one core */
  perCore: number;
}

/** The theoretical fp32 peak per core from /proc/cpuinfo (null where unreadable, e.g. not Linux). */
export function cpuPeak(): CpuPeak | null {
  let text: string;
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
  const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(text)?.[1] ?? Number.NaN);
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? "").split(/\s+/));
  if (!Number.isFinite(mhz) || mhz <= 0) return null;
  const [isa, flopPerCycle] = flags.has("avx512f")
    ? ["AVX-512", 64]
    : flags.has("avx2") && flags.has("fma")
      ? ["AVX2+FMA", 32]
      : ["SSE", 8];
  return { mhz, flopPerCycle, isa, perCore: (mhz * flopPerCycle) / 1000 };
}
