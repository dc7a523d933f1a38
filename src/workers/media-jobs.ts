/**
 * The media worker's studio jobs: input decoding (images, and MP4/WebM video and audio, through WebCodecs where
 * the browser can; everything else and any WebCodecs failure with ffmpeg.wasm) and AV-align. Farnebäck flow runs
 * on this worker's thread, so the trajectory yields after every frame and the heartbeat keeps flowing on long
 * inputs.
 */
import { BadInputError, CancelledError } from "../engine/errors.js";
import {
  checkInputSize,
  decodeAudio,
  decodeImage,
  decodeVideo,
  type MediaInfo,
} from "../engine/media/decode.js";
import type { FfmpegHost } from "../engine/media/ffmpeg.js";
import {
  decodeImagePreferWebCodecs,
  InputDecoder,
  type InputDecoderType,
} from "../engine/media/webcodecs.js";
import { decodeAudioPreferWebCodecs, decodeVideoPreferWebCodecs } from "../engine/media/webcodecs-av.js";
import {
  AV_ALIGN_FIDELITY,
  detectAudioPeaks,
  FlowTrajectory,
  findLocalMaxTimes,
  peaksIoU,
} from "../engine/metrics/av_align.js";
import type { VideoFramesMsg } from "./generate-schemas.js";
import type { HostJobContext } from "./host.js";
import type { AvAlignParams, AvAlignResult, DecodeParams, DecodeResult } from "./media-schemas.js";

const infoOf = (i: MediaInfo, decoder: InputDecoderType = InputDecoder.Ffmpeg, fallback?: string | null) => ({
  format: i.format,
  durationS: i.durationS,
  hasAudio: i.audio !== null,
  hasVideo: i.video !== null,
  decoder,
  ...(fallback ? { fallback } : {}),
});

const yieldToLoop = () => new Promise<void>((r) => setTimeout(r, 0));

export function mediaJobs(ffmpeg: FfmpegHost) {
  return {
    decode: async (p: DecodeParams, ctx: HostJobContext): Promise<DecodeResult> => {
      ctx.emit({ type: "phase", phase: "decoding", message: p.name });
      checkInputSize(p.name, p.file.size); // before reading a multi-gigabyte file into memory
      const data = new Uint8Array(await p.file.arrayBuffer());
      const trim = { startS: p.startS, durationS: p.durationS, signal: ctx.signal };
      const progress = ({ ratio }: { ratio: number }) =>
        ctx.emit({ type: "progress", phase: "decoding", done: ratio, total: 1 });
      if (p.kind === "image") {
        // outside `ffmpeg.use`: a WebCodecs decode never loads the ffmpeg core
        const img = await decodeImagePreferWebCodecs(p.name, data, {
          prefer: p.decoder,
          signal: ctx.signal,
          log: (level, message) => ctx.emit({ type: "log", level, message }),
          ffmpeg: () => ffmpeg.use((ff) => decodeImage(ff, p.name, data, { signal: ctx.signal }), progress),
        });
        const pixels = img.data.slice(); // own buffer, so only the pixels are transferred
        ctx.transfer(pixels.buffer);
        return {
          kind: "image",
          image: { data: pixels, width: img.width, height: img.height },
          info: infoOf(img.info, img.decoder, img.fallback),
        };
      }
      // outside `ffmpeg.use` too: a WebCodecs decode never loads the ffmpeg core
      const prefer = {
        prefer: p.decoder,
        signal: ctx.signal,
        log: (level: "info" | "warn", message: string) => ctx.emit({ type: "log", level, message }),
        onProgress: (ratio: number) => progress({ ratio }),
      };
      if (p.kind === "video") {
        const v = await decodeVideoPreferWebCodecs(
          p.name,
          data,
          { startS: p.startS, durationS: p.durationS, maxBytes: p.maxBytes },
          {
            ...prefer,
            ffmpeg: () =>
              ffmpeg.use((ff) => decodeVideo(ff, p.name, data, { ...trim, maxBytes: p.maxBytes }), progress),
          },
        );
        ctx.transfer(v.data.buffer as ArrayBuffer);
        const { data: frames, numFrames, width, height, fps } = v;
        return {
          kind: "video",
          frames: { data: frames, numFrames, width, height, fps },
          durationS: v.durationS,
          sourceDurationS: v.sourceDurationS,
          scaledFrom: v.scaledFrom,
          info: infoOf(v.info, v.decoder, v.fallback),
        };
      }
      const a = await decodeAudioPreferWebCodecs(
        p.name,
        data,
        { startS: p.startS, durationS: p.durationS },
        { ...prefer, ffmpeg: () => ffmpeg.use((ff) => decodeAudio(ff, p.name, data, trim), progress) },
      );
      ctx.transfer(...a.channels.map((c) => c.buffer as ArrayBuffer));
      return {
        kind: "audio",
        channels: a.channels,
        sampleRate: a.sampleRate,
        durationS: a.durationS,
        sourceDurationS: a.sourceDurationS,
        info: infoOf(a.info, a.decoder, a.fallback),
      };
    },

    "av-align": async (p: AvAlignParams, ctx: HostJobContext): Promise<AvAlignResult> => {
      const peaksOf = new Map<VideoFramesMsg, number[]>();
      const videoPeaks = async (v: VideoFramesMsg): Promise<number[]> => {
        const known = peaksOf.get(v);
        if (known) return known;
        const { data, numFrames, width, height, fps } = v;
        ctx.emit({ type: "phase", phase: "optical flow" });
        const flow = new FlowTrajectory(width, height, "rgb");
        const frameBytes = width * height * 3;
        for (let f = 0; f < numFrames; f++) {
          if (ctx.signal.aborted) throw new CancelledError();
          flow.push(data.subarray(f * frameBytes, (f + 1) * frameBytes));
          ctx.emit({ type: "progress", phase: "optical flow", done: f + 1, total: numFrames });
          await yieldToLoop();
        }
        const peaks = findLocalMaxTimes(flow.trajectory, fps);
        peaksOf.set(v, peaks);
        return peaks;
      };
      const results: AvAlignResult["results"] = [];
      for (const a of p.audios) {
        const video = a.video ?? p.video;
        if (!video) throw new BadInputError(`AV-align of "${a.name}" needs a video: none was given.`);
        const vPeaks = await videoPeaks(video);
        if (ctx.signal.aborted) throw new CancelledError();
        ctx.emit({ type: "phase", phase: "onsets" });
        const audioPeaks = detectAudioPeaks({ channels: a.waveform, sampleRate: a.sampleRate });
        const iou = peaksIoU(audioPeaks, vPeaks, video.fps);
        results.push({ name: a.name, videoPeaks: vPeaks, iou: Number.isNaN(iou) ? null : iou, audioPeaks });
        await yieldToLoop();
      }
      return { results, fidelity: `${AV_ALIGN_FIDELITY.status}: ${AV_ALIGN_FIDELITY.reasons.join("; ")}` };
    },
  };
}
