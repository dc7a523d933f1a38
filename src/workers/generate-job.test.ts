/** The generate job's boundary: its params/result/event schemas, and the ORT run queue. */
import type { InferenceSession } from "onnxruntime-common";
import { describe, expect, it } from "vitest";
import type { OrtModule } from "../engine/ops/onnx/session.js";
import { JobEventSchema } from "../engine/runtime/job.js";
import { serializedOrt } from "./generate-job.js";
import { parseParams, parseResult } from "./protocol.js";

const aligner = {
  enabled: true,
  lambda: 0.1,
  warmup: 0.2,
  iterations: 1,
  optimizer: "adam",
  weights: { text: 1, vision: 1 },
  promptTuning: { enabled: false, lambda: 1e-3 },
} as const;

describe("generate job schemas", () => {
  it("accept a V2A request with RGB frames and reject a bad pack id or optimizer", () => {
    const params = {
      task: "v2a",
      pack: { kind: "bundled" },
      prompt: "",
      seed: 0,
      steps: 2,
      guidanceScale: 2.5,
      aligner,
      compare: true,
      previewEvery: 1,
      video: { data: new Uint8Array(2 * 2 * 3 * 2), numFrames: 2, width: 2, height: 2, fps: 8 },
    } as const;
    expect(parseParams("generate", params).ok).toBe(true);
    expect(parseParams("generate", { ...params, pack: { kind: "installed", id: "../x" } }).ok).toBe(false);
    expect(parseParams("generate", { ...params, aligner: { ...aligner, optimizer: "lbfgs" } }).ok).toBe(
      false,
    );
  });

  it("carry waveforms as Float32Array in results and previews through the event schema", () => {
    const run = {
      waveform: new Float32Array(4),
      sampleRate: 16000,
      scores: {},
      loss: 1,
      lossCurve: [{ i: 1, loss: 1 }],
    };
    const result = {
      task: "v2a",
      packId: "default",
      prompt: "p",
      autoPrompt: true,
      durationS: 1,
      runs: { guided: run },
      executors: { forward: "onnxruntime-web wasm", grad: "tfjs wasm" },
      loadMs: 1,
      runMs: 2,
    };
    expect(parseResult("generate", result).ok).toBe(true);
    expect(parseResult("generate", { ...result, runs: { guided: { ...run, waveform: [0, 0] } } }).ok).toBe(
      false,
    );
    const preview = {
      type: "preview",
      run: "guided",
      i: 3,
      preview: { kind: "mel", data: new Float32Array(6), shape: [2, 3] },
    };
    expect(JobEventSchema.parse(structuredClone(preview))).toEqual(preview);
    const step = { type: "step", run: "vanilla", i: 0, n: 2, t: 999, guided: false, ms: 12, terms: { a: 1 } };
    expect(JobEventSchema.parse(step)).toEqual(step);
    expect(JobEventSchema.parse({ type: "prompt-update", run: "guided", i: -1, norm: 0.5 })).toBeTruthy();
  });
});

describe("serializedOrt", () => {
  it("never lets two session runs overlap (onnxruntime-web's JSEP runs one at a time)", async () => {
    let active = 0;
    let maxActive = 0;
    const session = {
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return {};
      },
      release: async () => {},
    };
    const fake = {
      Tensor: class {},
      InferenceSession: { create: async () => ({ ...session }) as unknown as InferenceSession },
    } as unknown as OrtModule;
    const ort = serializedOrt(fake);
    const [a, b] = await Promise.all([
      ort.InferenceSession.create(new Uint8Array()),
      ort.InferenceSession.create(new Uint8Array()),
    ]);
    await Promise.all([a.run({}), b.run({}), a.run({}), b.run({})]);
    expect(maxActive).toBe(1);
  });
});
