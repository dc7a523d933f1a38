/**
 * Just enough MP4 (ISO BMFF) and WebM (Matroska/EBML) parsing for tests to check what a muxed file contains:
 * its tracks (type, codec, size, sample rate) and its duration, without ffprobe.
 */

export interface TrackInfo {
  type: "video" | "audio" | "other";
  codec: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  /** Seconds, when the container states it per track. */
  duration?: number;
}

export interface ContainerInfo {
  /** Seconds. */
  duration: number;
  tracks: TrackInfo[];
}

// --- MP4 ------------------------------------------------------------------------------------------------------

interface Box {
  type: string;
  start: number; // payload start
  end: number;
}

function boxes(v: DataView, start: number, end: number): Box[] {
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = v.getUint32(at);
    const type = String.fromCharCode(
      v.getUint8(at + 4),
      v.getUint8(at + 5),
      v.getUint8(at + 6),
      v.getUint8(at + 7),
    );
    let header = 8;
    if (size === 1) {
      size = Number(v.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) throw new Error(`MP4 box "${type}" at ${at} overruns its parent`);
    out.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return out;
}

function child(v: DataView, parent: Box, type: string): Box {
  const b = boxes(v, parent.start, parent.end).find((x) => x.type === type);
  if (!b) throw new Error(`MP4 box "${parent.type}" has no "${type}"`);
  return b;
}

/** mvhd/mdhd: [timescale, duration] for version 0 and 1 full boxes. */
function timing(v: DataView, b: Box): [number, number] {
  const version = v.getUint8(b.start);
  return version === 1
    ? [v.getUint32(b.start + 20), Number(v.getBigUint64(b.start + 24))]
    : [v.getUint32(b.start + 12), v.getUint32(b.start + 16)];
}

export function parseMp4(bytes: Uint8Array): ContainerInfo {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = boxes(v, 0, bytes.byteLength);
  if (top[0]?.type !== "ftyp") throw new Error("not an MP4 file (no leading ftyp box)");
  const moov = top.find((b) => b.type === "moov");
  if (!moov) throw new Error("MP4 has no moov box");
  const [scale, dur] = timing(v, child(v, moov, "mvhd"));
  const tracks = boxes(v, moov.start, moov.end)
    .filter((b) => b.type === "trak")
    .map((trak): TrackInfo => {
      const mdia = child(v, trak, "mdia");
      const [tScale, tDur] = timing(v, child(v, mdia, "mdhd"));
      const hdlr = child(v, mdia, "hdlr");
      const handler = String.fromCharCode(...bytes.subarray(hdlr.start + 8, hdlr.start + 12));
      const stsd = child(v, child(v, child(v, mdia, "minf"), "stbl"), "stsd");
      const entry = boxes(v, stsd.start + 8, stsd.end)[0];
      if (!entry) throw new Error("MP4 track has an empty stsd");
      const info: TrackInfo = {
        type: handler === "vide" ? "video" : handler === "soun" ? "audio" : "other",
        codec: entry.type,
        duration: tDur / tScale,
      };
      // SampleEntry: 6 reserved + 2 data_reference_index, then the visual/audio fields.
      if (info.type === "video") {
        info.width = v.getUint16(entry.start + 24);
        info.height = v.getUint16(entry.start + 26);
      } else if (info.type === "audio") info.sampleRate = v.getUint32(entry.start + 24) >>> 16;
      return info;
    });
  return { duration: dur / scale, tracks };
}

// --- WebM -----------------------------------------------------------------------------------------------------

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackType: 0x83,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
} as const;

interface Element {
  id: number;
  start: number;
  end: number;
}

function vint(
  bytes: Uint8Array,
  at: number,
  keepMarker: boolean,
): { value: number; length: number; unknown: boolean } {
  const first = bytes[at]!;
  let length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
  if (length > 8) throw new Error(`invalid EBML varint at ${at}`);
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = (first & (0xff >> length)) === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[at + i]!;
    if (bytes[at + i] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function elements(bytes: Uint8Array, start: number, end: number): Element[] {
  const out: Element[] = [];
  let at = start;
  while (at < end) {
    const id = vint(bytes, at, true);
    const size = vint(bytes, at + id.length, false);
    const body = at + id.length + size.length;
    const stop = size.unknown ? end : body + size.value;
    if (stop > end) throw new Error(`EBML element 0x${id.value.toString(16)} overruns its parent`);
    out.push({ id: id.value, start: body, end: stop });
    at = stop;
  }
  return out;
}

const find = (bytes: Uint8Array, parent: Element, id: number) =>
  elements(bytes, parent.start, parent.end).find((e) => e.id === id);

function uint(bytes: Uint8Array, e: Element): number {
  let v = 0;
  for (let i = e.start; i < e.end; i++) v = v * 256 + bytes[i]!;
  return v;
}

function float(bytes: Uint8Array, e: Element): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + e.start, e.end - e.start);
  return e.end - e.start === 4 ? v.getFloat32(0) : v.getFloat64(0);
}

const text = (bytes: Uint8Array, e: Element) =>
  new TextDecoder().decode(bytes.subarray(e.start, e.end)).replace(/\0+$/, "");

export function parseWebm(bytes: Uint8Array): ContainerInfo & { docType: string } {
  const top = elements(bytes, 0, bytes.byteLength);
  const ebml = top[0];
  if (ebml?.id !== ID.EBML) throw new Error("not an EBML file");
  const docTypeEl = find(bytes, ebml, ID.DocType);
  const docType = docTypeEl ? text(bytes, docTypeEl) : "matroska";
  const segment = top.find((e) => e.id === ID.Segment);
  if (!segment) throw new Error("WebM has no Segment");
  const info = find(bytes, segment, ID.Info);
  if (!info) throw new Error("WebM has no Info");
  const scaleEl = find(bytes, info, ID.TimecodeScale);
  const durEl = find(bytes, info, ID.Duration);
  if (!durEl) throw new Error("WebM Info has no Duration");
  const scale = scaleEl ? uint(bytes, scaleEl) : 1_000_000;
  const tracksEl = find(bytes, segment, ID.Tracks);
  if (!tracksEl) throw new Error("WebM has no Tracks");
  const tracks = elements(bytes, tracksEl.start, tracksEl.end)
    .filter((e) => e.id === ID.TrackEntry)
    .map((t): TrackInfo => {
      const typeEl = find(bytes, t, ID.TrackType);
      const codecEl = find(bytes, t, ID.CodecID);
      const kind = typeEl ? uint(bytes, typeEl) : 0;
      const info: TrackInfo = {
        type: kind === 1 ? "video" : kind === 2 ? "audio" : "other",
        codec: codecEl ? text(bytes, codecEl) : "",
      };
      const video = find(bytes, t, ID.Video);
      if (video) {
        const w = find(bytes, video, ID.PixelWidth);
        const h = find(bytes, video, ID.PixelHeight);
        if (w) info.width = uint(bytes, w);
        if (h) info.height = uint(bytes, h);
      }
      const audio = find(bytes, t, ID.Audio);
      const sr = audio && find(bytes, audio, ID.SamplingFrequency);
      if (sr) info.sampleRate = float(bytes, sr);
      return info;
    });
  return { docType, duration: (float(bytes, durEl) * scale) / 1e9, tracks };
}
