/**
 * Issue 11 item 7, the Node half (the browser soak on SwiftShader is not written yet; see docs/reliability.md):
 * 20 consecutive jobs on one engine (the bundled pack; onnxruntime-node forward, tfjs-wasm gradients),
 * alternating guided V2A and plain T2A. After each job the live tfjs tensors and open ORT sessions equal the
 * baseline of the first finished job exactly, and the JS heap (after a full GC) grows by less than 32 MB.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as tf from "@tensorflow/tfjs-core";
import * as ortNode from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import {
  type AudioRequest,
  DEFAULT_AUDIO_ALIGNER,
  runAudioTask,
} from "../../src/engine/pipelines/audio_task.js";
import { openAudioEngine } from "../../src/engine/session.js";
import { packFromFolder } from "../../src/engine/session-node.js";
import { repoRoot } from "../support/golden.js";
import { movingSquareVideo } from "../support/synthetic_media.js";
import { resolveBackend } from "../support/tfjs-backend.js";

const JOBS = 20;
const HEAP_BOUND_MB = 32;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapMb = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 ** 2;
};

let live = 0;
const ort: OrtModule = {
  Tensor: ortNode.Tensor as unknown as OrtModule["Tensor"],
  InferenceSession: {
    create: async (model, options) => {
      const s = await ortNode.InferenceSession.create(model, options);
      live++;
      const release = s.release.bind(s);
      return Object.assign(s, {
        release: async () => {
          live--;
          await release();
        },
      }) as unknown as Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;
    },
  },
};

const job = (i: number): AudioRequest => ({
  task: i % 2 ? "t2a" : "v2a",
  prompt: i % 2 ? "rain on a roof" : "a ball bouncing",
  seed: i,
  steps: 2,
  guidanceScale: 2.5,
  aligner: {
    ...DEFAULT_AUDIO_ALIGNER,
    enabled: i % 2 === 0,
    warmup: 0,
    iterations: 1,
    weights: { ...DEFAULT_AUDIO_ALIGNER.weights },
    promptTuning: { ...DEFAULT_AUDIO_ALIGNER.promptTuning },
  },
  compare: false,
  durationS: 1,
  ...(i % 2 ? {} : { video: movingSquareVideo(1, 4) }),
});

let prevBackend = "";
beforeAll(async () => {
  prevBackend = tf.getBackend();
  await tf.setBackend(await resolveBackend("wasm"));
}, 120_000);
afterAll(async () => {
  if (prevBackend) await tf.setBackend(prevBackend);
});

describe("soak: consecutive jobs on one engine (Node)", () => {
  it(`${JOBS} jobs: tensors and ORT sessions stay at baseline, heap growth < ${HEAP_BOUND_MB} MB`, {
    timeout: 600_000,
  }, async () => {
    const grad = new TfjsOps();
    const engine = await openAudioEngine(await packFromFolder(`${repoRoot}/public/models/default`), {
      forward: { kind: "onnx", ort },
      grad,
    });
    try {
      // the first job of each kind fills the engine's caches (sessions, tfjs weights)
      await runAudioTask(engine, job(0));
      await runAudioTask(engine, job(1));
      const base = { tensors: tf.memory().numTensors, sessions: live, heap: heapMb() };
      let maxHeap = base.heap;
      for (let i = 0; i < JOBS; i++) {
        const r = await runAudioTask(engine, job(i));
        const run = r.runs.guided ?? r.runs.vanilla;
        expect(run?.waveform.every(Number.isFinite)).toBe(true);
        expect(tf.memory().numTensors, `tfjs tensors after job ${i + 1}`).toBe(base.tensors);
        expect(live, `ORT sessions after job ${i + 1}`).toBe(base.sessions);
        if (i % 5 === 4) maxHeap = Math.max(maxHeap, heapMb());
      }
      const end = heapMb();
      maxHeap = Math.max(maxHeap, end);
      console.info(
        `soak: ${JOBS} jobs; ${base.tensors} tensors and ${base.sessions} ORT sessions throughout; ` +
          `heap ${base.heap.toFixed(1)} → ${end.toFixed(1)} MB (max ${maxHeap.toFixed(1)})`,
      );
      expect(maxHeap - base.heap).toBeLessThan(HEAP_BOUND_MB);
    } finally {
      await engine.dispose();
      grad.dispose();
    }
  });
});
