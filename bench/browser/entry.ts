/**
 * The browser half of `npm run bench` (bundled by bench/lib/browser.ts, run in headless Chromium): the engine's
 * own runtime start-up (createRuntime: ORT WebGPU EP first, then tfjs-webgpu on ORT's device), then the same
 * benchmark cases as Node at small shapes — the bundled default pack's configs (real topology, small widths),
 * 1 s of audio — on ORT WebGPU, ORT wasm and tfjs-webgpu, plus the guidance step's forward + backward as one
 * ORT graph with its emitted backward (the studio's default, on both EPs) and on tfjs-webgpu. Exposes
 * `window.__bench(options)`.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import { AUDIOLDM, IMAGEBIND } from "../../src/engine/packs/default-configs.js";
import { createRuntime, type ExecutionProvider } from "../../src/engine/runtime/runtime.js";
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
  ibAudioCase,
  ibTextCase,
  ibVisionCase,
  imagebind,
  vaeDecodeCase,
  vocoder,
  vocoderCase,
} from "../lib/cases.js";
import { guidanceStep, guidanceStepsOrt } from "../lib/guidance.js";
import type { BrowserResult, ComponentResult } from "../lib/results.js";
import { repeat, timed } from "../lib/timing.js";

export interface BrowserBenchOptions {
  quick: boolean;
  repeats: number;
  /** no new case starts after this long (SwiftShader is ~100× slower than the CPU EPs) */
  budgetMs: number;
}

