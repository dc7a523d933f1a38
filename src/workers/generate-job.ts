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
import type { AudioTaskEngine } from "../engine/pipelines/audio_engine.js";
import { type AudioRequest, checkAudioRequest, runAudioTask } from "../engine/pipelines/audio_task.js";
import type { PipelineEvent } from "../engine/pipelines/events.js";
import type { JobEvent } from "../engine/runtime/job.js";
import type { Runtime } from "../engine/runtime/runtime.js";
import { startTfjsWasm } from "../engine/runtime/tfjs-backend.js";
import { openAudioEngine } from "../engine/session.js";
import type { EngineMemory, GenerateParams, GenerateResult, PackChoice } from "./generate-schemas.js";
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

interface OpenEngine {
  key: string;
  packId: string;
  engine: Promise<AudioTaskEngine>;
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
  let open: OpenEngine | null = null;
  let ort: OrtModule | null = null; // one queue for every session of this worker

  async function source(p: PackChoice, signal: AbortSignal): Promise<PackSource> {
    if (p.kind === "bundled") return packFromUrl(deps.bundledUrl, { signal });
    return packFromCache(await opfsCache(), p.id);
  }

  /** The engine of `choice`, opened on first use; a different pack closes the previous engine first. */
  /** Puts tfjs on the backend the gradient path asked for ("auto": the runtime's own). */
  async function gradBackend(rt: Runtime, want: "auto" | "wasm"): Promise<string> {
    const name = want === "wasm" ? "wasm" : rt.report.tfjs.backend;
    if (tf.getBackend() === name) return name;
    if (name === "wasm" && !tf.findBackend("wasm")) return startTfjsWasm(deps.tfjsWasm);
    if (!(await tf.setBackend(name))) throw new Error(`tfjs could not switch to its ${name} backend`);
    return tf.getBackend();
  }

  async function engineFor(
    choice: PackChoice,
    ep: "webgpu" | "wasm",
    grad: string,
    ctx: HostJobContext,
  ): Promise<{ e: OpenEngine; fresh: boolean }> {
    const key = packKey(choice, ep, grad);
    if (open?.key === key) {
      try {
        await open.engine;
        return { e: open, fresh: false };
      } catch {
        open = null; // a failed or cancelled load is retried below
      }
    }
    if (open) {
      const old = open;
      open = null;
      const engine = await old.engine.catch(() => null);
      await engine?.dispose();
      engine?.grad.dispose(); // the executor's cached weights on the device
    }
    ctx.emit({ type: "phase", phase: "loading", message: key });
    ort ??= serializedOrt((await deps.runtime()).ort as unknown as OrtModule);
    const pack = await source(choice, ctx.signal);
    const engine = openAudioEngine(
      pack,
      {
        forward: {
          kind: "onnx",
          ort: serializedOrt(ort),
          session: { executionProviders: [ep] },
        },
        grad: new TfjsOps(),
      },
      {
        signal: ctx.signal,
        onProgress: (e) =>
          ctx.emit({ type: "progress", phase: "loading", done: e.bytes, total: Math.max(1, e.totalBytes) }),
      },
    );
    const entry: OpenEngine = { key, packId: pack.id, engine };
    open = entry;
    engine.catch(() => {
      if (open === entry) open = null;
    });
    await engine;
    return { e: entry, fresh: true };
  }

  return {
    generate: async (p: GenerateParams, ctx: HostJobContext): Promise<GenerateResult> => {
      const request: AudioRequest = {
        task: p.task,
        prompt: p.prompt,
        negativePrompt: p.negativePrompt,
        durationS: p.durationS,
        seed: p.seed,
        steps: p.steps,
        guidanceScale: p.guidanceScale,
        aligner: p.aligner,
        compare: p.compare,
        previewEvery: p.previewEvery,
        video: p.video,
        image: p.image,
      };
      checkAudioRequest(request); // before any weight loads (STYLE.md 15)
      const t0 = performance.now();
      const rt = await deps.runtime();
      const ep = rt.device && p.executor !== "wasm" ? "webgpu" : "wasm";
      const grad = await gradBackend(rt, p.gradExecutor ?? "auto");
      const { e, fresh } = await engineFor(p.pack, ep, grad, ctx);
      const engine = await e.engine;
      const t1 = performance.now();
      const result = await runAudioTask(engine, request, {
        signal: ctx.signal,
        onEvent: (ev) => {
          if (ev.type === "preview")
            ctx.emitTransfer(asJobEvent(ev), [ev.preview.data.buffer as ArrayBuffer]);
          else ctx.emit(asJobEvent(ev));
        },
      });
      const runs: GenerateResult["runs"] = {};
      for (const name of ["vanilla", "guided"] as const) {
        const r = result.runs[name];
        if (!r) continue;
        runs[name] = {
          waveform: r.waveform,
          sampleRate: r.sampleRate,
          scores: r.scores,
          loss: r.loss,
          lossCurve: r.lossCurve,
          ...(r.promptNorm === undefined ? {} : { promptNorm: r.promptNorm }),
        };
        ctx.transfer(r.waveform.buffer as ArrayBuffer);
      }
      return {
        task: result.task,
        packId: e.packId,
        prompt: result.prompt,
        autoPrompt: result.autoPrompt,
        durationS: result.durationS,
        runs,
        executors: { forward: `onnxruntime-web ${ep}`, grad: `tfjs ${grad}` },
        loadMs: fresh ? Math.round(t1 - t0) : 0,
        runMs: Math.round(performance.now() - t1),
      };
    },

    "engine-memory": async (): Promise<EngineMemory> => {
      await deps.runtime(); // tfjs has no backend until the runtime has started
      const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
      return {
        numTensors: m.numTensors,
        numBytes: m.numBytes,
        numDataBuffers: m.numDataBuffers,
        ...(m.numBytesInGPU === undefined ? {} : { numBytesInGPU: m.numBytesInGPU }),
        engines: open ? 1 : 0,
      };
    },
  };
}
