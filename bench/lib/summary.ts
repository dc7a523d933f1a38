/** The markdown summary of a bench run (printed and written next to the JSON). */
import type { BenchResults, ComponentResult, GuidanceResult } from "./results.js";

/** The issue's reference points (2-vCPU x86, PyTorch 1.13 fp32, 2 threads). */
export const REFERENCE = Object.freeze({
  torchUnetStockS: 9.0,
  torchUnetTunedMallocS: 5.0,
  torchGuidedAsCodedS: 74,
  torchGuidedCachedS: 28,
  onnxUnetOrtNodeS: 1.7,
  onnxUnetOrtWebS: 9.9,
});

const s = (ms: number | null | undefined, d = 2) => (ms == null ? "–" : (ms / 1000).toFixed(d));
const f1 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? "–" : x.toFixed(1));
const f2 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? "–" : x.toFixed(2));
const gib = (mib: number | null | undefined) => (mib == null ? "–" : (mib / 1024).toFixed(2));

function find(
  r: BenchResults,
  p: Partial<Pick<ComponentResult, "section" | "component" | "executor" | "weights" | "shape">>,
): ComponentResult | undefined {
  return r.components.find((c) =>
    Object.entries(p).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v),
  );
}

/** The guidance step projected from the measured length to the real one, piece by piece by FLOPs. */
export function projectGuidance(g: GuidanceResult): { stepMs: number; cpuMs: number } {
  const med = [...g.runs].sort((a, b) => a.run.wallMs - b.run.wallMs)[g.runs.length >> 1];
  const pieces = ["vae", "vocoder", "fbank", "imagebind"] as const;
  const fwd = pieces.reduce((a, k) => a + med.forward[k], 0);
  let projected = 0;
  if (fwd === 0) {
    // one fused graph (ORT): scale the whole step by the total forward FLOPs
    const at = pieces.reduce((a, k) => a + g.flopsAt[k], 0);
    const real = pieces.reduce((a, k) => a + g.flopsReal[k], 0);
    projected = med.run.wallMs * (at > 0 ? real / at : g.realSeconds / g.seconds);
  } else
    for (const k of pieces) {
      const scale = g.flopsAt[k] > 0 ? g.flopsReal[k] / g.flopsAt[k] : g.realSeconds / g.seconds;
      // each piece's backward is taken proportional to its forward share
      const share = fwd > 0 ? med.forward[k] / fwd : 0.25;
      projected += (med.forward[k] + share * med.backwardMs) * scale;
    }
  const cpuScale = med.run.wallMs > 0 ? med.run.cpuMs / med.run.wallMs : 1;
  return { stepMs: projected, cpuMs: projected * cpuScale };
}