async function bench(o: BrowserBenchOptions): Promise<BrowserResult> {
  const t0 = performance.now();
  const over = () => performance.now() - t0 > o.budgetMs;
  const rt = await createRuntime({
    backend: "auto",
    assets: { ortWasm: "/vendor/ort/", tfjsWasm: "/vendor/tfjs/" },
  });
  const notes: string[] = [];
  if (rt.report.fallbackReason) notes.push(`runtime fell back: ${rt.report.fallbackReason}`);
  const seconds = 1;
  const unet = audioUnet(AUDIOLDM.unet);
  const vae = audioVae(AUDIOLDM.vae);
  const voc = vocoder(AUDIOLDM.vocoder);
  const ib = imagebind(IMAGEBIND);
  for (const m of [unet, vae, voc]) fillRandom(m);
  fillImageBind(ib);
  // cheapest first, the UNet before the decoders (a SwiftShader vocoder run takes ~15 s): on a software adapter
  // the budget may end before the last cases
  const cases: Case[] = [
    fbankCase(seconds),
    ibTextCase(ib),
    ibAudioCase(ib, seconds),
    ibVisionCase(ib, 1),
    audioUnetCase(unet, seconds),
    vaeDecodeCase(vae, seconds),
    vocoderCase(voc, seconds),
  ];
  // a software adapter (SwiftShader here) is timed once per case after the untimed first run: its numbers time
  // the plumbing, not a GPU, and two repeats of every case do not fit the budget
  const software =
    rt.report.webgpu?.adapter?.isFallbackAdapter === true ||
    /swiftshader/i.test(
      `${rt.report.webgpu?.adapter?.description ?? ""} ${rt.report.webgpu?.adapter?.vendor ?? ""}`,
    );
  const gpuRepeats = software ? 1 : o.repeats;
  if (software) notes.push("software WebGPU adapter: WebGPU rows are timed once after the first run");
  const components: ComponentResult[] = [];
  const row = (
    c: Case,
    executor: ComponentResult["executor"],
    weights: ComponentResult["weights"],
    s: Awaited<ReturnType<typeof repeat>>,
    extra: Partial<ComponentResult>,
  ) => {
    const flops = caseFlops(c);
    components.push({
      section: "browser",
      component: c.component,
      shape: c.shape,
      executor,
      weights,
      threads: executor === "ort-wasm-browser" ? rt.report.ort.wasmThreads : 1,
      gflop: flops / 1e9,
      medianMs: s.medianMs,
      minMs: s.minMs,
      maxMs: s.maxMs,
      cpuMedianMs: null,
      repeats: s.runs.length,
      gflops: flops / 1e6 / s.medianMs,
      cpuGflops: null,
      ...extra,
    });
  };
  const eps: ExecutionProvider[] = rt.device ? ["webgpu", "wasm"] : ["wasm"];
  for (const c of cases) {
    if (over()) {
      notes.push(`${c.component} not run: browser budget (${Math.round(o.budgetMs / 1000)} s) spent`);
      continue;
    }
    const em = emitCase(c, "fp32", false);
    for (const ep of eps) {
      try {
        const created = await timed(() => rt.createSession(em.built.model, ep));
        const session = created.value;
        const feeds: Record<string, InstanceType<typeof rt.ort.Tensor>> = {};
        for (const [k, v] of Object.entries(c.inputs))
          feeds[k] = new rt.ort.Tensor(v.data instanceof Int32Array ? "int32" : "float32", v.data, v.shape);
        const first = await timed(() => session.run(feeds));
        const s = await repeat(ep === "webgpu" ? gpuRepeats : o.repeats, () => session.run(feeds));
        await session.release();
        row(c, ep === "webgpu" ? "ort-webgpu" : "ort-wasm-browser", "fp32", s, {
          createMs: created.run.wallMs,
          firstRunMs: first.run.wallMs,
        });
      } catch (e) {
        notes.push(`${c.component} on ORT ${ep} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // tfjs (webgpu when the runtime started it)
    const ops = new TfjsOps();
    try {
      const xs: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(c.inputs))
        xs[k] = tf.tensor(v.data, v.shape, v.data instanceof Int32Array ? "int32" : "float32");
      const once = async () => {
        const y = tf.tidy(() => c.forward(ops, xs));
        await y.data();
        y.dispose();
      };
      const first = await timed(once);
      const s = await repeat(rt.report.tfjs.backend === "webgpu" ? gpuRepeats : o.repeats, once);
      row(c, rt.report.tfjs.backend === "webgpu" ? "tfjs-webgpu" : "tfjs-wasm", "fp32-tfjs", s, {
        firstRunMs: first.run.wallMs,
      });
      for (const t of Object.values(xs)) t.dispose();
    } catch (e) {
      notes.push(`${c.component} on tfjs failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      ops.dispose();
    }
  }
  const guidanceFlops =
    2 *
    (caseFlops(vaeDecodeCase(vae, seconds)) +
      caseFlops(vocoderCase(voc, seconds)) +
      caseFlops(ibAudioCase(ib, 1)));
  const guidanceShape = `[1,8,${seconds * 25},16] → 1 clip`;
  /** A guidance row from its timed runs (ms) and its first run (which includes any session build). */
  const guidanceRow = (
    executor: ComponentResult["executor"],
    weights: ComponentResult["weights"],
    threads: number,
    runsMs: number[],
    firstRunMs: number,
    note: string,
  ) => {
    const w = [...runsMs].sort((a, b) => a - b);
    const median = w[w.length >> 1];
    components.push({
      section: "browser",
      component: "guidance",
      shape: guidanceShape,
      executor,
      weights,
      threads,
      gflop: guidanceFlops / 1e9,
      medianMs: median,
      minMs: w[0],
      maxMs: w[w.length - 1],
      cpuMedianMs: null,
      repeats: w.length,
      firstRunMs,
      gflops: guidanceFlops / 1e6 / median,
      cpuGflops: null,
      note,
    });
  };
  // the guidance step as the studio runs it by default: loss and gradient as one ONNX graph with its emitted
  // backward (OnnxGuidance) on the forward's EP; the first call builds the session. wasm first: it takes seconds,
  // while a software WebGPU adapter takes minutes and used to leave no budget for it
  for (const ep of [...eps].reverse()) {
    if (over()) {
      notes.push(`guidance on ORT ${ep} not run: browser budget (${Math.round(o.budgetMs / 1000)} s) spent`);
      continue;
    }
    try {
      const n = ep === "webgpu" ? gpuRepeats : o.repeats;
      const g = await guidanceStepsOrt(
        { vae, vocoder: voc, imagebind: ib },
        seconds,
        rt.ort as unknown as OrtModule,
        { executionProviders: [ep] },
        n,
      );
      guidanceRow(
        ep === "webgpu" ? "ort-webgpu" : "ort-wasm-browser",
        "fp32",
        ep === "webgpu" ? 1 : rt.report.ort.wasmThreads,
        g.runs.map((r) => r.run.wallMs),
        g.buildMs,
        "loss + emitted backward as one ORT graph (the studio's default), host Adam; first run includes the session build",
      );
    } catch (e) {
      notes.push(`guidance on ORT ${ep} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // the guidance step on tfjs (forward + backward) at 1 s with the small models: last, it is the slowest case
  const gops = new TfjsOps();
  try {
    if (over()) throw new Error(`not run: browser budget (${Math.round(o.budgetMs / 1000)} s) spent`);
    const g0 = await guidanceStep({ ops: gops, vae, vocoder: voc, imagebind: ib }, seconds);
    const runs = [g0.run];
    for (let i = 0; i < (rt.report.tfjs.backend === "webgpu" ? gpuRepeats : o.repeats); i++)
      runs.push((await guidanceStep({ ops: gops, vae, vocoder: voc, imagebind: ib }, seconds)).run);
    guidanceRow(
      rt.report.tfjs.backend === "webgpu" ? "tfjs-webgpu" : "tfjs-wasm",
      "fp32-tfjs",
      1,
      runs.slice(1).map((r) => r.wallMs),
      g0.run.wallMs,
      "forward + backward + Adam update (FLOPs ≈ 2 × forward)",
    );
  } catch (e) {
    notes.push(`guidance on tfjs failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    gops.dispose();
  }
  const a = rt.report.webgpu?.adapter;
  return {
    adapter: a
      ? {
          vendor: a.vendor,
          architecture: a.architecture,
          device: a.device,
          description: a.description,
          fallback: a.isFallbackAdapter,
        }
      : null,
    userAgent: rt.report.userAgent,
    shaderF16: rt.report.webgpu?.shaderF16 ?? false,
    components,
    notes,
  };
}

(globalThis as { __bench?: typeof bench }).__bench = bench;
