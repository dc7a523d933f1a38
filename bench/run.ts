/**
 * npm run bench [-- --quick] [-- --only unet,vocoder,...] [-- --torch <python>] [-- --no-browser]
 *               [-- --budget-min 25] [-- --video-px 64] [-- --web-10s] [-- --keep-all-10s] [-- --malloc-compare]
 *               [-- --out bench/results]
 *
 * Where time and memory go (issue 10), measured side by side in one run, with random weights of the REAL
 * configs (golden manifests) at the studio's real shapes (SPEC §3.3 / B.4):
 *  1. component timings (median, min/max; wall AND process CPU time — a shared box moves wall time, CPU time
 *     much less) on onnxruntime-node / onnxruntime-web (wasm, in Node) / tfjs-wasm, fp32 / fp16 / q4;
 *  2. ratios: guided / vanilla step and job, runtime vs runtime, weight format vs format, our UNet vs the
 *     issue's PyTorch reference points, with the FLOPs of every case so the references can be checked;
 *  3. memory: ORT session sizes, peak RSS and tfjs bytes per phase vs the memory planner's estimate;
 *  4. the browser (headless Chromium: ORT WebGPU EP + tfjs-webgpu, SwiftShader here) at small shapes;
 *  5. scaling with audio length and video frames.
 * Writes bench/results/<date>-<host>.json and .md and prints the summary. `--quick` runs every section on
 * tiny shapes (harness check, ~2 min). Sections that would overrun `--budget-min` are skipped and say so.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, freemem, hostname, totalmem } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as ortNode from "onnxruntime-node";
import type { WeightFormat } from "../src/engine/ops/onnx/emitter.js";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import { namedParams } from "../src/engine/ops/param.js";
import { TfjsOps } from "../src/engine/ops/tfjs.js";
import { MemoryPlanner } from "../src/engine/packs/planner.js";
import { ORT_GUIDANCE } from "../src/engine/packs/planner-calls.js";
import { folderPack } from "../src/engine/packs/sink-node.js";
import { startTfjsNode } from "../src/engine/runtime/tfjs-node.js";
import { runBrowserBench } from "./lib/browser.js";
import { cpuPeak, gemmGflops } from "./lib/calibrate.js";
import {
  audioUnet,
  audioUnetCase,
  audioVae,
  type Case,
  caseFlops,
  emitCase,
  fbankCase,
  fillImageBind,
  fillRandom,
  guidanceParamCount,
  ibAudioCase,
  ibTextCase,
  ibVisionCase,
  imagebind,
  motionUnet,
  motionUnetCase,
  releaseWeights,
  vaeDecodeCase,
  vocoder,
  vocoderCase,
} from "./lib/cases.js";
import { guidanceStep } from "./lib/guidance.js";
import { GiB, gc, load, MiB, machineBusy, procMem, repeat, resetPeak, stats, timed } from "./lib/measure.js";
import { type FullConfigs, fullConfigs, SMALL } from "./lib/models.js";
import { type OrtExecutor, runOrt } from "./lib/ort.js";
import { runTorchPeer } from "./lib/peer.js";
import { fullSizeManifest } from "./lib/planner_full.js";
import type { BenchResults, ComponentResult, GuidanceResult, Section } from "./lib/results.js";
import { writeSummary } from "./lib/summary.js";

// --- arguments --------------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(n);
const opt = (n: string): string | undefined => {
  const i = argv.indexOf(n);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag("--quick");
const only = opt("--only")?.split(",");
const skip = new Set(opt("--skip")?.split(",") ?? []);
if (flag("--no-browser")) skip.add("browser");
const torchPython = opt("--torch") ?? null;
const budgetMs = Number(opt("--budget-min") ?? (quick ? 10 : 25)) * 60_000;
const THREADS = Number(opt("--threads") ?? 2);
const outDir = opt("--out") ?? "bench/results";
const started = performance.now();
const left = () => budgetMs - (performance.now() - started);

const want = (s: Section) => (!only || only.includes(s)) && !skip.has(s);

const cfg: FullConfigs = quick ? SMALL : fullConfigs();
const SECONDS = quick ? 2 : 10;
const reps = (n: number) => (quick ? 1 : n);
/** The heaviest full-size cases (≥ ~1 TFLOP, a minute per run on a loaded 2-core box) are timed once. */
const heavy = (n: number) => (quick ? 1 : n);

const ort = ortNode as unknown as OrtModule;
let ortWeb: OrtModule | null = null;
async function getOrtWeb(): Promise<OrtModule> {
  if (!ortWeb) {
    const m = (await import("onnxruntime-web")) as unknown as OrtModule & {
      env: { wasm: { numThreads: number } };
    };
    m.env.wasm.numThreads = THREADS;
    ortWeb = m;
  }
  return ortWeb;
}

