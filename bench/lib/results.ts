/** The shape of bench/results/<date>-<host>.json. */

export type Section =
  | "calibrate"
  | "unet"
  | "reference"
  | "scaling"
  | "runtimes"
  | "decode"
  | "fbank"
  | "imagebind"
  | "guidance"
  | "guidance-ort"
  | "video"
  | "memory"
  | "browser"
  | "peer";

export type Executor =
  | "ort-node"
  | "ort-web-wasm"
  | "tfjs-wasm"
  | "ort-webgpu"
  | "ort-wasm-browser"
  | "tfjs-webgpu";

export interface ComponentResult {
  section: Section;
  component: string;
  shape: string;
  executor: Executor;
  weights: "fp32" | "fp16" | "q4" | "fp32-tfjs";
  threads: number;
  /** 2 × multiply-adds of conv / matmul / attention (elementwise work not counted) */
  gflop: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** process CPU time (all threads) of the median run; null where not measurable (browser) */
  cpuMedianMs: number | null;
  repeats: number;
  createMs?: number;
  firstRunMs?: number;
  emitMs?: number;
  /** emitted graph + external weights */
  graphMiB?: number;
  /** RSS growth from creating the ORT session */
  sessionMiB?: number;
  /** RSS growth from before emitting the graph to after creating its session: everything this component holds */
  heldMiB?: number;
  /** process peak RSS while it ran */
  peakMiB?: number;
  /** GFLOP per wall second */
  gflops: number;
  /** GFLOP per CPU second (load-robust throughput; ≈ per-core speed) */
  cpuGflops: number | null;
  note?: string;
  profile?: {
    totalMs: number;
    byOp: { op: string; ms: number; count: number }[];
    top: { node: string; op: string; ms: number; shape: string }[];
  };
}

export interface GuidanceRunResult {
  run: { wallMs: number; cpuMs: number };
  forward: { vae: number; vocoder: number; fbank: number; imagebind: number; loss: number };
  backwardMs: number;
  tfjsBytes: number;
  loss: number;
}

export interface GuidanceResult {
  seconds: number;
  executor: string;
  runs: GuidanceRunResult[];
  unetMedianMs: number;
  unetCpuMedianMs: number;
  /** FLOPs of each guidance piece (forward) at the measured length and at the real length */
  flopsAt: Record<"vae" | "vocoder" | "fbank" | "imagebind", number>;
  flopsReal: Record<"vae" | "vocoder" | "fbank" | "imagebind", number>;
  realSeconds: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
  unetSessionMiB: number;
  tfjsPeakMiB: number;
  /** ORT rows: the first call, which traces the graph with its backward and creates the session (ms). */
  buildMs?: number;
  /** Per-op kernel time of the same graph (bench/profile.ts guidance, one run, ORT profiler). */
  profile?: ComponentResult["profile"];
}

export interface PlannerPhase {
  name: string;
  weightsMiB: number;
  activationMiB: number;
  totalMiB: number;
  source: string;
  resident: { component: string; executor: string; format: string; MiB: number }[];
}

export interface MemoryResult {
  planner: { seconds: number; peakMiB: number; peakPhase: string; phases: PlannerPhase[] }[];
  measured: {
    denoisePeakRssMiB: number | null;
    denoiseTfjsPeakMiB: number | null;
    unetSessionMiB: number | null;
    seconds: number | null;
  };
  /**
   * The ORT guidance graph (the CLI's and studio's default), planner vs measured: the planner's denoise phase with
   * the guidance on ORT minus the same phase without guidance (fp32 weights, as the bench's child stores them),
   * against the peak RSS growth of the child process that builds and runs the same graph (default variant).
   */
  ortGuidance?: { seconds: number; plannerMiB: number; measuredMiB: number | null }[];
  /** The planner's guided V2A peak at the real length with the guidance on ORT (fp16 weights). */
  ortPeak?: { seconds: number; peakMiB: number; peakPhase: string };
  wasmHeapLimitMiB: number;
}

export interface BrowserResult {
  skipped?: string;
  adapter?: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    fallback: boolean;
  } | null;
  userAgent?: string;
  shaderF16?: boolean;
  components?: ComponentResult[];
  notes?: string[];
}

export interface PeerResult {
  skipped?: string;
  python?: string;
  versions?: Record<string, string>;
  components?: {
    component: string;
    shape: string;
    medianMs: number;
    minMs: number;
    maxMs: number;
    threads: number;
  }[];
}

export interface BenchResults {
  meta: {
    date: string;
    host: string;
    cpu: string;
    cores: number;
    memoryGiB: number;
    node: string;
    versions: Record<string, string>;
    threads: number;
    quick: boolean;
    args: string[];
    loadStart: number[];
    loadEnd: number[];
    /** share of the whole machine's CPU time that was busy during the run (all processes) */
    machineBusy: number | null;
    durationS: number;
    calibration: {
      /** GEMM GFLOP per wall second (fastest run) on 1 and on `threads` threads */
      gemm1: number;
      gemmN: number;
      /** GEMM GFLOP per process-CPU second on 1 and on `threads` threads (what "eff." divides by) */
      gemm1Cpu?: number;
      gemmNCpu?: number;
      shape: string;
      /** theoretical fp32 peak from /proc/cpuinfo: clock × FLOP/cycle (vector ISA, two FMA pipes assumed) */
      peak?: { mhz: number; isa: string; flopPerCycle: number; perCoreGflops: number } | null;
    } | null;
  };
  components: ComponentResult[];
  guidance: GuidanceResult[];
  memory: MemoryResult | null;
  browser: BrowserResult | null;
  peer: PeerResult | null;
  skipped: { section: string; reason: string }[];
  notes: string[];
}
