/**
 * The engine worker's "generate" job: opens the task engine once per session from the chosen pack (the bundled
 * pack this site serves, read in place; or one installed in OPFS) and runs one request on it, streaming the
 * pipeline's events to the UI (x0 previews transferred) and returning one waveform per run (transferred).
 *
 * Executors (DESIGN.md rule 1): the forward-only components run on onnxruntime-web's WebGPU EP when the probe
 * found WebGPU (its wasm EP otherwise); the gradient path runs on tfjs, whose backend the runtime put on the same
 * GPUDevice (or on wasm). Cancellation is the job's AbortSignal, checked by the pipeline once per step; the
 * pipeline frees its tensors in `finally`, and "engine-memory" lets tests check that they did.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { OrtModule } from "../engine/ops/onnx/session.js";
import { TfjsOps } from "../engine/ops/tfjs.js";
import { opfsCache } from "../engine/packs/cache-opfs.js";
import { type PackSource, packFromCache, packFromUrl } from "../engine/packs/loader.js";
import type { PipelineEvent } from "../engine/pipelines/events.js";
import type { JobEvent } from "../engine/runtime/job.js";
import type { Runtime } from "../engine/runtime/runtime.js";
import { startTfjsWasm } from "../engine/runtime/tfjs-backend.js";
import { EngineCache } from "./engine-cache.js";
import type { EngineMemory, GenerateParams, GenerateResult, PackChoice } from "./generate-schemas.js";
import { taskRequest } from "./generate-tasks.js";
import type { HostJobContext } from "./host.js";

/** Where the app serves the bundled pack, relative to its base URL (public/models/default/). */
export const BUNDLED_PACK_PATH = "models/default/";

export interface GenerateDeps {
  runtime(): Promise<Runtime>;
  /** Same-origin prefix of tfjs-backend-wasm's binaries (for the wasm gradient path on a WebGPU runtime). */
  tfjsWasm: string;
  /** Absolute URL of the bundled pack's folder. */
  bundledUrl: string;
}

const packKey = (p: PackChoice, ep: string, grad: string) =>
  `${p.kind === "bundled" ? "bundled" : `installed:${p.id}`} · ORT ${ep} · tfjs ${grad}`;

/**
 * onnxruntime-web's JSEP backend runs one session at a time: a second `run` while one is in flight (the pipeline
 * renders x0 previews while the next step starts) fails with "Session already started". Queue every run of every
 * session this module creates.
 */
export function serializedOrt(ort: OrtModule): OrtModule {
  let tail: Promise<unknown> = Promise.resolve();
  const queue = <T>(f: () => Promise<T>): Promise<T> => {
    const next = tail.then(f, f);
    tail = next.catch(() => undefined);
    return next;
  };
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: async (model, options) => {
        const session = await queue(() => ort.InferenceSession.create(model, options));
        const run = session.run.bind(session);
        const release = session.release.bind(session);
        return Object.assign(session, {
          run: (...args: Parameters<typeof run>) => queue(() => run(...args)),
          release: () => queue(release),
        }) as typeof session;
      },
    },
  };
}

/** Pipeline events are job events (the schema in runtime/job.ts mirrors pipelines/events.ts). */
const asJobEvent = (e: PipelineEvent): JobEvent => e;

export function generateJobs(deps: GenerateDeps) {
  const cache = new EngineCache();
  let ort: OrtModule | null = null; // one queue for every session of this worker

  async function source(p: PackChoice, signal: AbortSignal): Promise<PackSource> {
    if (p.kind === "bundled") return packFromUrl(deps.bundledUrl, { signal });
    return packFromCache(await opfsCache(), p.id);
  }

  /** Puts tfjs on the backend the gradient path asked for ("auto": the runtime's own). */
  async function gradBackend(rt: Runtime, want: "auto" | "wasm"): Promise<string> {
    const name = want === "wasm" ? "wasm" : rt.report.tfjs.backend;
    if (tf.getBackend() === name) return name;
    if (name === "wasm" && !tf.findBackend("wasm")) return startTfjsWasm(deps.tfjsWasm);
    if (!(await tf.setBackend(name))) throw new Error(`tfjs could not switch to its ${name} backend`);
    return tf.getBackend();
  }

  return {
    generate: async (p: GenerateParams, ctx: HostJobContext): Promise<GenerateResult> => {
      const task = taskRequest(p); // checked before any weight loads (STYLE.md 15)
      const t0 = performance.now();
      const rt = await deps.runtime();
      const ep = rt.device && p.executor !== "wasm" ? "webgpu" : "wasm";
      // "onnx": the aligner's loss and gradient on ONNX Runtime (this EP); tfjs stays for prompt tuning (wasm)
      const guidance = p.gradExecutor === "onnx" ? "onnx" : "tfjs";
      const grad = await gradBackend(rt, p.gradExecutor === "onnx" ? "wasm" : (p.gradExecutor ?? "auto"));
      ort ??= serializedOrt(rt.ort as unknown as OrtModule);
      const queued = ort;
      const key = `${packKey(p.pack, ep, grad)}|${guidance}`;
      const { engines, packId, fresh } = await cache.get({
        key,
        kind: task.kind,
        source: () => {
          ctx.emit({ type: "phase", phase: "loading", message: key });
          return source(p.pack, ctx.signal);
        },
        exec: () => ({
          forward: { kind: "onnx", ort: queued, session: { executionProviders: [ep] } },
          grad: new TfjsOps(),
          guidance,
        }),
        load: {
          signal: ctx.signal,
          onProgress: (e) =>
            ctx.emit({ type: "progress", phase: "loading", done: e.bytes, total: Math.max(1, e.totalBytes) }),
        },
      });
      const t1 = performance.now();
      const onEvent = (ev: PipelineEvent) => {
        if (ev.type === "preview") ctx.emitTransfer(asJobEvent(ev), [ev.preview.data.buffer as ArrayBuffer]);
        else ctx.emit(asJobEvent(ev));
      };
      const out = await task.run(engines, { signal: ctx.signal, onEvent });
      for (const r of Object.values(out.runs)) {
        if (r?.waveform) ctx.transfer(r.waveform.buffer as ArrayBuffer);
        if (r?.frames) ctx.transfer(r.frames.data.buffer as ArrayBuffer);
      }
      return {
        ...out,
        task: p.task,
        packId,
        executors: {
          forward: `onnxruntime-web ${ep}`,
          grad: guidance === "onnx" ? `onnxruntime-web ${ep} (prompt tuning: tfjs ${grad})` : `tfjs ${grad}`,
        },
        loadMs: fresh ? Math.round(t1 - t0) : 0,
        runMs: Math.round(performance.now() - t1),
      };
    },

    "engine-memory": async (): Promise<EngineMemory> => {
      const rt = await deps.runtime(); // tfjs has no backend until the runtime has started
      const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
      const gpuBuffers = rt.gpuBuffers();
      return {
        numTensors: m.numTensors,
        numBytes: m.numBytes,
        numDataBuffers: m.numDataBuffers,
        ...(m.numBytesInGPU === undefined ? {} : { numBytesInGPU: m.numBytesInGPU }),
        engines: cache.count,
        ...(gpuBuffers ? { gpuBuffers } : {}),
      };
    },
  };
}