const results: BenchResults = {
  meta: {
    date: new Date().toISOString(),
    host: hostname(),
    cpu: cpus()[0]?.model ?? "?",
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / GiB) * 10) / 10,
    node: process.version,
    versions: {
      "onnxruntime-node":
        (ortNode as unknown as { env: { versions: { node?: string } } }).env.versions.node ?? "?",
      tfjs: tf.version_core,
    },
    threads: THREADS,
    quick,
    args: argv,
    loadStart: load(),
    loadEnd: [],
    machineBusy: null,
    durationS: 0,
    calibration: null,
  },
  components: [],
  guidance: [],
  memory: null,
  browser: null,
  peer: null,
  skipped: [],
  notes: [],
};
const busy0 = machineBusy().sample;
const stem = join(outDir, `${results.meta.date.slice(0, 10)}-${results.meta.host}${quick ? "-quick" : ""}`);

function log(s: string): void {
  const t = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[${t}s] ${s}`);
}

function skipSection(section: string, reason: string): void {
  results.skipped.push({ section, reason });
  log(`skip ${section}: ${reason}`);
}

/** Runs a section unless deselected or the remaining budget is below its expected cost. */
async function section(name: Section, expectMs: number, f: () => Promise<void>): Promise<void> {
  if (!want(name)) return;
  if (expectMs > 0 && left() < expectMs) {
    skipSection(
      name,
      `budget: ${(left() / 60_000).toFixed(1)} min left, needs ~${(expectMs / 60_000).toFixed(1)} min`,
    );
    return;
  }
  log(`== ${name}`);
  try {
    await f();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    results.notes.push(`${name} failed: ${msg}`);
    log(`${name} FAILED: ${msg}`);
  }
  gc();
  save();
}

/** Writes the JSON and the summary so far (after every section: a run killed later still leaves its numbers). */
function save(): string {
  results.meta.loadEnd = load();
  results.meta.machineBusy = machineBusy(busy0).busy;
  results.meta.durationS = (performance.now() - started) / 1000;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 1)}\n`);
  const text = writeSummary(results);
  writeFileSync(`${stem}.md`, text);
  return text;
}

// --- one component on one executor ---------------------------------------------------------------------------

const gflop = (f: number) => f / 1e9;

function record(
  sectionName: Section,
  c: Case,
  flops: number,
  executor: ComponentResult["executor"],
  weights: ComponentResult["weights"],
  threads: number,
  r: {
    medianMs: number;
    minMs: number;
    maxMs: number;
    cpuMedianMs: number | null;
    repeats: number;
    createMs?: number;
    firstRunMs?: number;
    sessionBytes?: number;
    peakBytes?: number;
    note?: string;
  },
  extra: Partial<ComponentResult> = {},
): ComponentResult {
  const row: ComponentResult = {
    section: sectionName,
    component: c.component,
    shape: c.shape,
    executor,
    weights,
    threads,
    gflop: gflop(flops),
    medianMs: r.medianMs,
    minMs: r.minMs,
    maxMs: r.maxMs,
    cpuMedianMs: r.cpuMedianMs,
    repeats: r.repeats,
    createMs: r.createMs,
    firstRunMs: r.firstRunMs,
    sessionMiB: r.sessionBytes !== undefined ? r.sessionBytes / MiB : undefined,
    peakMiB: r.peakBytes !== undefined ? r.peakBytes / MiB : undefined,
    gflops: flops / 1e6 / r.medianMs,
    cpuGflops: r.cpuMedianMs ? flops / 1e6 / r.cpuMedianMs : null,
    note: r.note,
    ...extra,
  };
  results.components.push(row);
  const cpu = r.cpuMedianMs !== null ? ` cpu ${(r.cpuMedianMs / 1000).toFixed(2)} s` : "";
  log(
    `${c.component} ${c.shape} ${executor} ${weights}: median ${(r.medianMs / 1000).toFixed(2)} s [${(r.minMs / 1000).toFixed(2)}–${(r.maxMs / 1000).toFixed(2)}]${cpu}, ${row.gflop.toFixed(1)} GFLOP` +
      (r.sessionBytes !== undefined ? `, session ${(r.sessionBytes / MiB).toFixed(0)} MiB` : ""),
  );
  return row;
}

async function onOrt(
  sectionName: Section,
  c: Case,
  weights: WeightFormat,
  executor: OrtExecutor,
  repeats: number,
  o: { profile?: boolean; extra?: Record<string, unknown>; label?: string; release?: boolean } = {},
): Promise<ComponentResult | null> {
  gc();
  const baseline = procMem().rss;
  const em = emitCase(c, weights);
  // drop the host weights once they are in the graph (the caller refills them for the next graph)
  if (o.release && c.module) {
    releaseWeights(c.module);
    gc();
  }
  const rt = executor === "ort-node" ? ort : await getOrtWeb();
  try {
    const { result } = await runOrt(rt, em, c, {
      executor,
      weights,
      threads: THREADS,
      repeats,
      profile: o.profile,
      extra: o.extra,
      baseline,
    });
    return record(
      sectionName,
      c,
      em.flops,
      executor,
      weights,
      THREADS,
      {
        ...result.stats,
        repeats,
        createMs: result.createMs,
        firstRunMs: result.firstRunMs,
        sessionBytes: result.sessionBytes,
        peakBytes: result.peakBytes,
        note:
          [o.label, result.outputFinite ? "" : "NON-FINITE OUTPUT"].filter(Boolean).join("; ") || undefined,
      },
      {
        emitMs: em.emitMs,
        heldMiB: result.heldBytes !== null ? result.heldBytes / MiB : undefined,
        graphMiB: (em.built.model.length + (em.built.externalData?.data.length ?? 0)) / MiB,
        profile: result.profile
          ? {
              totalMs: result.profile.totalUs / 1e3,
              byOp: result.profile.byOp
                .slice(0, 12)
                .map((x) => ({ op: x.op, ms: x.us / 1e3, count: x.count })),
              top: result.profile.top.slice(0, 8).map((x) => ({ ...x, ms: x.us / 1e3 })),
            }
          : undefined,
      },
    );
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    results.notes.push(`${c.component} ${c.shape} ${executor} ${weights} failed: ${msg.slice(0, 300)}`);
    log(`${c.component} ${executor} ${weights} FAILED: ${msg.slice(0, 200)}`);
    return null;
  }
}

