/**
 * The compare-mode cases the task tests run on the bundled pack, in Node (test/pipelines/) and in the browser's
 * engine worker (e2e/tasks.e2e.ts): the same seeds, steps and shapes, so both must measure the same losses.
 * Conditions are built by the caller (synthetic_media.ts) because they cross into the page differently.
 */
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
