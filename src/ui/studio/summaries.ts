/** One-line summaries of the studio's jobs for the job list (System view). */
import type { JobResult } from "../../workers/protocol.js";

type StudioJob = "generate" | "engine-memory" | "decode" | "av-align";

const fmt = (x: number) => x.toFixed(3);

export const studioSummaries: { [J in StudioJob]: (r: JobResult<J>) => string } = {
  generate: (r) =>
    `${r.task} on ${r.packId}: ${Object.entries(r.runs)
      .map(([k, v]) => `${k} loss ${fmt(v.loss)}`)
      .join(", ")} · ${(r.runMs / 1000).toFixed(1)} s`,
  "engine-memory": (r) => `${r.numTensors} tensors, ${(r.numBytes / 2 ** 20).toFixed(1)} MiB`,
  decode: (r) =>
    r.kind === "video"
      ? `${r.frames.numFrames} frames ${r.frames.width}×${r.frames.height} @ ${r.frames.fps} fps`
      : r.kind === "image"
        ? `image ${r.image.width}×${r.image.height}`
        : `${r.channels.length} ch @ ${r.sampleRate} Hz, ${r.durationS.toFixed(2)} s`,
  "av-align": (r) => r.results.map((x) => `${x.name} ${x.iou === null ? "n/a" : fmt(x.iou)}`).join(", "),
};