async function onTfjs(
  sectionName: Section,
  c: Case,
  repeats: number,
  o: { grad?: boolean } = {},
): Promise<ComponentResult | null> {
  const ops = new TfjsOps();
  try {
    const xs: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs))
      xs[k] = tf.tensor(v.data, v.shape, v.data instanceof Int32Array ? "int32" : "float32");
    if (c.module) for (const [, p] of namedParams(c.module)) if (p.data) ops.param(p); // upload first
    const once = async () => {
      if (o.grad) {
        const key = Object.keys(xs)[0];
        const g = tf.tidy(() => {
          const f = (x: tf.Tensor) => tf.sum(c.forward(ops, { ...xs, [key]: x }));
          return tf.grad(f)(xs[key]);
        });
        await g.data();
        g.dispose();
      } else {
        const y = tf.tidy(() => c.forward(ops, xs));
        await y.data();
        y.dispose();
      }
    };
    gc();
    resetPeak();
    const first = await timed(once);
    const s = repeats > 0 ? await repeat(repeats, once) : stats([first.run]);
    const flops = caseFlops(c) * (o.grad ? 2 : 1);
    return record(sectionName, c, flops, "tfjs-wasm", "fp32-tfjs", 1, {
      ...s,
      repeats,
      firstRunMs: first.run.wallMs,
      peakBytes: procMem().peak,
      note: o.grad ? "forward + input gradient (FLOPs counted ×2)" : undefined,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    results.notes.push(`${c.component} ${c.shape} tfjs-wasm failed: ${msg.slice(0, 300)}`);
    log(`${c.component} tfjs-wasm FAILED: ${msg.slice(0, 200)}`);
    return null;
  } finally {
    ops.dispose();
  }
}

// --- sections -----------------------------------------------------------------------------------------------------

log(
  `bench: ${quick ? "QUICK (default-pack sizes, short shapes)" : "full-size models"}; ${THREADS} threads; budget ${(budgetMs / 60_000).toFixed(0)} min; load ${results.meta.loadStart.join(" ")}`,
);
const tfBackend = await startTfjsNode("wasm");
results.meta.versions["tfjs-backend"] = tfBackend;
// tools/run.mjs sets it (see there); STUDIO_MALLOC=default runs everything on glibc's own settings
results.meta.versions.malloc = process.env.MALLOC_MMAP_THRESHOLD_
  ? `glibc, MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_}`
  : "default";

await section("calibrate", 5_000, async () => {
  const one = await gemmGflops(ort, { threads: 1 });
  const two = await gemmGflops(ort, { threads: THREADS });
  const peak = cpuPeak();
  results.meta.calibration = {
    gemm1: one.gflops,
    gemmN: two.gflops,
    gemm1Cpu: one.cpuGflops,
    gemmNCpu: two.cpuGflops,
    shape: "2048×1024·1024ᵀ fp32",
    peak: peak && {
      mhz: peak.mhz,
      isa: peak.isa,
      flopPerCycle: peak.flopPerCycle,
      perCoreGflops: peak.perCore,
    },
  };
  log(
    `GEMM: ${one.gflops.toFixed(1)} GFLOP/s on 1 thread, ${two.gflops.toFixed(1)} on ${THREADS}; per CPU-second ${one.cpuGflops.toFixed(1)} / ${two.cpuGflops.toFixed(1)}` +
      (peak
        ? `; theoretical ${peak.perCore.toFixed(0)} GFLOP/s per core (${peak.isa}, ${peak.mhz.toFixed(0)} MHz)`
        : ""),
  );
});

