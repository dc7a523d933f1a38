/**
 * Issue 11 item 3, "cancel at every phase releases memory", measured on the Node engine (onnxruntime-node for the
 * forward passes, tfjs-wasm for the aligner's gradients, the bundled default pack): a guided V2A job is cancelled
 * at each phase it goes through — conditions, denoising (plain and guided steps, with the aligner's tape live),
 * an x0 preview, decoding, scoring — and while the engine is still loading. After each cancel, the live tfjs
 * tensors and the open ORT sessions are back to the baseline of a finished run (none while loading), and a full
 * job still runs afterwards.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as ortNode from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError } from "../../src/engine/errors.js";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import type { AudioTaskEngine } from "../../src/engine/pipelines/audio_engine.js";
import {
  type AudioRequest,
  DEFAULT_AUDIO_ALIGNER,
  runAudioTask,
} from "../../src/engine/pipelines/audio_task.js";
import type { PipelineEvent } from "../../src/engine/pipelines/events.js";
import { openAudioEngine } from "../../src/engine/session.js";
import { packFromFolder } from "../../src/engine/session-node.js";
import { repoRoot } from "../support/golden.js";
import { movingSquareVideo } from "../support/synthetic_media.js";
import { resolveBackend } from "../support/tfjs-backend.js";

/** onnxruntime-node with a count of the sessions created and not yet released. */
function countingOrt(): { ort: OrtModule; live: () => number; created: () => number } {
  let live = 0;
  let created = 0;
  const ort: OrtModule = {
    Tensor: ortNode.Tensor as unknown as OrtModule["Tensor"],
    InferenceSession: {
      create: async (model, options) => {
        const s = await ortNode.InferenceSession.create(model, options);
        live++;
        created++;
        const release = s.release.bind(s);
        let released = false;
        return Object.assign(s, {
          release: async () => {
            if (!released) live--;
            released = true;
            await release();
          },
        }) as unknown as Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;
      },
    },
  };
  return { ort, live: () => live, created: () => created };
}

const request = (): AudioRequest => ({
  task: "v2a",
  prompt: "a red ball bouncing",
  seed: 5,
  steps: 4,
  guidanceScale: 2.5,
  aligner: {
    ...DEFAULT_AUDIO_ALIGNER,
    warmup: 0.2,
    iterations: 1,
    weights: { ...DEFAULT_AUDIO_ALIGNER.weights },
    promptTuning: { ...DEFAULT_AUDIO_ALIGNER.promptTuning },
  },
  compare: false,
  previewEvery: 2,
  video: movingSquareVideo(1, 4),
});

/** Where to cancel: the first event that matches. */
const POINTS: [string, (e: PipelineEvent) => boolean][] = [
  ["conditions", (e) => e.type === "phase" && e.phase === "conditions"],
  ["denoising starts", (e) => e.type === "phase" && e.phase === "denoising"],
  ["a guided step (aligner tape live)", (e) => e.type === "step" && e.guided],
  ["an x0 preview", (e) => e.type === "preview"],
  ["decoding", (e) => e.type === "phase" && e.phase === "decoding"],
  ["scoring", (e) => e.type === "phase" && e.phase === "scoring"],
];

let prevBackend = "";
beforeAll(async () => {
  prevBackend = tf.getBackend();
  await tf.setBackend(await resolveBackend("wasm"));
}, 120_000);
afterAll(async () => {
  if (prevBackend) await tf.setBackend(prevBackend);
});

describe("cancel at every phase releases memory (Node engine, default pack)", () => {
  it("while loading, and at each phase of a guided V2A job: tfjs tensors and ORT sessions back to baseline", {
    timeout: 600_000,
  }, async () => {
    const pack = await packFromFolder(`${repoRoot}/public/models/default`);
    const counted = countingOrt();
    const tensors0 = tf.memory().numTensors;

    // 1. cancelled while the engine loads (after its first progress event)
    const loadAbort = new AbortController();
    const grad0 = new TfjsOps();
    const opening = openAudioEngine(
      pack,
      { forward: { kind: "onnx", ort: counted.ort }, grad: grad0 },
      {
        signal: loadAbort.signal,
        onProgress: () => loadAbort.abort(),
      },
    );
    await expect(opening).rejects.toBeInstanceOf(CancelledError);
    grad0.dispose(); // what the worker's engine cache does with a failed open
    expect(counted.live(), "ORT sessions left open by a cancelled load").toBe(0);
    expect(tf.memory().numTensors, "tfjs tensors left by a cancelled load").toBe(tensors0);

    // 2. the engine, and the baseline of a finished run
    const grad = new TfjsOps();
    const engine: AudioTaskEngine = await openAudioEngine(pack, {
      forward: { kind: "onnx", ort: counted.ort },
      grad,
    });
    try {
      const first = await runAudioTask(engine, request());
      expect(first.runs.guided?.waveform.length).toBe(16000);
      const baseline = { tensors: tf.memory().numTensors, sessions: counted.live() };
      expect(baseline.sessions).toBeGreaterThan(0);

      // 3. cancel at each point
      const rows: string[] = [];
      for (const [label, at] of POINTS) {
        const ac = new AbortController();
        let hit = false;
        const run = runAudioTask(engine, request(), {
          signal: ac.signal,
          onEvent: (e) => {
            if (!hit && at(e)) {
              hit = true;
              ac.abort();
            }
          },
        });
        await expect(run, `cancelled at ${label}`).rejects.toBeInstanceOf(CancelledError);
        expect(hit, `the job reached ${label}`).toBe(true);
        const now = { tensors: tf.memory().numTensors, sessions: counted.live() };
        rows.push(`${label}: ${now.tensors} tensors, ${now.sessions} sessions`);
        expect(now.tensors, `tfjs tensors after a cancel at ${label}`).toBe(baseline.tensors);
        expect(now.sessions, `ORT sessions after a cancel at ${label}`).toBe(baseline.sessions);
      }
      console.info(
        `baseline ${baseline.tensors} tensors, ${baseline.sessions} ORT sessions; after cancel at\n  ${rows.join("\n  ")}`,
      );

      // 4. the engine still works, and leaves nothing behind either
      const again = await runAudioTask(engine, request());
      expect(again.runs.guided?.waveform.every(Number.isFinite)).toBe(true);
      expect(tf.memory().numTensors).toBe(baseline.tensors);
      expect(counted.live()).toBe(baseline.sessions);
    } finally {
      await engine.dispose();
      grad.dispose();
    }
    // 5. closing the engine releases every session and every tensor it held
    expect(counted.live()).toBe(0);
    expect(tf.memory().numTensors).toBe(tensors0);
  });
});
