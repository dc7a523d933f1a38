/**
 * The "mux" job: encode one video (+ optional WAV audio) into each requested container, one after another,
 * reporting progress per container. Params and result are zod schemas because they cross the worker boundary.
 */
import { z } from "zod";
import { type JobContext, throwIfCancelled } from "../runtime/job.js";
import { bytesSchema } from "../runtime/schema.js";
import type { FfmpegHost } from "./ffmpeg.js";
import { type MuxedFile, mux } from "./mux.js";

const MuxFormatSchema = z.enum(["mp4", "webm"]);

export const MuxParamsSchema = z.object({
  video: z.discriminatedUnion("kind", [
    z.object({
      kind: z.literal("frames"),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      fps: z.number().positive(),
      data: bytesSchema(),
    }),
    z.object({
      kind: z.literal("file"),
      name: z.string().max(255),
      data: bytesSchema(),
      startS: z.number().min(0).optional(),
      durationS: z.number().positive().optional(),
      stillFps: z.number().positive().max(60).optional(),
    }),
  ]),
  audioWav: bytesSchema().nullable(),
  formats: z.array(MuxFormatSchema).min(1).max(2),
});
export type MuxParams = z.infer<typeof MuxParamsSchema>;

export const MuxResultSchema = z.object({
  files: z.array(
    z.object({
      format: MuxFormatSchema,
      mimeType: z.string(),
      fileName: z.string(),
      bytes: bytesSchema(),
      ms: z.number(),
    }),
  ),
});
export type MuxResult = z.infer<typeof MuxResultSchema>;

export async function runMuxJob(host: FfmpegHost, p: MuxParams, ctx: JobContext): Promise<MuxResult> {
  const files: (MuxedFile & { ms: number })[] = [];
  for (const format of p.formats) {
    throwIfCancelled(ctx.signal);
    const phase = `encode-${format}`;
    ctx.emit({ type: "phase", phase });
    const t0 = performance.now();
    const file = await host.use(
      (ff) => mux(ff, { video: p.video, audioWav: p.audioWav, format }, ctx.signal),
      ({ ratio }) => ctx.emit({ type: "progress", phase, done: ratio, total: 1 }),
    );
    files.push({ ...file, ms: Math.round(performance.now() - t0) });
  }
  return { files };
}