// The guidance step's loss and gradient on onnxruntime-node (emitted backward, fp32 weights), each variant and
// length in a fresh child process (bench/guidance-child.ts: a process that has run other graphs keeps their freed
// pages and would hide the child's peak). They run here, before any in-process section: the pages those sections
// free stay with this process, and the 2026-11-26 full run had 6.2 GiB free at this point when it ran them after
// the audio sections (against 12.1 after calibrate + video), so the default 10-s child was skipped.
// Two graph variants: every activation kept in ORT's arena, and the default (checkpointed bodies recomputed in the
// backward, no arena): the speed and memory trade, side by side. The vanilla UNet step and the tfjs guidance at
// the measured length are timed in-process in section "guidance".
const GUIDE_SECONDS = 1;
/** FLOPs of the guidance path's pieces at a length, for every guidance row (on definitions: no weights allocated). */
const guideDefs = { vae: audioVae(cfg.audioVae), voc: vocoder(cfg.vocoder), ib: imagebind(cfg.imagebind) };
const fl = (s: number) => ({
  vae: caseFlops(vaeDecodeCase(guideDefs.vae, s)),
  vocoder: caseFlops(vocoderCase(guideDefs.voc, s)),
  fbank: caseFlops(fbankCase(Math.max(1, Math.round(s)))),
  imagebind: caseFlops(ibAudioCase(guideDefs.ib, Math.max(1, Math.round(s)))),
});
await section("guidance-ort", quick ? 30_000 : 180_000, async () => {
  type Variant = {
    label: string;
    graph: { recompute: boolean; arena: boolean };
    /** The child's environment, where it is not this process's. */
    env?: NodeJS.ProcessEnv;
  };
  const variants: Variant[] = [
    { label: "ort-node (keep all, arena)", graph: { recompute: false, arena: true } },
    { label: "ort-node (recompute, no arena; default)", graph: { recompute: true, arena: false } },
  ];
  // the default graph under glibc's own malloc, next to it at 10 s: what tools/run.mjs' MALLOC_MMAP_THRESHOLD_
  // buys (peak and kept RSS, time)
  const { MALLOC_MMAP_THRESHOLD_: _, ...untunedEnv } = process.env;
  const untuned: Variant = {
    label: "ort-node (recompute, no arena; glibc malloc untuned)",
    graph: { recompute: true, arena: false },
    env: { ...untunedEnv, STUDIO_MALLOC: "default" },
  };
  // The weights the guidance session holds (fp32, ORT_GUIDANCE.weightCopies copies, as the planner models them):
  // the part of a variant's peak that does not grow with the audio length.
  const heldWeights = guidanceParamCount(cfg) * 4 * ORT_GUIDANCE.weightCopies;
  // at 10 s only the studio's default graph: the keep-all one needs ~18 GiB there (a fresh child was OOM-killed at
  // +15.1 GiB on this 23.5-GiB box, after 3 minutes); --keep-all-10s tries it anyway
  const at10 = [...(flag("--keep-all-10s") ? variants : variants.filter((v) => v.graph.recompute))];
  // ~2 min more: opt-in (--malloc-compare), so that the whole run stays under 20 min; measured side by side in
  // bench/results/2026-11-26-vm.md (docs/memory.md)
  if (flag("--malloc-compare") && process.env.MALLOC_MMAP_THRESHOLD_) at10.push(untuned);
  if (!quick && at10.length < variants.length)
    results.notes.push(
      `guidance ${SECONDS} s on ${variants[0].label} not run: it needs ~18 GiB (OOM-killed at +15.1 GiB on a 23.5-GiB box); the variants are compared at ${GUIDE_SECONDS} s (--keep-all-10s to try)`,
    );
  for (const secs of quick ? [GUIDE_SECONDS] : [GUIDE_SECONDS, SECONDS])
    for (const v of secs === GUIDE_SECONDS ? variants : at10) {
      // a longer run is projected from the same variant at the measured length (activations grow linearly with
      // the audio): one that cannot fit in free memory is not started (the keep-all graph at 10 s needs ~18 GiB
      // and was OOM-killed after 3 minutes on this box)
      const short = results.guidance.find((g) => g.executor === v.label && g.seconds === GUIDE_SECONDS);
      if (secs !== GUIDE_SECONDS && short) {
        const grown = (short.peakRssMiB - short.rssBeforeMiB) * MiB;
        const projected = heldWeights + Math.max(0, grown - heldWeights) * (secs / GUIDE_SECONDS);
        const free = freemem();
        log(
          `guidance ${secs} s on ${v.label}: projected peak +${(projected / GiB).toFixed(1)} GiB (weights ${(heldWeights / GiB).toFixed(1)} GiB + activations × ${secs / GUIDE_SECONDS}); ${(free / GiB).toFixed(1)} GiB free`,
        );
        if (projected > free - GiB) {
          results.notes.push(
            `guidance ${secs} s on ${v.label} not run: projected peak +${(projected / GiB).toFixed(1)} GiB (held weights ${(heldWeights / GiB).toFixed(1)} GiB + the ${GUIDE_SECONDS} s run's activations × ${secs / GUIDE_SECONDS}) exceeds the ${(free / GiB).toFixed(1)} GiB free`,
          );
          continue;
        }
      }
      // each in a fresh process (bench/guidance-child.ts): this one keeps freed pages that would hide its peak
      const child = spawnSync(
        process.execPath,
        [
          "tools/run.mjs",
          "bench/guidance-child.ts",
          "--seconds",
          String(secs),
          "--recompute",
          v.graph.recompute ? "1" : "0",
          "--arena",
          v.graph.arena ? "1" : "0",
          "--repeats",
          String(reps(secs === SECONDS ? 1 : 3)),
          "--threads",
          String(THREADS),
          ...(quick ? ["--quick"] : []),
        ],
        { encoding: "utf8", maxBuffer: 64 * 2 ** 20, ...(v.env ? { env: v.env } : {}) },
      );
      const last = child.stdout.trim().split("\n").pop() ?? "";
      if (child.status !== 0 || !last.startsWith("{")) {
        const why = child.signal
          ? `killed by ${child.signal} (SIGKILL here is the kernel's out-of-memory killer)`
          : `exit ${child.status}: ${child.stderr.slice(-300)}`;
        log(`guidance ${secs} s on ${v.label}: child failed, ${why}`);
        results.notes.push(`guidance ${secs} s on ${v.label} did not finish: ${why}`);
        continue;
      }
      const o = JSON.parse(last) as {
        buildMs: number;
        runs: GuidanceResult["runs"];
        rssBefore: number;
        peak: number;
      };
      const med = [...o.runs].sort((a, b) => a.run.wallMs - b.run.wallMs)[o.runs.length >> 1];
      log(
        `guidance ${secs} s on ${v.label}: ${(med.run.wallMs / 1000).toFixed(2)} s (cpu ${(med.run.cpuMs / 1000).toFixed(1)}); session build ${(o.buildMs / 1000).toFixed(1)} s; peak RSS +${((o.peak - o.rssBefore) / GiB).toFixed(2)} GiB; loss ${med.loss.toFixed(6)}`,
      );
      results.guidance.push({
        seconds: secs,
        executor: v.label,
        runs: o.runs,
        // the vanilla step at the measured length is timed in-process later (section "guidance")
        unetMedianMs: 0,
        unetCpuMedianMs: 0,
        flopsAt: fl(secs),
        flopsReal: fl(SECONDS),
        realSeconds: SECONDS,
        rssBeforeMiB: o.rssBefore / MiB,
        peakRssMiB: o.peak / MiB,
        unetSessionMiB: 0,
        tfjsPeakMiB: 0,
        buildMs: o.buildMs,
      });
    }
  // where the default ORT graph's time goes (per-op profile of one run at the measured length, fresh process)
  const prof = spawnSync(
    process.execPath,
    [
      "tools/run.mjs",
      "bench/profile.ts",
      "guidance",
      "fp32",
      "--seconds",
      String(GUIDE_SECONDS),
      "--threads",
      String(THREADS),
      "--json",
      ...(quick ? ["--quick"] : []),
    ],
    { encoding: "utf8", maxBuffer: 64 * 2 ** 20 },
  );
  const profLine = prof.stdout.trim().split("\n").pop() ?? "";
  const row = results.guidance.find((x) => x.seconds === GUIDE_SECONDS && x.executor.includes("default"));
  if (prof.status === 0 && profLine.startsWith("{") && row) {
    row.profile = JSON.parse(profLine) as GuidanceResult["profile"];
    log(
      `guidance ${GUIDE_SECONDS} s profile: ${row.profile?.byOp
        .slice(0, 4)
        .map((o) => `${o.op} ${((100 * o.ms) / (row.profile?.totalMs ?? 1)).toFixed(0)}%`)
        .join(", ")}`,
    );
  } else results.notes.push(`guidance profile did not run: exit ${prof.status} ${prof.stderr.slice(-200)}`);
});

