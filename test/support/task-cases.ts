/**
 * The compare-mode cases the task tests run on the bundled pack, in Node (test/pipelines/) and in the browser's
 * engine worker (e2e/tasks.e2e.ts): the same seeds, steps and shapes, so both must measure the same losses.
 * The e2e builds its conditions itself (they cross into the page as plain arrays); the Node tests use the
 * request builders below.
 */
import { type A2VRequest, DEFAULT_VIDEO_ALIGNER } from "../../src/engine/pipelines/a2v.js";
import { type AudioRequest, DEFAULT_AUDIO_ALIGNER } from "../../src/engine/pipelines/audio_task.js";
import { DEFAULT_JOINT_ALIGNER, type JointRequest } from "../../src/engine/pipelines/joint.js";
import { gatedStereoClip, movingSquareVideo } from "./synthetic_media.js";
export const V2A_CASE = Object.freeze({
  prompt: "a red ball bouncing",
  seed: 7,
  steps: 8,
  guidanceScale: 2.5,
  /** movingSquareVideo(seconds, fps) */
  video: { seconds: 2, fps: 4 },
});

export const A2V_CASE = Object.freeze({
  prompt: "a dog barking",
  frames: 4,
  height: 64,
  width: 64,
  fps: 4,
  seed: 3,
  steps: 6,
  guidanceScale: 7.5,
});

/** V2A_CASE as an engine request (compare mode, the default aligner, the moving-square video). */
export function v2aRequest(over: Partial<AudioRequest> = {}): AudioRequest {
  return {
    task: "v2a",
    prompt: V2A_CASE.prompt,
    seed: V2A_CASE.seed,
    steps: V2A_CASE.steps,
    guidanceScale: V2A_CASE.guidanceScale,
    aligner: {
      ...DEFAULT_AUDIO_ALIGNER,
      weights: { ...DEFAULT_AUDIO_ALIGNER.weights },
      promptTuning: { ...DEFAULT_AUDIO_ALIGNER.promptTuning },
    },
    compare: true,
    video: movingSquareVideo(V2A_CASE.video.seconds, V2A_CASE.video.fps),
    ...over,
  };
}

/** A2V_CASE as an engine request (compare mode, the default aligner, the gated stereo clip). */
export function a2vRequest(over: Partial<A2VRequest> = {}): A2VRequest {
  return {
    audio: gatedStereoClip(),
    ...A2V_CASE,
    aligner: {
      ...DEFAULT_VIDEO_ALIGNER,
      weights: { ...DEFAULT_VIDEO_ALIGNER.weights },
      promptTuning: { ...DEFAULT_VIDEO_ALIGNER.promptTuning },
    },
    compare: true,
    ...over,
  };
}

/** The joint case: 4 frames of 64² at 4 fps and 1 s of audio, 4 steps, compare mode, the default aligner. */
export function jointRequest(over: Partial<JointRequest> = {}): JointRequest {
  return {
    prompt: "a dog barking in a park",
    frames: 4,
    height: 64,
    width: 64,
    fps: 4,
    seed: 3,
    steps: 4,
    guidanceScale: { audio: 2.5, video: 7.5 },
    aligner: {
      ...DEFAULT_JOINT_ALIGNER,
      weights: { ...DEFAULT_JOINT_ALIGNER.weights },
      lambda: { ...DEFAULT_JOINT_ALIGNER.lambda },
      promptTuning: { ...DEFAULT_JOINT_ALIGNER.promptTuning },
    },
    compare: true,
    ...over,
  };
}
