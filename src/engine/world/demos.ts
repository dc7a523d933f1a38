/**
 * The studio's "demo" presets (issue 9): one held-out world clip per task, shipped in public/demos/world/ (written
 * by tools/world-demos.ts, deterministic) so a fresh clone shows the method on data the bundled models were
 * trained for. Paths are relative to the app's base URL. Plain data: the UI wires it to its task forms.
 *
 * Each demo has a `reference`: the real clip with picture and sound, to compare against the generated half.
 */
/** The tasks a world demo preset exists for. */
export type WorldDemoTask = "v2a" | "i2a" | "a2v" | "joint";

export interface WorldDemo {
  task: WorldDemoTask;
  id: string;
  title: string;
  /** The prompt the preset fills in (the evaluation's prompt for this task: SPEC §1.3 vanilla captions). */
  prompt: string;
  /** The condition input, when the task takes one. */
  input: { kind: "video" | "image" | "audio"; path: string; mimeType: string } | null;
  /** The real clip (MP4 with sound). */
  reference: string;
  /** Output settings matching the world: 2 s; video 16 frames of 64×64 at 8 fps. */
  durationS: number;
  video: { frames: number; width: number; height: number; fps: number };
  seed: number;
  /** World seed of the clip (SPLITS.heldOut). */
  clipSeed: number;
  /** The clip's full caption. */
  caption: string;
  /** What a user should see/hear when the guidance works. */
  expect: string;
}

const BASE = "demos/world/";
const VIDEO = { frames: 16, width: 64, height: 64, fps: 8 } as const;

export const WORLD_DEMOS: readonly WorldDemo[] = Object.freeze([
  {
    task: "v2a",
    id: "world-v2a-blue-drum",
    title: "Demo: a blue drum (video → audio)",
    prompt: "a blue drum",
    input: { kind: "video", path: `${BASE}v2a-blue-drum.mp4`, mimeType: "video/mp4" },
    reference: `${BASE}v2a-blue-drum.reference.mp4`,
    durationS: 2,
    video: VIDEO,
    seed: 0,
    clipSeed: 1_000_090_008,
    caption: "a blue drum beating four times",
    expect: "drum hits (a short tone with a snare rattle) at the blue drum's four swells",
  },
  {
    task: "i2a",
    id: "world-i2a-red-bell",
    title: "Demo: a red bell (image → audio)",
    prompt: "a red bell",
    input: { kind: "image", path: `${BASE}i2a-red-bell.png`, mimeType: "image/png" },
    reference: `${BASE}i2a-red-bell.reference.mp4`,
    durationS: 2,
    video: VIDEO,
    seed: 0,
    clipSeed: 1_000_090_020,
    caption: "a red bell ringing twice",
    expect: "a low bell (red is the lowest pitch) with a long ringing decay",
  },
  {
    task: "a2v",
    id: "world-a2v-yellow-bird",
    title: "Demo: a bird's chirps (audio → video)",
    prompt: "a bird chirping twice",
    input: { kind: "audio", path: `${BASE}a2v-yellow-bird.wav`, mimeType: "audio/wav" },
    reference: `${BASE}a2v-yellow-bird.reference.mp4`,
    durationS: 2,
    video: VIDEO,
    seed: 0,
    clipSeed: 1_000_090_017,
    caption: "a yellow bird chirping twice",
    expect: "a bird on the floor that hops at the chirps; the pitch says yellow, which the prompt does not",
  },
  {
    task: "joint",
    id: "world-joint-red-ball",
    title: "Demo: a red ball bouncing (text → video + audio)",
    prompt: "a red ball bouncing three times",
    input: null,
    reference: `${BASE}joint-red-ball.reference.mp4`,
    durationS: 2,
    video: VIDEO,
    // of seeds 0–5 on the 2026-11-26 pack, the only one whose video draws the ball (vanilla and guided alike);
    // the other five show the empty floor: the small SD side draws a lone ball faintly (docs/eval.md, demos)
    seed: 2,
    clipSeed: 1_000_090_004,
    caption: "a red ball bouncing three times",
    expect:
      "a red ball on the floor, flickering at its bounces more than moving, and a ball's thump in the sound",
  },
]);