/** (Re)fill a module whose host weights were released (deterministic: the same values every time). */
const ensureFilled = (m: object, fill: () => void) => {
  const first = namedParams(m)[0]?.[1];
  if (first && first.data === null) fill();
};

// AnimateDiff UNet (SD 1.5 + motion adapter v1-5-2): 8 / 16 frames at a reduced resolution (--video-px).
// It runs first, while this process holds no other model: it needs ~19 GiB, and after the audio sections the
// process keeps ~8 GiB of pages that glibc and ORT do not return (the 2026-11-26 run had to skip it).
await section("video", quick ? 30_000 : 150_000, async () => {
  const mu = motionUnet(cfg.sdUnet, cfg.motionAdapter);
  const px = Number(opt("--video-px") ?? 64);
  // host fp32 (until emitted) + fp16 graph + the ORT-node session, which holds ~2× the fp32 weights when they
  // come as fp16 (measured on the audio UNet): ~14 bytes per parameter, plus activations
  const nParams = namedParams(mu).reduce((a, [, p]) => a + p.size, 0);
  const needBytes = nParams * 14 + 2 * GiB;
  if (!quick && freemem() < needBytes)
    skipSection(
      "video",
      `memory: the AnimateDiff UNet has ${(nParams / 1e9).toFixed(2)} G parameters and needs ~${(needBytes / GiB).toFixed(0)} GiB (host weights + fp16 graph + ORT session); ${(freemem() / GiB).toFixed(1)} GiB free on this shared box`,
    );
  else
    for (const f of quick ? [8] : [8, 16]) {
      ensureFilled(mu, () => fillRandom(mu));
      await onOrt("video", motionUnetCase(mu, f, px), "fp16", "ort-node", heavy(0), { release: true });
    }
  if (px !== 512 && !quick) {
    const real = motionUnetCase(mu, 16, 512);
    const flops = caseFlops(real);
    const row = results.components.find((c) => c.component === "unet-motion" && c.shape.includes(",16,"));
    // the largest attention map of the real step: spatial self-attention over 64² tokens, B·F = 32 maps × 8 heads
    const scoresGiB = (2 * 16 * 8 * 4096 * 4096 * 4) / GiB;
    results.notes.push(
      `AnimateDiff UNet ${row ? `timed at ${px}² (latent ${px / 8}²)` : "not timed"}, not at 512²: the real ${real.shape} CFG step is ${(flops / 1e12).toFixed(1)} TFLOP` +
        (row?.cpuGflops
          ? ` — at the measured ${row.cpuGflops.toFixed(1)} GFLOP/CPU-s ≈ ${(flops / 1e9 / row.cpuGflops / 60).toFixed(0)} CPU-min (≈ ${(flops / 1e9 / row.cpuGflops / THREADS / 60).toFixed(1)} min per step on ${THREADS} quiet threads)`
          : "") +
        `, and its first-level spatial attention scores alone are ${scoresGiB.toFixed(0)} GiB fp32 with the emitter's MatMul-Softmax-MatMul attention (this box has ${results.meta.memoryGiB} GiB): not run here (--video-px 512 to try)`,
    );
  }
  releaseWeights(mu);
});

