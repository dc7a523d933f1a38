/**
 * Per-pair metrics shared by the world evaluation and the real-media mode: AV-align of an (audio, video) pair
 * (src/engine/metrics, SPEC §6.3), and the independent evaluators' outputs for the sides that were generated.
 */
import { argmax, type EvaluatorOut, type PairResult } from "../../src/engine/eval/table.js";
import { avAlignFile } from "../../src/engine/metrics/index.js";
import { className } from "../../src/engine/world/spec.js";
import type { Evaluators } from "./evaluators.js";
import type { Media, TaskOutput } from "./tasks.js";

export function frameList(v: Media["video"], channels: 3 | 4 = 3): Uint8Array[] {
  const n = v.width * v.height * channels;
  return Array.from({ length: v.numFrames }, (_, i) => v.data.subarray(i * n, (i + 1) * n));
}

/** AV-align IoU of a pair (NaN when neither side has a peak). */
export function avAlignOf(m: Media): number {
  return avAlignFile(
    { channels: m.audio.samples, sampleRate: m.audio.sampleRate },
    {
      frames: frameList(m.video),
      width: m.video.width,
      height: m.video.height,
      fps: m.video.fps,
      order: "rgb",
    },
  ).iou;
}

/** The evaluators' top class ("blue drum") per modality they scored. */
export function topClasses(r: { audio?: EvaluatorOut; video?: EvaluatorOut }): {
  audio?: string;
  video?: string;
} {
  return {
    ...(r.audio ? { audio: className(argmax(r.audio.probs)) } : {}),
    ...(r.video ? { video: className(argmax(r.video.probs)) } : {}),
  };
}

export async function evaluate(
  ev: Evaluators,
  m: Media,
  which: { audio: boolean; video: boolean },
): Promise<{ audio?: EvaluatorOut; video?: EvaluatorOut }> {
  return {
    audio: which.audio ? await ev.audio(m.audio.samples, m.audio.sampleRate) : undefined,
    video: which.video
      ? await ev.video(m.video.data, m.video.numFrames, m.video.height, m.video.width)
      : undefined,
  };
}

export async function pairResult(
  index: number,
  seed: number,
  out: TaskOutput,
  ev: Evaluators,
): Promise<PairResult> {
  return {
    index,
    seed,
    avAlign: avAlignOf(out.media),
    bind: out.bind,
    ...(await evaluate(ev, out.media, out.generated)),
  };
}
