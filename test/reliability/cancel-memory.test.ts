/**
 * Issue 11 item 3, "cancel at every phase releases memory", measured on the Node engine (onnxruntime-node for the
 * forward passes, tfjs-wasm for the aligner's gradients, the bundled default pack): a guided V2A job is cancelled
 * at each phase it goes through — conditions, denoising (plain and guided steps, with the aligner's tape live),
 * an x0 preview, decoding, scoring — and while the engine is still loading. After each cancel, the live tfjs
 * tensors and the open ORT sessions are back to the baseline of a finished run (none while loading), and a full
 * job still runs afterwards. A2V and joint jobs are cancelled at the same phases on their own engines.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as ortNode from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError } from "../../src/engine/errors.js";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import type { PackSource } from "../../src/engine/packs/loader.js";
import { runA2VTask } from "../../src/engine/pipelines/a2v.js";
import type { AudioTaskEngine, EngineExecutors } from "../../src/engine/pipelines/audio_engine.js";
import {
  type AudioRequest,
  DEFAULT_AUDIO_ALIGNER,
  runAudioTask,
} from "../../src/engine/pipelines/audio_task.js";
import type { PipelineEvent } from "../../src/engine/pipelines/events.js";
import { runJointTask } from "../../src/engine/pipelines/joint.js";
import {
  type OpenEngineOptions,
  openAudioEngine,
  openJointEngine,
  openVideoEngine,
} from "../../src/engine/session.js";
import { packFromFolder } from "../../src/engine/session-node.js";
import { repoRoot } from "../support/golden.js";
import { movingSquareVideo } from "../support/synthetic_media.js";
import { a2vRequest, jointRequest } from "../support/task-cases.js";
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

type Counted = ReturnType<typeof countingOrt>;
type Run = (opts: { signal: AbortSignal; onEvent: (e: PipelineEvent) => void }) => Promise<unknown>;

/**
 * Cancels a job at each of POINTS (the first matching event) and checks that the live tfjs tensors and ORT
 * sessions are back to `baseline` after each. Returns one line per point.
 */
async function cancelAtEach(
  run: Run,
  baseline: { tensors: number; sessions: number },
  counted: Counted,
): Promise<string[]> {
  const rows: string[] = [];
  for (const [label, at] of POINTS) {
    const ac = new AbortController();
    let hit = false;
    const job = run({
      signal: ac.signal,
      onEvent: (e) => {
        if (!hit && at(e)) {
          hit = true;
          ac.abort();
        }
      },
    });
    await expect(job, `cancelled at ${label}`).rejects.toBeInstanceOf(CancelledError);
    expect(hit, `the job reached ${label}`).toBe(true);
    const now = { tensors: tf.memory().numTensors, sessions: counted.live() };
    rows.push(`${label}: ${now.tensors} tensors, ${now.sessions} sessions`);
    expect(now.tensors, `tfjs tensors after a cancel at ${label}`).toBe(baseline.tensors);
    expect(now.sessions, `ORT sessions after a cancel at ${label}`).toBe(baseline.sessions);
  }
  return rows;
}

/**
 * The same measurement on an A2V or joint engine: a load cancelled after its first progress event leaves nothing,
 * then a finished guided job sets the baseline, a cancel at each point, a full job afterwards, and closing the engine releases every session and tensor.
 */
async function cancelTask<E extends { dispose(): Promise<void> }>(
  name: string,
  guidance: EngineExecutors["guidance"],
  open: (pack: PackSource, exec: EngineExecutors, opts: OpenEngineOptions) => Promise<E>,
  run: (engine: E, opts?: { signal: AbortSignal; onEvent: (e: PipelineEvent) => void }) => Promise<unknown>,
): Promise<void> {
  const pack = await packFromFolder(`${repoRoot}/public/models/default`);
  const counted = countingOrt();
  const tensors0 = tf.memory().numTensors;

  const loadAbort = new AbortController();
  const grad0 = new TfjsOps();
  const opening = open(
    pack,
    { forward: { kind: "onnx", ort: counted.ort }, grad: grad0, guidance },
    { signal: loadAbort.signal, onProgress: () => loadAbort.abort() },
  );
  await expect(opening).rejects.toBeInstanceOf(CancelledError);
  grad0.dispose();
  expect(counted.live(), `${name}: ORT sessions left open by a cancelled load`).toBe(0);
  expect(tf.memory().numTensors, `${name}: tfjs tensors left by a cancelled load`).toBe(tensors0);

  const grad = new TfjsOps();
  const engine = await open(pack, { forward: { kind: "onnx", ort: counted.ort }, grad, guidance }, {});
  try {
    await run(engine);
    const baseline = { tensors: tf.memory().numTensors, sessions: counted.live() };
    expect(baseline.sessions).toBeGreaterThan(0);
    const rows = await cancelAtEach((opts) => run(engine, opts), baseline, counted);
    console.info(
      `${name}, guidance on ${guidance}: baseline ${baseline.tensors} tensors, ${baseline.sessions} ORT sessions; after cancel at\n  ${rows.join("\n  ")}`,
    );
    await run(engine);
    expect(tf.memory().numTensors).toBe(baseline.tensors);
    expect(counted.live()).toBe(baseline.sessions);
  } finally {
    await engine.dispose();
    grad.dispose();
  }
  expect(counted.live()).toBe(0);
  expect(tf.memory().numTensors).toBe(tensors0);
}

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
      const rows = await cancelAtEach((opts) => runAudioTask(engine, request(), opts), baseline, counted);
      console.info(
        `V2A: baseline ${baseline.tensors} tensors, ${baseline.sessions} ORT sessions; after cancel at\n  ${rows.join("\n  ")}`,
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
  // The V2A test above guides on tfjs; these run every task on both guidance executors (ORT's guidance graph is
  // one more session, built on the first guided step, and a cancel must not wait for that build).
  const TASKS = [
    {
      task: "V2A",
      run: (guidance: EngineExecutors["guidance"]) =>
        cancelTask("V2A", guidance, openAudioEngine, (engine, opts) => runAudioTask(engine, request(), opts)),
    },
    {
      task: "A2V",
      run: (guidance: EngineExecutors["guidance"]) =>
        cancelTask("A2V", guidance, openVideoEngine, (engine, opts) =>
          runA2VTask(engine, a2vRequest({ compare: false, steps: 4, previewEvery: 2 }), opts),
        ),
    },
    {
      task: "joint",
      run: (guidance: EngineExecutors["guidance"]) =>
        cancelTask("joint", guidance, openJointEngine, (engine, opts) =>
          runJointTask(engine, jointRequest({ compare: false, previewEvery: 2 }), opts),
        ),
    },
  ] as const;
  for (const { task, run } of TASKS)
    for (const guidance of ["tfjs", "onnx"] as const) {
      if (task === "V2A" && guidance === "tfjs") continue; // the test above
      it(
        `while loading, and at each phase of a guided ${task} job, guidance on ${guidance}: tfjs tensors and ORT sessions back to baseline`,
        {
          timeout: 600_000,
        },
        () => run(guidance),
      );
    }
});