// AudioLDM UNet: fp16 / fp32 / q4 at 10 s, the 2.5 / 5 s scaling, the reference export's shape, ORT-web, tfjs.
const unet = audioUnet(cfg.audioUnet);
const fillUnet = () => ensureFilled(unet, () => fillRandom(unet));

await section("unet", quick ? 10_000 : 150_000, async () => {
  fillUnet();
  const c10 = audioUnetCase(unet, SECONDS);
  await onOrt("unet", c10, "fp16", "ort-node", reps(2), { profile: true });
  await onOrt("unet", c10, "fp32", "ort-node", reps(2));
  await onOrt("unet", c10, "q4", "ort-node", reps(1));
});

await section("reference", quick ? 5_000 : 25_000, async () => {
  fillUnet();
  // torch.onnx.export with diffusers' default dummy input: batch 1, sample_size 128 → [1, 8, 128, 16]
  const c = audioUnetCase(unet, 0, 1, quick ? 16 : 128);
  await onOrt("reference", c, "fp16", "ort-node", reps(2), {
    label: "the shape torch.onnx.export's default dummy input gives (batch 1, sample_size 128)",
  });
  await onOrt("reference", c, "fp16", "ort-web-wasm", reps(1), {
    label: "issue reference: the PyTorch-exported graph ≈ 9.9 s on ORT-web wasm in Node",
  });
});

await section("scaling", quick ? 8_000 : 60_000, async () => {
  fillUnet();
  for (const s of quick ? [1] : [2.5, 5])
    await onOrt("scaling", audioUnetCase(unet, s), "fp16", "ort-node", reps(1));
});

// The same forward on the three CPU executors, at 1 s (the ratio does not need the 10 s step, which costs ~4 min
// on ORT-web on a loaded 2-core box; --web-10s adds it).
await section("runtimes", quick ? 15_000 : 90_000, async () => {
  fillUnet();
  const small = audioUnetCase(unet, 1);
  await onOrt("runtimes", small, "fp16", "ort-node", reps(2));
  await onOrt("runtimes", small, "fp16", "ort-web-wasm", reps(1));
  await onTfjs("runtimes", small, reps(1));
  if (quick || flag("--web-10s"))
    await onOrt("runtimes", audioUnetCase(unet, SECONDS), "fp16", "ort-web-wasm", heavy(0));
});
releaseWeights(unet);

// The decode path on ORT (final decode): VAE decoder and vocoder at 10 s, and the ImageBind audio front end.
const vae = audioVae(cfg.audioVae);
const voc = vocoder(cfg.vocoder);
fillRandom(vae);
fillRandom(voc);

await section("decode", quick ? 10_000 : 150_000, async () => {
  const cv = vaeDecodeCase(vae, SECONDS);
  await onOrt("decode", cv, "fp32", "ort-node", reps(1));
  await onOrt("decode", cv, "fp16", "ort-node", reps(1));
  // the vocoder is 1 TFLOP at 10 s: once at 10 s (profiled); formats compared at 2.5 s
  await onOrt("decode", vocoderCase(voc, SECONDS), "fp32", "ort-node", heavy(0), { profile: true });
  if (!quick) {
    const cw = vocoderCase(voc, 2.5);
    await onOrt("decode", cw, "fp32", "ort-node", reps(1));
    await onOrt("decode", cw, "fp16", "ort-node", reps(1));
  }
});

await section("fbank", 20_000, async () => {
  const c = fbankCase(SECONDS);
  await onOrt("fbank", c, "fp32", "ort-node", reps(3));
  await onTfjs("fbank", c, reps(3));
  await onTfjs("fbank", c, reps(2), { grad: true });
});

