/**
 * The generate job's task table: A2V and joint requests pass the protocol's schema, each task picks the engine
 * kind it needs, and impossible requests are refused by the pipeline's own check before any engine opens.
 */
import { describe, expect, it } from "vitest";
import { BadInputError } from "../engine/errors.js";
import { DEFAULT_VIDEO_ALIGNER } from "../engine/pipelines/a2v.js";
import { DEFAULT_JOINT_ALIGNER } from "../engine/pipelines/joint.js";
import type { A2VGenerateParams, JointGenerateParams } from "./generate-schemas.js";
import { taskRequest } from "./generate-tasks.js";
import { parseParams } from "./protocol.js";

const common = {
  pack: { kind: "bundled" },
  prompt: "a bell ringing",
  seed: 0,
  steps: 2,
  compare: true,
  previewEvery: 1,
  frames: 4,
  width: 64,
  height: 64,
  fps: 4,
} as const;

const a2v: A2VGenerateParams = {
  ...common,
  task: "a2v",
  audio: { channels: [new Float32Array(16000).fill(0.1)], sampleRate: 16000 },
  guidanceScale: 7.5,
  aligner: {
    ...DEFAULT_VIDEO_ALIGNER,
    weights: { ...DEFAULT_VIDEO_ALIGNER.weights },
    promptTuning: { ...DEFAULT_VIDEO_ALIGNER.promptTuning },
  },
};

const joint: JointGenerateParams = {
  ...common,
  task: "joint",
  guidanceScale: { audio: 2.5, video: 7.5 },
  aligner: {
    ...DEFAULT_JOINT_ALIGNER,
    lambda: { ...DEFAULT_JOINT_ALIGNER.lambda },
    weights: { ...DEFAULT_JOINT_ALIGNER.weights },
    promptTuning: { ...DEFAULT_JOINT_ALIGNER.promptTuning },
  },
};

describe("generate tasks", () => {
  it("accept A2V and joint requests at the boundary, and refuse a joint request with an A2V aligner", () => {
    expect(parseParams("generate", a2v).ok).toBe(true);
    expect(parseParams("generate", joint).ok).toBe(true);
    expect(parseParams("generate", { ...joint, aligner: a2v.aligner }).ok).toBe(false);
    expect(parseParams("generate", { ...a2v, audio: undefined }).ok).toBe(false);
  });

  it("pick the engine each task needs", () => {
    expect(taskRequest(a2v).kind).toBe("video");
    expect(taskRequest(joint).kind).toBe("joint");
  });

  it("refuse impossible requests with the pipeline's message before any engine opens", () => {
    expect(() => taskRequest({ ...joint, prompt: "  " })).toThrow(BadInputError);
    expect(() => taskRequest({ ...joint, prompt: "  " })).toThrow(/Joint generation needs a prompt/);
    expect(() =>
      taskRequest({ ...a2v, audio: { channels: [new Float32Array(0)], sampleRate: 16000 } }),
    ).toThrow(/needs an audio clip/);
    expect(() =>
      taskRequest({
        ...joint,
        aligner: { ...joint.aligner, weights: { "text-video": 0, "audio-video": 0, "text-audio": 0 } },
      }),
    ).toThrow(BadInputError);
  });
});
