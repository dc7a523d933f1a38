/**
 * The world demo presets (engine/world/demos.ts) in the studio: each task's preset, the form fields it fills in
 * (the evaluation's prompt for the task, its seed and the world's 2-s shape), and its condition as a file for the
 * path a picked file takes (commands.ts `pickInput`: decode, trim, preview, the job). The file is made from the
 * clip's seed on the main thread (engine/world/demo-media.ts: a few ms); a video's frames are encoded to MP4 by
 * the media worker's "mux" job.
 */
import type { TaskEvalSummary } from "../../engine/eval/summary.js";
import demoEval from "../../engine/world/demo-eval.json";
import { demoMedia } from "../../engine/world/demo-media.js";
import { WORLD_DEMOS, type WorldDemo } from "../../engine/world/demos.js";
import type { Commands } from "../commands.js";
import { isVideoTask, type SettingsFields, type StudioTaskId } from "./settings.js";

/** The performance measure (User Timing) of making a demo's media on the main thread, one per load. */
export const DEMO_MEASURE = "studio:demo-media";

export function demoFor(task: StudioTaskId): WorldDemo | null {
  return WORLD_DEMOS.find((d) => d.task === task) ?? null;
}

/**
 * What the evaluation measured for the task on the bundled pack (vanilla vs guided on held-out world pairs:
 * engine/world/demo-eval.json, written from eval/results by tools/eval-summary.ts), or null.
 */
export function demoEvalFor(task: StudioTaskId): TaskEvalSummary | null {
  // generated from eval/results and checked against them (tools/eval-summary.test.ts); JSON types its
  // [mean, lower, upper] triples as number[]
  const tasks = demoEval.tasks as unknown as Record<string, TaskEvalSummary | undefined>;
  return tasks[task] ?? null;
}

/** The fields a preset sets: its prompt and seed, and the output shape of the world (2 s; 16 frames of 64² at 8 fps). */
export function demoFields(d: WorldDemo): Partial<SettingsFields> {
  const shape: Partial<SettingsFields> = isVideoTask(d.task)
    ? {
        frames: String(d.video.frames),
        width: String(d.video.width),
        height: String(d.video.height),
        fps: String(d.video.fps),
      }
    : { durationS: String(d.durationS) };
  return { prompt: d.prompt, seed: String(d.seed), ...shape };
}

/** What loading the preset does, in words (the button's description). */
export function demoSummary(d: WorldDemo): string {
  const shape = isVideoTask(d.task)
    ? `${d.video.frames} frames of ${d.video.width}×${d.video.height} at ${d.video.fps} fps`
    : `${d.durationS} s of audio`;
  const sets = `the prompt "${d.prompt}", seed ${d.seed} and ${shape}`;
  return d.input
    ? `${d.title}. Makes the ${d.input.kind} of a held-out clip of the procedural world as the input, and sets ${sets}.`
    : `${d.title}. Sets ${sets}.`;
}

/** The preset's condition as a file named like the shipped asset; null for a preset without one (joint). */
export async function demoFile(
  commands: Commands,
  d: WorldDemo,
): Promise<{ file: Blob; name: string } | null> {
  const start = performance.now();
  const media = demoMedia(d);
  performance.measure(DEMO_MEASURE, { start, detail: { demo: d.id } });
  if (!media) return null;
  if (media.kind !== "video")
    return {
      file: new Blob([media.bytes as Uint8Array<ArrayBuffer>], { type: media.mimeType }),
      name: media.name,
    };
  const out = await commands.run(
    "mux",
    { video: media.frames, audioWav: null, formats: ["mp4"] },
    { label: `Demo clip: encode ${media.name}`, transfer: [media.frames.data.buffer] },
  );
  const f = out.files[0]!;
  return { file: new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: media.mimeType }), name: media.name };
}