// ImageBind: audio (10 clips), text, vision (10 clips × 2 frames).
const ib = imagebind(cfg.imagebind);
fillImageBind(ib, ["audio"]);

await section("imagebind", quick ? 20_000 : 150_000, async () => {
  // audio: the studio's 10 clips in fp16; formats compared at 2 clips
  await onOrt("imagebind", ibAudioCase(ib, quick ? 2 : SECONDS), "fp16", "ort-node", reps(1));
  if (!quick) {
    const ca = ibAudioCase(ib, 2);
    for (const w of ["fp32", "fp16", "q4"] as const) await onOrt("imagebind", ca, w, "ort-node", reps(1));
  }
  fillImageBind(ib, ["text"]);
  const ct = ibTextCase(ib);
  for (const w of ["fp32", "fp16", "q4"] as const) await onOrt("imagebind", ct, w, "ort-node", reps(2));
  fillImageBind(ib, ["vision"]);
  // vision huge is 335 GFLOP per clip (3.4 TFLOP for the studio's 10): timed on 1 clip, clips are a batch
  const cvis = ibVisionCase(ib, quick ? 2 : 1);
  await onOrt("imagebind", cvis, "fp16", "ort-node", reps(1));
  if (!quick) {
    const f10 = caseFlops(ibVisionCase(ib, SECONDS));
    const row = results.components.find((c) => c.component === "ib-vision" && c.shape === cvis.shape);
    if (row?.cpuGflops)
      results.notes.push(
        `ImageBind vision at the studio's ${SECONDS} clips is ${(f10 / 1e12).toFixed(2)} TFLOP, timed on 1 clip: at the measured ${row.cpuGflops.toFixed(1)} GFLOP/CPU-s that is ≈ ${(f10 / 1e9 / row.cpuGflops).toFixed(0)} CPU-s (≈ ${(f10 / 1e9 / row.cpuGflops / THREADS).toFixed(0)} s on ${THREADS} quiet threads), once per job`,
      );
  }
  // only the audio tower stays (the guidance path)
  for (const [k, p] of namedParams(ib)) if (!k.includes(".audio.")) p.data = null;
});

// The guidance step (tfjs-wasm) at full size, with the UNet step next to it: the guided / vanilla ratio and the
// denoise phase's memory.
await section("guidance", quick ? 30_000 : 240_000, async () => {
  fillUnet();
  const ops = new TfjsOps();
  const parts = { ops, vae, vocoder: voc, imagebind: ib };
  for (const m of [vae, voc, ib]) for (const [, p] of namedParams(m)) if (p.data) ops.param(p);
  // the UNet session the denoise phase holds next to the tfjs guidance path
  const cu = audioUnetCase(unet, GUIDE_SECONDS);
  const em = emitCase(cu, "fp16");
  gc();
  const rss0 = procMem().rss;
  resetPeak();
  const { result: u, session } = await runOrt(ort, em, cu, {
    executor: "ort-node",
    weights: "fp16",
    threads: THREADS,
    repeats: reps(3),
    keep: true,
  });
  releaseWeights(unet);
  record("guidance", cu, em.flops, "ort-node", "fp16", THREADS, {
    ...u.stats,
    repeats: reps(3),
    sessionBytes: u.sessionBytes,
    peakBytes: u.peakBytes,
    note: "vanilla step at the guidance length",
  });
  const runs: GuidanceResult["runs"] = [];
  let tfjsPeak = 0;
  for (let i = 0; i < reps(1); i++) {
    const r = await guidanceStep(parts, GUIDE_SECONDS);
    tfjsPeak = Math.max(tfjsPeak, r.tfjsBytes);
    runs.push(r);
    log(
      `guidance ${GUIDE_SECONDS} s: ${(r.run.wallMs / 1000).toFixed(1)} s (cpu ${(r.run.cpuMs / 1000).toFixed(1)}) — forward vae ${(r.forward.vae / 1000).toFixed(1)}, vocoder ${(r.forward.vocoder / 1000).toFixed(1)}, fbank ${(r.forward.fbank / 1000).toFixed(1)}, imagebind ${(r.forward.imagebind / 1000).toFixed(1)}; backward+update ${(r.backwardMs / 1000).toFixed(1)} s`,
    );
  }
  const peak = procMem().peak;
  await session?.release();
  results.guidance.push({
    seconds: GUIDE_SECONDS,
    executor: `tfjs-${tfBackend}`,
    runs,
    unetMedianMs: u.stats.medianMs,
    unetCpuMedianMs: u.stats.cpuMedianMs ?? 0,
    flopsAt: fl(GUIDE_SECONDS),
    flopsReal: fl(SECONDS),
    realSeconds: SECONDS,
    rssBeforeMiB: rss0 / MiB,
    peakRssMiB: peak / MiB,
    unetSessionMiB: u.sessionBytes / MiB,
    tfjsPeakMiB: tfjsPeak / MiB,
  });
  ops.dispose();
  // the ORT children ran first (section "guidance-ort"): their rows at this length get this vanilla step
  for (const g of results.guidance)
    if (g.seconds === GUIDE_SECONDS && g.unetMedianMs === 0 && !g.executor.startsWith("tfjs")) {
      g.unetMedianMs = u.stats.medianMs;
      g.unetCpuMedianMs = u.stats.cpuMedianMs ?? 0;
      const med = [...g.runs].sort((a, b) => a.run.wallMs - b.run.wallMs)[g.runs.length >> 1];
      log(
        `guidance ${GUIDE_SECONDS} s loss: ${g.executor} ${med.loss.toFixed(6)}, tfjs ${runs[0].loss.toFixed(6)}`,
      );
    }
});