/** Seconds of audio of a UNet shape "[B,8,frames,16]" (25 latent frames per second). */
const latentSeconds = (shape: string) => Number(/^\[\d+,\d+,(\d+),/.exec(shape)?.[1] ?? 0) / 25;

type Calibration = NonNullable<BenchResults["meta"]["calibration"]>;

/** The GEMM's GFLOP per CPU-second at a thread count (1 → the 1-thread figure), falling back to the wall rate. */
function gemmCpuRate(cal: Calibration | null, threads: number): number | null {
  if (!cal) return null;
  // per CPU-second the 1-thread figure is the clean one (no thread hand-off or spinning in it)
  const cpu = threads > 1 && !cal.gemm1Cpu ? cal.gemmNCpu : cal.gemm1Cpu;
  return cpu && Number.isFinite(cpu) ? cpu : cal.gemm1;
}

/**
 * Whether each reference time is reachable here: the GFLOP/s it implies for the FLOPs of the same step vs this
 * box's measured GEMM rate (per CPU-second × threads: what the threads reach on a quiet machine) and the
 * theoretical peak; and our step's CPU-seconds turned into a quiet-machine estimate (CPU-s / threads).
 */
function feasibility(r: BenchResults): string[] {
  const m = r.meta;
  const cal = m.calibration;
  const rate = gemmCpuRate(cal, m.threads);
  if (!cal || !rate || m.quick) return []; // quick runs use small models: nothing to compare
  const quietGemm = rate * m.threads;
  const nominal = cal.peak ? cal.peak.perCoreGflops * Math.min(m.threads, m.cores) : null;
  // the nominal clock understates a boosting CPU: the best rate any graph reached here bounds the peak from below
  const best = r.components
    .filter((c) => c.executor === "ort-node" && c.cpuGflops)
    .sort((a, b) => (b.cpuGflops ?? 0) - (a.cpuGflops ?? 0))[0];
  const observed = best?.cpuGflops ? best.cpuGflops * m.threads : null;
  const peak = nominal !== null || observed !== null ? Math.max(nominal ?? 0, observed ?? 0) : null;
  const cases: { label: string; c?: ComponentResult; refS: number }[] = [
    {
      label: "PyTorch-exported UNet on ORT-node",
      c: find(r, { section: "unet", executor: "ort-node", weights: "fp16" }),
      refS: REFERENCE.onnxUnetOrtNodeS,
    },
    {
      label: "PyTorch-exported UNet on ORT-node, at torch.onnx.export's dummy shape",
      c: find(r, { section: "reference" }),
      refS: REFERENCE.onnxUnetOrtNodeS,
    },
    {
      label: "PyTorch 1.13 UNet, stock",
      c: find(r, { section: "unet", executor: "ort-node", weights: "fp32" }),
      refS: REFERENCE.torchUnetStockS,
    },
    {
      label: "PyTorch 1.13 UNet, tuned malloc",
      c: find(r, { section: "unet", executor: "ort-node", weights: "fp32" }),
      refS: REFERENCE.torchUnetTunedMallocS,
    },
  ];
  const out = [
    "",
    "## Are the reference points reachable on this box?",
    "",
    `A reference time t for a step of F GFLOP needs F / t GFLOP/s. This box reaches ${f1(quietGemm)} GFLOP/s on one large GEMM with ${m.threads} threads (${f1(rate)} per CPU-second × ${m.threads}, i.e. on a quiet machine)` +
      (nominal
        ? `; in theory ${f1(nominal)} GFLOP/s at the nominal clock (${m.threads} × ${f1(cal.peak?.perCoreGflops)})`
        : "") +
      (best && observed
        ? `; the best any graph reached here is ${f1(best.cpuGflops)} GFLOP/CPU-s (${best.component} ${best.shape} ${best.weights}), i.e. ${f1(observed)} GFLOP/s on ${m.threads} quiet threads`
        : "") +
      `. "Peak" below is the larger of the last two.` +
      ` Our time on a quiet machine is estimated as CPU-s / ${m.threads}.`,
    "",
    "| reference | step | GFLOP | reference s | needs GFLOP/s | × GEMM rate | × peak | ours: CPU s | ours: quiet-machine s (est.) | ours / reference (est.) | ours % of GEMM |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const x of cases) {
    if (!x.c || x.c.cpuMedianMs == null) continue;
    const need = x.c.gflop / x.refS;
    const quiet = x.c.cpuMedianMs / 1000 / m.threads;
    const pct = x.c.cpuGflops ? `${Math.round((100 * x.c.cpuGflops) / rate)}%` : "–";
    out.push(
      `| ${x.label} | ${x.c.component} ${x.c.shape} ${x.c.weights} | ${f1(x.c.gflop)} | ${x.refS} | ${f1(need)} | ${f2(need / quietGemm)} | ${peak ? f2(need / peak) : "–"} | ${f2(x.c.cpuMedianMs / 1000)} | ${f2(quiet)} | ${f2(quiet / x.refS)} | ${pct} |`,
    );
  }
  const u = cases[0].c;
  if (u) {
    const need = u.gflop / REFERENCE.onnxUnetOrtNodeS;
    const verdict =
      peak && need > peak
        ? `not physically possible here: ${f1(u.gflop)} GFLOP in ${REFERENCE.onnxUnetOrtNodeS} s needs ${f1(need)} GFLOP/s, ${f1(need / peak)}× the peak above and ${f1(need / quietGemm)}× the measured GEMM rate; even at that peak the step takes ${f1(u.gflop / peak)} s`
        : need > quietGemm
          ? `above what this box's GEMM reaches (${f1(need / quietGemm)}× the measured rate): at the GEMM rate the step needs ${f1(u.gflop / quietGemm)} s`
          : "within this box's GEMM rate";
    const d = cases[1].c;
    const dNeed = d ? d.gflop / REFERENCE.onnxUnetOrtNodeS : null;
    out.push(
      "",
      `The issue's ${REFERENCE.onnxUnetOrtNodeS} s for the UNet CFG step ${u.shape} (${latentSeconds(u.shape)} s of audio) is ${verdict}.` +
        (need > quietGemm && d && dNeed !== null && dNeed <= quietGemm
          ? ` At torch.onnx.export's default dummy shape ${d.shape} (${f1(d.gflop)} GFLOP) it needs ${f1(dNeed)} GFLOP/s, which this box can reach: a time like 1.7 s fits a graph exported at that shape, not the 10 s step.`
          : ""),
    );
  }
  return out;
}

/**
 * The guidance's floor on this box: its FLOPs at the theoretical fp32 peak of the threads used, the measured time
 * against it, and the rate PyTorch's guidance share of the reference guided step (cached − stock UNet step) would
 * need for the same work — above this box's peak means the reference box is faster per core (or did less work).
 */
export function guidanceBound(
  flops: number,
  measuredMs: number,
  threads: number,
  perCoreGflops: number | undefined,
): string {
  if (!perCoreGflops || !(flops > 0)) return "";
  const peak = threads * perCoreGflops;
  const floorS = flops / 1e9 / peak;
  const torchS = REFERENCE.torchGuidedCachedS - REFERENCE.torchUnetStockS;
  const torchRate = flops / 1e9 / torchS;
  return (
    `; at this box's theoretical peak (${threads} × ${f1(perCoreGflops)} GFLOP/s) that work takes ≥ ${f1(floorS)} s, so the measured step is ${f1(measuredMs / 1000 / floorS)}× its floor;` +
    ` PyTorch's guidance share (${REFERENCE.torchGuidedCachedS} − ${REFERENCE.torchUnetStockS} = ${torchS} s) would need ${f1(torchRate)} GFLOP/s for the same work, ${f2(torchRate / peak)}× this box's peak` +
    (torchRate > peak ? " — the reference box is faster per core, or its step did less work" : "")
  );
}

export function writeSummary(r: BenchResults): string {
  const m = r.meta;
  const L: string[] = [];
  const cal = m.calibration;
  L.push(
    `# Benchmark ${m.date.slice(0, 16)} — ${m.host}${m.quick ? " (QUICK: default-pack sizes, short shapes)" : ""}`,
  );
  L.push("");
  L.push(
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; onnxruntime-node ${m.versions["onnxruntime-node"]}, tfjs ${m.versions.tfjs} (${m.versions["tfjs-backend"] ?? "?"}); ${m.threads} ORT threads. ` +
      `Run took ${(m.durationS / 60).toFixed(1)} min; load average ${m.loadStart.join("/")} → ${m.loadEnd.join("/")}; machine busy ${m.machineBusy == null ? "?" : `${Math.round(m.machineBusy * 100)}%`} of all CPU time.`,
  );
  if (cal)
    L.push(
      `Calibration (same process): one fp32 GEMM ${cal.shape} runs at ${f1(cal.gemm1)} GFLOP/s on 1 thread, ${f1(cal.gemmN)} on ${m.threads} (wall, fastest run)` +
        (cal.gemm1Cpu ? `; ${f1(cal.gemm1Cpu)} / ${f1(cal.gemmNCpu)} GFLOP per CPU-second` : "") +
        (cal.peak
          ? `. Theoretical fp32 peak: ${f1(cal.peak.perCoreGflops)} GFLOP/s per core (${cal.peak.isa}: ${cal.peak.flopPerCycle} FLOP/cycle at ${cal.peak.mhz.toFixed(0)} MHz), ${f1(cal.peak.perCoreGflops * m.cores)} for ${m.cores} cores.`
          : "."),
    );
  const loaded = (m.loadStart[0] ?? 0) > m.cores * 0.75 || (m.machineBusy ?? 0) > 0.8;
  if (loaded)
    L.push(
      "",
      `> **Shared/loaded machine**: wall times below are inflated by other processes (load ${m.loadStart[0]} on ${m.cores} cores). ` +
        "Compare the CPU-seconds column and the ratios measured side by side; rerun `npm run bench` on a quiet machine for absolute times.",
    );

  // --- headline --------------------------------------------------------------------------------------------------
  L.push("", "## Headline");
  const u16 = find(r, { section: "unet", executor: "ort-node", weights: "fp16" });
  const ref = find(r, { section: "reference" });
  const webs = r.components.filter(
    (c) =>
      c.component === "unet" &&
      c.executor === "ort-web-wasm" &&
      (c.shape === u16?.shape || c.shape === ref?.shape),
  );
  const rows: string[][] = [];
  // by length, the in-process tfjs row first at each (the ORT rows are measured first, in child processes)
  const byLength = [...r.guidance].sort(
    (a, b) =>
      a.seconds - b.seconds ||
      Number(!a.executor.startsWith("tfjs")) - Number(!b.executor.startsWith("tfjs")),
  );
  for (const g of byLength) {
    const med = [...g.runs].sort((a, b) => a.run.wallMs - b.run.wallMs)[g.runs.length >> 1];
    if (g.unetMedianMs > 0) {
      const ratioAt = (g.unetMedianMs + med.run.wallMs) / g.unetMedianMs;
      const ratioAtCpu = (g.unetCpuMedianMs + med.run.cpuMs) / g.unetCpuMedianMs;
      rows.push([
        `guided / vanilla step at ${g.seconds} s, guidance on ${g.executor} (official semantics: fresh Adam lr 0.1, K = 1, conditions cached)`,
        `${f1(ratioAt)}× wall, ${f1(ratioAtCpu)}× CPU`,
        "≤ 2.0",
        `UNet step ${s(g.unetMedianMs)} s + guidance ${s(med.run.wallMs)} s`,
      ]);
    }
    if (!u16) continue;
    const measured = g.seconds === g.realSeconds;
    const p = measured ? { stepMs: med.run.wallMs, cpuMs: med.run.cpuMs } : projectGuidance(g);
    rows.push([
      `guided / vanilla step at ${g.realSeconds} s, guidance on ${g.executor} (${measured ? "measured" : `projected from ${g.seconds} s by FLOPs`})`,
      `${f1((u16.medianMs + p.stepMs) / u16.medianMs)}× wall, ${f1(((u16.cpuMedianMs ?? 0) + p.cpuMs) / (u16.cpuMedianMs ?? 1))}× CPU`,
      "≤ 2.0",
      `UNet ${s(u16.medianMs)} s + guidance ${measured ? "" : "≈ "}${s(p.stepMs, measured ? 1 : 0)} s; PyTorch reference ${REFERENCE.torchGuidedCachedS} s / ${REFERENCE.torchUnetStockS} s = ${f1(REFERENCE.torchGuidedCachedS / REFERENCE.torchUnetStockS)}× (cached), ${f1(REFERENCE.torchGuidedAsCodedS / REFERENCE.torchUnetStockS)}× as coded`,
    ]);
  }
  // the whole guided step at the real length against PyTorch's (conditions cached), where one was measured
  const g10 = r.guidance.find((g) => g.seconds === g.realSeconds && g.executor.includes("default"));
  if (g10 && u16) {
    const med = [...g10.runs].sort((a, b) => a.run.wallMs - b.run.wallMs)[g10.runs.length >> 1];
    const ours = (u16.medianMs + med.run.wallMs) / 1000;
    const gp = r.guidance.find((g) => g.profile && g.executor === g10.executor)?.profile;
    const top = gp?.byOp
      .slice(0, 3)
      .map((o) => `${o.op} ${Math.round((100 * o.ms) / gp.totalMs)}%`)
      .join(", ");
    const work = 2 * (g10.flopsReal.vae + g10.flopsReal.vocoder + g10.flopsReal.imagebind);
    rows.push([
      `our guided step at ${g10.realSeconds} s (UNet CFG + guidance on ORT, default graph) vs PyTorch's with cached conditions`,
      `${f2(ours / REFERENCE.torchGuidedCachedS)}× (${f1(ours)} s vs ${REFERENCE.torchGuidedCachedS} s)`,
      "≤ 1.0×",
      `the guidance is the slower part (${s(med.run.wallMs)} s, CPU ${s(med.run.cpuMs)} s, ≈ ${f1(work / 1e12)} TFLOP fwd + bwd before recompute)` +
        (top ? `; its kernel time by op (1-s profile): ${top}` : "") +
        guidanceBound(work, med.run.wallMs, m.threads, m.calibration?.peak?.perCoreGflops),
    ]);
  }
  if (ref)
    rows.push([
      `our UNet ${ref.shape} (torch.onnx.export's default dummy shape) on ORT-node vs the PyTorch-exported graph`,
      `${f2(ref.medianMs / 1000 / REFERENCE.onnxUnetOrtNodeS)}× (${s(ref.medianMs)} s; CPU ${s(ref.cpuMedianMs)} s)`,
      "≤ 1.0×",
      `reference ${REFERENCE.onnxUnetOrtNodeS} s; ${f1(ref.gflop)} GFLOP → the reference implies ${f1(ref.gflop / REFERENCE.onnxUnetOrtNodeS)} GFLOP/s`,
    ]);
  if (u16)
    rows.push([
      `our UNet CFG step ${u16.shape} (${latentSeconds(u16.shape)} s) on ORT-node fp16 vs the same reference`,
      `${f2(u16.medianMs / 1000 / REFERENCE.onnxUnetOrtNodeS)}× (${s(u16.medianMs)} s; CPU ${s(u16.cpuMedianMs)} s)`,
      "≤ 1.0×",
      `${f1(u16.gflop)} GFLOP: 1.7 s would be ${f1(u16.gflop / REFERENCE.onnxUnetOrtNodeS)} GFLOP/s; this box's GEMM reaches ${f1((gemmCpuRate(cal, m.threads) ?? Number.NaN) * m.threads)} on ${m.threads} quiet threads (see "reachable?" below). PyTorch: ${REFERENCE.torchUnetStockS} s stock (${f1(u16.gflop / REFERENCE.torchUnetStockS)} GFLOP/s), ${REFERENCE.torchUnetTunedMallocS} s tuned → we are ${f2(u16.medianMs / 1000 / REFERENCE.torchUnetStockS)}× / ${f2(u16.medianMs / 1000 / REFERENCE.torchUnetTunedMallocS)}×`,
    ]);
  for (const web of webs)
    rows.push([
      `our UNet ${web.shape} on ORT-web wasm (Node, ${web.threads} threads) vs the PyTorch-exported graph there`,
      `${f2(web.medianMs / 1000 / REFERENCE.onnxUnetOrtWebS)}× (${s(web.medianMs)} s; CPU ${s(web.cpuMedianMs)} s)`,
      "≤ 1.0×",
      `reference ${REFERENCE.onnxUnetOrtWebS} s (→ ${f1(web.gflop / REFERENCE.onnxUnetOrtWebS)} GFLOP/s at this shape); ours ${f1(web.cpuGflops)} GFLOP/CPU-s`,
    ]);
  const mem = r.memory;
  if (mem) {
    const at = mem.planner[0];
    const real = mem.planner[mem.planner.length - 1];
    const den = at.phases.find((p) => p.name === "denoise");
    if (den && mem.measured.denoisePeakRssMiB != null && mem.measured.denoisePeakRssMiB <= 0)
      rows.push([
        `planner estimate / measured peak, denoise phase at ${at.seconds} s (UNet ORT session + tfjs guidance)`,
        "not measured",
        "≈ 1",
        `the process's RSS fell during the phase (${gib(mem.measured.denoisePeakRssMiB)} GiB): it reused pages freed by earlier sections, so in-process growth says nothing here; the ORT guidance rows below are measured in fresh processes`,
      ]);
    else if (den && mem.measured.denoisePeakRssMiB != null)
      rows.push([
        `planner estimate / measured peak, denoise phase at ${at.seconds} s (UNet ORT session + tfjs guidance)`,
        f2(den.totalMiB / mem.measured.denoisePeakRssMiB),
        "≈ 1",
        `planner ${gib(den.totalMiB)} GiB (weights ${gib(den.weightsMiB)}, activations ${gib(den.activationMiB)}); measured RSS growth ${gib(mem.measured.denoisePeakRssMiB)} GiB (tfjs ${gib(mem.measured.denoiseTfjsPeakMiB)} GiB, UNet session ${gib(mem.measured.unetSessionMiB)} GiB)`,
      ]);
    for (const o of mem.ortGuidance ?? [])
      if (o.measuredMiB != null)
        rows.push([
          `planner estimate / measured peak, ORT guidance graph at ${o.seconds} s (default variant, fp32 weights, fresh process)`,
          f2(o.plannerMiB / o.measuredMiB),
          "≈ 1",
          `planner ${gib(o.plannerMiB)} GiB (denoise phase guided on ORT − unguided); measured RSS growth ${gib(o.measuredMiB)} GiB`,
        ]);
    const ortMeasured = r.guidance.find((g) => g.seconds === real.seconds && g.executor.includes("default"));
    const untuned = r.guidance.find((g) => g.seconds === real.seconds && g.executor.includes("untuned"));
    if (mem.ortPeak)
      rows.push([
        `guided V2A ${mem.ortPeak.seconds} s peak memory, guidance on ORT (the default)`,
        `${gib(mem.ortPeak.peakMiB)} GiB planner` +
          (ortMeasured
            ? `; guidance session measured ${gib(ortMeasured.peakRssMiB - ortMeasured.rssBeforeMiB)} GiB (fp32 weights)`
            : "") +
          (ortMeasured && untuned
            ? `, ${gib(untuned.peakRssMiB - untuned.rssBeforeMiB)} GiB on glibc's untuned malloc (${r.meta.versions.malloc} otherwise)`
            : ""),
        "≤ 4 GB",
        `planner peak phase ${mem.ortPeak.peakPhase}, fp16 weights`,
      ]);
    rows.push([
      `guided V2A ${real.seconds} s peak memory, guidance on tfjs (planner, full-size pack)`,
      `${gib(real.peakMiB)} GiB`,
      "≤ 4 GB",
      `peak phase ${real.peakPhase}; tfjs-wasm's heap is ${mem.wasmHeapLimitMiB / 1024} GiB`,
    ]);
  }
  L.push("", "| ratio | value | target | detail |", "|---|---|---|---|");
  for (const row of rows) L.push(`| ${row.join(" | ")} |`);

  L.push(...feasibility(r));

  // --- components ----------------------------------------------------------------------------------------------
  L.push("", "## Component timings", "");
  L.push(
    "Median of the timed runs after one untimed first run (min–max in brackets). CPU = process CPU time of the median run (all threads). " +
      "GFLOP counts 2×MACs of conv/matmul/attention. eff. = GFLOP/CPU-s ÷ one large fp32 GEMM's GFLOP/CPU-s on 1 thread (same process): how efficiently the graph uses the cores it burns, independent of load; above 100% the graph's kernels (e.g. MLAS NCHWc convolutions) beat that GEMM.",
    "",
    "| section | component | shape | executor | weights | median s [min–max] | CPU s | GFLOP | GFLOP/s | GFLOP/CPU-s | eff. | session MiB | create s |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const c of r.components) {
    const ref = gemmCpuRate(cal, c.threads);
    const eff = c.cpuGflops && ref ? `${Math.round((100 * c.cpuGflops) / ref)}%` : "–";
    L.push(
      `| ${c.section} | ${c.component} | ${c.shape} | ${c.executor} | ${c.weights} | ${s(c.medianMs)} [${s(c.minMs)}–${s(c.maxMs)}] | ${s(c.cpuMedianMs)} | ${f1(c.gflop)} | ${f1(c.gflops)} | ${f1(c.cpuGflops)} | ${eff} | ${c.sessionMiB == null ? "–" : Math.round(c.sessionMiB)} | ${s(c.createMs, 1)} |`,
    );
  }

  // --- ratios ------------------------------------------------------------------------------------------------------
  L.push("", "## Ratios (same run)", "");
  const ratio = (a?: ComponentResult, b?: ComponentResult, label = "") => {
    if (!a || !b) return;
    const cpu = a.cpuMedianMs && b.cpuMedianMs ? `, CPU ${f2(a.cpuMedianMs / b.cpuMedianMs)}×` : "";
    L.push(
      `- ${label}: ${f2(a.medianMs / b.medianMs)}× wall${cpu} (${s(a.medianMs)} s vs ${s(b.medianMs)} s)`,
    );
  };
  // weight formats: every fp32 / q4 row against the fp16 row of the same component and shape
  for (const c of r.components) {
    if (c.executor !== "ort-node" || (c.weights !== "fp32" && c.weights !== "q4")) continue;
    const fp16 = find(r, { component: c.component, shape: c.shape, weights: "fp16", executor: "ort-node" });
    ratio(c, fp16, `${c.component} ${c.shape} ${c.weights} / fp16`);
  }
  // runtimes: every other executor against ORT-node on the same forward
  for (const c of r.components) {
    if (c.executor !== "ort-web-wasm" && c.executor !== "tfjs-wasm") continue;
    if (c.note?.includes("gradient")) continue;
    const same = { component: c.component, shape: c.shape, executor: "ort-node" } as const;
    const base =
      find(r, { ...same, section: c.section, weights: "fp16" }) ??
      find(r, { ...same, section: c.section, weights: "fp32" }) ??
      find(r, { ...same, weights: "fp16" });
    ratio(c, base, `${c.component} ${c.shape}: ${c.executor} / ort-node ${base?.weights ?? ""}`);
  }

  // --- scaling -----------------------------------------------------------------------------------------------------
  L.push(
    "",
    "## Scaling",
    "",
    "| component | shape | executor | median s | CPU s | GFLOP | s per 100 GFLOP (CPU) |",
    "|---|---|---|---|---|---|---|",
  );
  const scal = r.components
    .filter(
      (c) =>
        (c.component === "unet" &&
          c.executor === "ort-node" &&
          c.weights === "fp16" &&
          c.shape.startsWith("[2,")) ||
        (c.component === "vocoder" && c.executor === "ort-node" && c.weights === "fp32") ||
        c.component === "unet-motion",
    )
    .sort((a, b) => a.component.localeCompare(b.component) || a.gflop - b.gflop);
  for (const c of scal)
    L.push(
      `| ${c.component} | ${c.shape} | ${c.executor} ${c.weights} | ${s(c.medianMs)} | ${s(c.cpuMedianMs)} | ${f1(c.gflop)} | ${c.cpuMedianMs ? s((c.cpuMedianMs / c.gflop) * 100) : "–"} |`,
    );

  // --- guidance ----------------------------------------------------------------------------------------------------
  if (r.guidance.length) {
    L.push("", "## Guidance step (forward + backward)", "");
    for (const gr of r.guidance) {
      L.push(
        `At ${gr.seconds} s (latent [1,8,${gr.seconds * 25},16], ${Math.max(1, Math.round(gr.seconds))} clip(s)), ${gr.executor}, full-size VAE decoder + vocoder + ImageBind audio` +
          (gr.buildMs !== undefined
            ? ` — one ONNX graph with its emitted backward (no per-piece split; first call, tracing + session creation, ${s(gr.buildMs, 1)} s; peak RSS +${f2((gr.peakRssMiB - gr.rssBeforeMiB) / 1024)} GiB):`
            : ":"),
        "",
        "| run | total s | CPU s | fwd VAE | fwd vocoder | fwd fbank | fwd ImageBind | backward + update | tfjs MiB |",
        "|---|---|---|---|---|---|---|---|---|",
      );
      for (const [i, x] of gr.runs.entries())
        L.push(
          `| ${i} | ${s(x.run.wallMs, 1)} | ${s(x.run.cpuMs, 1)} | ${s(x.forward.vae, 1)} | ${s(x.forward.vocoder, 1)} | ${s(x.forward.fbank, 1)} | ${s(x.forward.imagebind, 1)} | ${s(x.backwardMs, 1)} | ${Math.round(x.tfjsBytes / 2 ** 20)} |`,
        );
      const p = projectGuidance(gr);
      const fr = gr.flopsReal;
      L.push(
        "",
        `Forward GFLOP at ${gr.realSeconds} s: VAE ${f1(fr.vae / 1e9)}, vocoder ${f1(fr.vocoder / 1e9)}, fbank ${f2(fr.fbank / 1e9)}, ImageBind audio ${f1(fr.imagebind / 1e9)} (the backward needs about as much again: input gradients only, weights frozen). ` +
          `Projected ${gr.realSeconds} s step: ≈ ${s(p.stepMs, 0)} s wall (${s(p.cpuMs, 0)} CPU-s).`,
      );
    }
  }

  // --- memory --------------------------------------------------------------------------------------------------------
  if (mem) {
    L.push("", "## Memory: planner vs measured", "");
    for (const e of mem.planner) {
      L.push(
        `Planner, v2a ${e.seconds} s (fp16 ONNX weights): peak ${gib(e.peakMiB)} GiB in ${e.peakPhase}.`,
        "",
      );
      L.push(
        "| phase | weights GiB | activations GiB | total GiB | largest activation | resident |",
        "|---|---|---|---|---|---|",
      );
      for (const p of e.phases)
        L.push(
          `| ${p.name} | ${gib(p.weightsMiB)} | ${gib(p.activationMiB)} | ${gib(p.totalMiB)} | ${p.source} | ${p.resident.map((x) => `${x.component} (${x.executor} ${x.format}) ${Math.round(x.MiB)} MiB`).join(", ")} |`,
        );
      L.push("");
    }
    const sess = r.components.filter((c) => c.sessionMiB != null && c.executor === "ort-node");
    if (sess.length) {
      L.push(
        "Measured ORT-node session sizes (RSS growth at session creation) vs the weights as stored:",
        "",
      );
      L.push(
        "| component | weights | session MiB | graph+weights MiB | peak RSS MiB |",
        "|---|---|---|---|---|",
      );
      for (const c of sess)
        L.push(
          `| ${c.component} ${c.shape} | ${c.weights} | ${Math.round(c.sessionMiB ?? 0)} | ${Math.round(c.graphMiB ?? 0)} | ${Math.round(c.peakMiB ?? 0)} |`,
        );
    }
  }

  // --- profiles ------------------------------------------------------------------------------------------------------
  const prof: { label: string; wallMs: number; p: NonNullable<ComponentResult["profile"]> }[] = [
    ...r.components.flatMap((c) =>
      c.profile
        ? [{ label: `${c.component} ${c.shape} ${c.weights}`, wallMs: c.medianMs, p: c.profile }]
        : [],
    ),
    ...r.guidance.flatMap((g) =>
      g.profile
        ? [
            {
              label: `guidance at ${g.seconds} s, ${g.executor}, fp32 (profiled in its own run)`,
              wallMs: g.profile.totalMs,
              p: g.profile,
            },
          ]
        : [],
    ),
  ];
  if (prof.length) {
    L.push("", "## Where the time goes (ORT profiler, per run)", "");
    for (const { label, wallMs, p } of prof)
      L.push(
        `**${label}** — kernels ${s(p.totalMs)} s of ${s(wallMs)} s wall: ` +
          p.byOp
            .slice(0, 8)
            .map((o) => `${o.op} ${Math.round((100 * o.ms) / p.totalMs)}%`)
            .join(", "),
        "",
      );
  }

  // --- browser ---------------------------------------------------------------------------------------------------
  L.push("", "## Browser (headless Chromium)", "");
  const b = r.browser;
  if (!b) L.push("not run");
  else if (b.skipped) L.push(`skipped: ${b.skipped}`);
  else {
    const a = b.adapter;
    L.push(
      `Adapter: ${a ? `${a.vendor || "?"} / ${a.architecture || "?"} / ${a.description || a.device || "?"}${a.fallback ? " (fallback adapter)" : ""}` : "none (wasm fallback)"}; shader-f16 ${b.shaderF16 ? "yes" : "no"}; ${b.userAgent ?? ""}`,
      "",
      "Small shapes (default-pack widths, 1 s of audio): these time the browser executors, not the full models.",
      "",
      "| component | shape | executor | median ms [min–max] | first run ms | create ms | GFLOP/s |",
      "|---|---|---|---|---|---|---|",
    );
    for (const c of b.components ?? [])
      L.push(
        `| ${c.component} | ${c.shape} | ${c.executor} | ${c.medianMs.toFixed(0)} [${c.minMs.toFixed(0)}–${c.maxMs.toFixed(0)}] | ${c.firstRunMs?.toFixed(0) ?? "–"} | ${c.createMs?.toFixed(0) ?? "–"} | ${f2(c.gflops)} |`,
      );
    for (const n of b.notes ?? []) L.push(`- ${n}`);
  }

  // --- peer --------------------------------------------------------------------------------------------------------
  L.push("", "## PyTorch peer", "");
  const peer = r.peer;
  if (!peer) L.push("peer skipped: not run");
  else {
    if (peer.skipped)
      L.push(peer.skipped.startsWith("peer skipped") ? peer.skipped : `peer skipped: ${peer.skipped}`);
    for (const c of peer.components ?? []) {
      const ours = r.components.find(
        (x) =>
          x.component === c.component &&
          x.shape === c.shape &&
          x.executor === "ort-node" &&
          x.weights === "fp32",
      );
      L.push(
        `- ${c.component} ${c.shape}: PyTorch ${s(c.medianMs)} s [${s(c.minMs)}–${s(c.maxMs)}] (${c.threads} threads)` +
          (ours ? `; ours (ORT-node fp32) ${s(ours.medianMs)} s → ${f2(ours.medianMs / c.medianMs)}×` : ""),
      );
    }
  }

  if (r.skipped.length || r.notes.length) {
    L.push("", "## Skipped and notes", "");
    for (const x of r.skipped) L.push(`- skipped ${x.section}: ${x.reason}`);
    for (const n of r.notes) L.push(`- ${n}`);
  }
  return `${L.join("\n")}\n`;
}
