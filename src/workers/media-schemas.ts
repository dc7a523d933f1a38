/**
 * zod schemas of the media worker's studio jobs (apart from their handlers, so the UI imports no decoder):
 *  - "decode": a picked file → RGB24 video frames at the source fps / one RGB image / float PCM per channel,
 *    trimmed to the model's duration (media/decode.ts; through WebCodecs where it can: media/webcodecs.ts for
 *    images, media/webcodecs-av.ts for MP4/WebM video and audio);
 *  - "av-align": AV-align (onsets + Farnebäck flow, metrics/av_align.ts) of one video against several audios.
 */
import { z } from "zod";
import { bytesSchema, float32Schema } from "../engine/runtime/schema.js";
import { VideoFramesSchema } from "./generate-schemas.js";

const blobSchema = z.custom<Blob>((v) => typeof Blob !== "undefined" && v instanceof Blob, {
  message: "expected a File or Blob",
});

export const DecodeKind = { Video: "video", Image: "image", Audio: "audio" } as const;

export const DecodeParamsSchema = z.object({
  kind: z.enum([DecodeKind.Video, DecodeKind.Image, DecodeKind.Audio]),
  /** File name (its extension is a hint to ffmpeg's demuxer). */
  name: z.string().min(1).max(255),
  file: blobSchema,
  startS: z.number().min(0).optional(),
  durationS: z.number().positive().max(600).optional(),
  /** Video frames over this many bytes are scaled down (default 512 MiB). */
  maxBytes: z
    .number()
    .int()
    .positive()
    .max(2 ** 31)
    .optional(),
  /** "auto" decodes with WebCodecs where the browser can (else ffmpeg.wasm); "ffmpeg.wasm" forces it. */
  decoder: z.enum(["auto", "ffmpeg.wasm"]).optional(),
});
export type DecodeParams = z.infer<typeof DecodeParamsSchema>;

const mediaInfo = z.object({
  format: z.string(),
  durationS: z.number().nullable(),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  /** What decoded the file (shown with the input's facts): WebCodecs or ffmpeg.wasm. */
  decoder: z.enum(["webcodecs", "ffmpeg.wasm"]),
  /** Set when WebCodecs was tried and failed, so ffmpeg.wasm decoded the file: why. */
  fallback: z.string().optional(),
});

export const DecodeResultSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("video"),
    frames: VideoFramesSchema,
    durationS: z.number(),
    sourceDurationS: z.number(),
    scaledFrom: z.object({ width: z.number(), height: z.number() }).nullable(),
    info: mediaInfo,
  }),
  z.object({
    kind: z.literal("image"),
    image: z.object({ data: bytesSchema(), width: z.number().int(), height: z.number().int() }),
    info: mediaInfo,
  }),
  z.object({
    kind: z.literal("audio"),
    channels: z.array(float32Schema()).min(1),
    sampleRate: z.number().int().positive(),
    durationS: z.number(),
    sourceDurationS: z.number(),
    info: mediaInfo,
  }),
]);
export type DecodeResult = z.infer<typeof DecodeResultSchema>;

/** One video shared by every audio (V2A), or a video per item (A2V, joint: the generated frames). */
export const AvAlignParamsSchema = z.object({
  video: VideoFramesSchema.optional(),
  audios: z
    .array(
      z.object({
        name: z.string(),
        waveform: float32Schema(),
        sampleRate: z.number().int().positive(),
        video: VideoFramesSchema.optional(),
      }),
    )
    .min(1)
    .max(8),
});
export type AvAlignParams = z.infer<typeof AvAlignParamsSchema>;

export const AvAlignResultSchema = z.object({
  results: z.array(
    z.object({
      name: z.string(),
      videoPeaks: z.array(z.number()),
      /** IoU of audio and video peaks; null when both lists are empty (the reference divides by zero). */
      iou: z.number().nullable(),
      audioPeaks: z.array(z.number()),
    }),
  ),
  /** How closely this port matches the released numbers (metrics/av_align.ts AV_ALIGN_FIDELITY). */
  fidelity: z.string(),
});
export type AvAlignResult = z.infer<typeof AvAlignResultSchema>;