// Memory: the planner's estimate of the same phases, for the real checkpoints.
await section("memory", 0, async () => {
  const pack = await folderPack("public/models/default");
  const planner = new MemoryPlanner(quick ? pack.manifest : fullSizeManifest(pack.manifest));
  const est = (seconds: number) =>
    planner.estimate({ task: "v2a", seconds, onnxWeights: "fp16", clips: Math.max(1, Math.round(seconds)) });
  // the denoise phase measured in-process: the UNet session + the tfjs guidance (section "guidance")
  const g = results.guidance.find((x) => x.executor.startsWith("tfjs"));
  const at = est(g?.seconds ?? 1);
  const real = est(SECONDS);
  results.memory = {
    planner: [at, real].map((e) => ({
      seconds: e.options.seconds,
      peakMiB: e.peakBytes / MiB,
      peakPhase: e.peakPhase,
      phases: e.phases.map((p) => ({
        name: p.name,
        weightsMiB: p.weightsBytes / MiB,
        activationMiB: p.activationBytes / MiB,
        totalMiB: p.totalBytes / MiB,
        source: p.activationSource,
        resident: p.resident.map((r) => ({
          component: r.component,
          executor: r.executor,
          format: r.format,
          MiB: r.weightsBytes / MiB,
        })),
      })),
    })),
    measured: {
      denoisePeakRssMiB: g ? g.peakRssMiB - g.rssBeforeMiB : null,
      denoiseTfjsPeakMiB: g?.tfjsPeakMiB ?? null,
      unetSessionMiB: g?.unetSessionMiB ?? null,
      seconds: g?.seconds ?? null,
    },
    wasmHeapLimitMiB: 4096,
  };
  // the ORT guidance graph's share of the denoise phase (guided − unguided) vs its measured child-process peak
  const denoise = (e: ReturnType<typeof est>) => e.phases.find((p) => p.name === "denoise")?.totalBytes ?? 0;
  const ortShare = (seconds: number) => {
    const base = {
      task: "v2a" as const,
      seconds,
      onnxWeights: "fp32" as const,
      clips: Math.max(1, Math.round(seconds)),
    };
    return (
      denoise(planner.estimate({ ...base, guidance: true, guidanceExecutor: "onnx" })) -
      denoise(planner.estimate({ ...base, guidance: false }))
    );
  };
  const ortDefault = results.guidance.filter((x) => x.executor.includes("default"));
  results.memory.ortGuidance = [...new Set([g?.seconds ?? 1, SECONDS])].map((seconds) => {
    const m = ortDefault.find((x) => x.seconds === seconds);
    return {
      seconds,
      plannerMiB: ortShare(seconds) / MiB,
      measuredMiB: m ? m.peakRssMiB - m.rssBeforeMiB : null,
    };
  });
  const ortReal = planner.estimate({
    task: "v2a",
    seconds: SECONDS,
    onnxWeights: "fp16",
    clips: SECONDS,
    guidanceExecutor: "onnx",
  });
  results.memory.ortPeak = {
    seconds: SECONDS,
    peakMiB: ortReal.peakBytes / MiB,
    peakPhase: ortReal.peakPhase,
  };
  log(
    `planner v2a: ${at.options.seconds} s peak ${(at.peakBytes / GiB).toFixed(2)} GiB (${at.peakPhase}); ${SECONDS} s peak ${(real.peakBytes / GiB).toFixed(2)} GiB`,
  );
});

await section("browser", quick ? 60_000 : 240_000, async () => {
  results.browser = await runBrowserBench({
    quick,
    log,
    // SwiftShader needs ~240 s for the components and the ORT guidance rows, and ~2 min more for tfjs-webgpu's
    budgetMs: Math.min(left() - 60_000, quick ? 150_000 : 400_000),
  });
});

await section("peer", 0, async () => {
  results.peer = await runTorchPeer({
    python: torchPython,
    threads: THREADS,
    quick,
    log,
    models: () => {
      fillUnet();
      ensureFilled(vae, () => fillRandom(vae));
      ensureFilled(voc, () => fillRandom(voc));
      return { unet, vae, vocoder: voc };
    },
    seconds: SECONDS,
  });
});
if (!want("peer") && !results.peer) results.peer = { skipped: "peer section deselected" };

// --- write -------------------------------------------------------------------------------------------------------

const md = save();
writeFileSync(`${stem}.md`, md);
console.log(`\n${md}`);
log(`wrote ${stem}.json and ${stem}.md in ${(results.meta.durationS / 60).toFixed(1)} min`);
process.exit(0);
