/**
 * Demuxing MP4/MOV (ISO-BMFF, demux-mp4.ts) and WebM/Matroska (EBML, demux-webm.ts) into what WebCodecs'
 * `VideoDecoder`/`AudioDecoder` take: per track a decoder config (codec string, description bytes) and the
 * encoded chunks in decode order.
 *
 * Shapes and units:
 *  - `DemuxedChunk.timestampUs` is the presentation time in µs on the timeline ffmpeg shows: MP4 composition
 *    times shifted by the first edit (an initial empty edit delays, a `media_time` skips: AAC priming, B-frame
 *    reorder delay), Matroska block times minus `CodecDelay`. It may be negative (priming samples to drop).
 *  - `durationUs` is the chunk's duration in µs (0 where the container states none).
 *  - `data` is a view into the input bytes, not a copy.
 *  - `codec` is a WebCodecs codec string ("avc1.42E01E", "vp8", "vp09.00.10.08", "av01.0.04M.08", "mp4a.40.2",
 *    "opus"), or null for a codec this module cannot describe (the caller falls back to ffmpeg.wasm).
 *
 * Every malformed or truncated container throws `BadInputError` (never a RangeError, never a hang): each box or
 * element size is checked against its parent and the file length before anything is allocated from it.
 */
import { BadInputError } from "../errors.js";
import { demuxMp4 } from "./demux-mp4.js";
import { demuxWebm } from "./demux-webm.js";

export interface DemuxedChunk {
  key: boolean;
  timestampUs: number;
  durationUs: number;
  data: Uint8Array;
}

interface TrackBase {
  /** The container's track number (MP4 track_ID, Matroska TrackNumber). */
  id: number;
  /** WebCodecs codec string, or null when unsupported here. */
  codec: string | null;
  /** ffmpeg's name for the codec ("h264", "vp9", "aac", "opus", …) or the raw FourCC / CodecID. */
  codecName: string;
  /** `description` for the decoder config (avcC, hvcC, av1C, AudioSpecificConfig, OpusHead, Xiph headers). */
  description: Uint8Array | null;
  /** Seconds, from the container's track header (null when it states none). */
  durationS: number | null;
  chunks: DemuxedChunk[];
  /** Where the presentation ends (µs) when the container says so (MP4 edit list, Matroska DiscardPadding). */
  endUs?: number;
  /** Why WebCodecs cannot take the track although its codec is known (encrypted, a non-quarter rotation…). */
  unsupported?: string;
}

export interface DemuxedVideoTrack extends TrackBase {
  kind: "video";
  codedWidth: number;
  codedHeight: number;
  /** Clockwise display rotation in degrees (MP4 tkhd matrix), 0 for Matroska. */
  rotation: 0 | 90 | 180 | 270;
  /** Mirrored left↔right after the rotation (a tkhd matrix with a negative determinant). */
  flip: boolean;
  /**
   * YCbCr matrix and range the stream signals (MP4 colr nclx, Matroska Colour, a VP9 key frame; VP8 is always
   * BT.601); null when unsignalled (ffmpeg then assumes BT.601, limited range). H.264/HEVC VUI is not parsed.
   */
  matrix: "bt601" | "bt709" | "bt2020" | null;
  fullRange: boolean | null;
  /** Average frame rate as ffmpeg derives it (frames / summed sample durations, or 1e9 / DefaultDuration). */
  fps: number | null;
}

export interface DemuxedAudioTrack extends TrackBase {
  kind: "audio";
  sampleRate: number;
  channels: number;
}

export type DemuxedTrack = DemuxedVideoTrack | DemuxedAudioTrack;

export interface Demuxed {
  container: "mp4" | "webm";
  /** ffmpeg's demuxer name, for `MediaInfo.format` ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"). */
  format: string;
  /** Seconds (mvhd / Segment Info Duration); null when the file states none. */
  durationS: number | null;
  tracks: DemuxedTrack[];
}

/** Which container the first bytes announce, or null (not one this module reads). */
export function sniffContainer(b: Uint8Array): "mp4" | "webm" | null {
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "webm";
  if (b.length >= 8) {
    const t = String.fromCharCode(b[4]!, b[5]!, b[6]!, b[7]!);
    if (t === "ftyp" || t === "moov" || t === "mdat" || t === "free" || t === "wide" || t === "skip")
      return "mp4";
  }
  return null;
}

/** Demuxes `bytes` (MP4/MOV or WebM/Matroska); anything else or anything malformed is a `BadInputError`. */
export function demux(bytes: Uint8Array, name: string): Demuxed {
  const kind = sniffContainer(bytes);
  if (kind === "mp4") return demuxMp4(bytes, name);
  if (kind === "webm") return demuxWebm(bytes, name);
  throw new BadInputError(`"${name}" is not an MP4, MOV, WebM or Matroska file.`, { file: name });
}
