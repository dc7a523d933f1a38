/**
 * The media worker: muxing and encoding with ffmpeg.wasm (which runs its core in a nested worker that
 * `FfmpegHost` terminates and recreates after any error or cancellation).
 */
import "./csp.js";
import { FfmpegHost } from "../engine/media/ffmpeg.js";
import { runMuxJob } from "../engine/media/mux-job.js";
import { hostJobs } from "./host.js";
import { mediaJobs } from "./media-jobs.js";
import { dedicatedWorkerScope, vendorUrl } from "./scope.js";

const vendor = vendorUrl();
const ffmpeg = new FfmpegHost({
  coreURL: `${vendor}ffmpeg/ffmpeg-core.js`,
  wasmURL: `${vendor}ffmpeg/ffmpeg-core.wasm`,
});

hostJobs(dedicatedWorkerScope(), "media", {
  ...mediaJobs(ffmpeg),
  mux: async (params, ctx) => {
    const result = await runMuxJob(ffmpeg, params, ctx);
    ctx.transfer(...result.files.map((f) => f.bytes.buffer as ArrayBuffer));
    return result;
  },
});
