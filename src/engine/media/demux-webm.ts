/**
 * WebM/Matroska (EBML, RFC 8794 / RFC 9559) → tracks and encoded chunks for WebCodecs (shapes and units: demux.ts).
 *
 * Reads the EBML header (DocType "webm" or "matroska"), Segment/Info (TimecodeScale, Duration), Tracks/TrackEntry
 * (TrackNumber, TrackType, CodecID, CodecPrivate, DefaultDuration, CodecDelay, Video PixelWidth/Height, Audio
 * SamplingFrequency/Channels) and every Cluster (Timecode, SimpleBlock, BlockGroup with Block, BlockDuration,
 * ReferenceBlock, DiscardPadding). Xiph, EBML and fixed-size lacing are split into one chunk per frame. Segments
 * and Clusters of unknown size (MediaRecorder's live WebM) are read up to the next top-level element. Tracks with
 * ContentEncodings (compression, encryption) are marked unsupported. Codecs: V_VP8, V_VP9, V_AV1,
 * V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC, A_OPUS, A_VORBIS, A_AAC, A_FLAC, A_MPEG/L3.
 *
 * Timestamps: (Cluster Timecode + Block offset) × TimecodeScale − CodecDelay, so an Opus stream's pre-skip lands
 * before 0 as in ffmpeg. Every element size is checked against its parent and the file length.
 */
import type { Demuxed, DemuxedChunk, DemuxedTrack } from "./demux.js";
import {
  av1Codec,
  avcCodec,
  hevcCodec,
  malformed,
  matrixFromCode,
  opusPacketSamples,
  parseAudioSpecificConfig,
  vp9CodecFromFrame,
  vp9ColorFromFrame,
} from "./demux-codecs.js";

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  DefaultDuration: 0x23e383,
  CodecDelay: 0x56aa,
  ContentEncodings: 0x6d80,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Colour: 0x55b0,
  MatrixCoefficients: 0x55b1,
  Range: 0x55b9,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  ReferenceBlock: 0xfb,
  DiscardPadding: 0x75a2,
  Cues: 0x1c53bb6b,
  Chapters: 0x1043a770,
  Tags: 0x1254c367,
  Attachments: 0x1941a469,
} as const;

/** Elements that end an unknown-size Cluster (the Segment's children, and a next EBML header or Segment). */
const LEVEL1: ReadonlySet<number> = new Set([
  ID.SeekHead,
  ID.Info,
  ID.Tracks,
  ID.Cluster,
  ID.Cues,
  ID.Chapters,
  ID.Tags,
  ID.Attachments,
  ID.EBML,
  ID.Segment,
]);

interface El {
  id: number;
  at: number;
  start: number;
  end: number;
}

class Reader {
  constructor(
    readonly b: Uint8Array,
    readonly name: string,
  ) {}

  fail(what: string, at: number): never {
    throw malformed(this.name, "WebM", what, at);
  }

  /** A variable-length integer: an element ID (marker kept, ≤ 4 bytes) or a size (marker removed, ≤ 8). */
  vint(at: number, end: number, id: boolean): { value: number; length: number; unknown: boolean } {
    if (at >= end) this.fail("an element header past its parent", at);
    const first = this.b[at]!;
    let length = 1;
    while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
    if (length > (id ? 4 : 8)) this.fail(`an invalid ${id ? "element ID" : "size"}`, at);
    if (at + length > end) this.fail("an element header past its parent", at);
    const mask = 0xff >> length;
    let value = id ? first : first & mask;
    let ones = (first & mask) === mask;
    for (let i = 1; i < length; i++) {
      const byte = this.b[at + i]!;
      value = value * 256 + byte;
      if (byte !== 0xff) ones = false;
    }
    return { value, length, unknown: !id && ones };
  }

  /** Children of [start, end); an unknown-size child runs to `end`, or for a Cluster to the next level-1 ID. */
  elements(start: number, end: number): El[] {
    const out: El[] = [];
    let at = start;
    while (at < end) {
      const id = this.vint(at, end, true);
      const size = this.vint(at + id.length, end, false);
      const body = at + id.length + size.length;
      let stop: number;
      if (size.unknown) stop = id.value === ID.Cluster ? this.clusterEnd(body, end) : end;
      else {
        if (size.value > end - body)
          this.fail(`element 0x${id.value.toString(16)} overrunning its parent`, at);
        stop = body + size.value;
      }
      out.push({ id: id.value, at, start: body, end: stop });
      at = stop;
    }
    return out;
  }

  /** Where a Cluster of unknown size ends: at the first child that is a level-1 element, or at `end`. */
  private clusterEnd(start: number, end: number): number {
    let at = start;
    while (at < end) {
      const id = this.vint(at, end, true);
      if (LEVEL1.has(id.value)) return at;
      const size = this.vint(at + id.length, end, false);
      const body = at + id.length + size.length;
      if (size.unknown || size.value > end - body)
        this.fail(`element 0x${id.value.toString(16)} overrunning its Cluster`, at);
      at = body + size.value;
    }
    return end;
  }

  uint(e: El): number {
    if (e.end - e.start > 8) this.fail("an integer wider than 8 bytes", e.at);
    let v = 0;
    for (let i = e.start; i < e.end; i++) v = v * 256 + this.b[i]!;
    return v;
  }

  int(e: El): number {
    const u = this.uint(e);
    const bits = 8 * (e.end - e.start);
    return bits > 0 && u >= 2 ** (bits - 1) ? u - 2 ** bits : u;
  }

  float(e: El): number {
    const n = e.end - e.start;
    if (n === 0) return 0;
    if (n !== 4 && n !== 8) this.fail("a float that is neither 4 nor 8 bytes", e.at);
    const v = new DataView(this.b.buffer, this.b.byteOffset + e.start, n);
    return n === 4 ? v.getFloat32(0) : v.getFloat64(0);
  }

  text(e: El): string {
    return String.fromCharCode(...this.b.subarray(e.start, Math.min(e.end, e.start + 64))).replace(
      /\0+$/,
      "",
    );
  }
}

interface TrackDraft {
  number: number;
  type: number;
  codecId: string;
  priv: Uint8Array | null;
  defaultDurationNs: number;
  codecDelayNs: number;
  encoded: boolean;
  width: number;
  height: number;
  /** Colour/MatrixCoefficients (2 = unspecified) and Range (0 unspecified, 1 broadcast, 2 full). */
  matrixCode: number;
  range: number;
  sampleRate: number;
  channels: number;
  chunks: DemuxedChunk[];
  /** DiscardPadding of the last block that had one (ns) and that block's index. */
  padding: { ns: number; index: number } | null;
}

function trackEntry(r: Reader, t: El): TrackDraft {
  const d: TrackDraft = {
    number: 0,
    type: 0,
    codecId: "",
    priv: null,
    defaultDurationNs: 0,
    codecDelayNs: 0,
    encoded: false,
    width: 0,
    height: 0,
    matrixCode: 2,
    range: 0,
    sampleRate: 8000, // Matroska's default SamplingFrequency
    channels: 1,
    chunks: [],
    padding: null,
  };
  for (const e of r.elements(t.start, t.end)) {
    if (e.id === ID.TrackNumber) d.number = r.uint(e);
    else if (e.id === ID.TrackType) d.type = r.uint(e);
    else if (e.id === ID.CodecID) d.codecId = r.text(e);
    else if (e.id === ID.CodecPrivate) d.priv = r.b.subarray(e.start, e.end);
    else if (e.id === ID.DefaultDuration) d.defaultDurationNs = r.uint(e);
    else if (e.id === ID.CodecDelay) d.codecDelayNs = r.uint(e);
    else if (e.id === ID.ContentEncodings) d.encoded = true;
    else if (e.id === ID.Video)
      for (const v of r.elements(e.start, e.end)) {
        if (v.id === ID.PixelWidth) d.width = r.uint(v);
        else if (v.id === ID.PixelHeight) d.height = r.uint(v);
        else if (v.id === ID.Colour)
          for (const c of r.elements(v.start, v.end)) {
            if (c.id === ID.MatrixCoefficients) d.matrixCode = r.uint(c);
            else if (c.id === ID.Range) d.range = r.uint(c);
          }
      }
    else if (e.id === ID.Audio)
      for (const a of r.elements(e.start, e.end)) {
        if (a.id === ID.SamplingFrequency) d.sampleRate = r.float(a);
        else if (a.id === ID.Channels) d.channels = r.uint(a);
      }
  }
  return d;
}

/** Frame sizes of a laced block's payload starting at `at` (RFC 9559 §10.3), checked against `end`. */
function laces(r: Reader, lacing: number, at: number, end: number): { sizes: number[]; at: number } {
  if (lacing === 0) return { sizes: [end - at], at };
  if (at >= end) r.fail("a laced block without a frame count", at);
  const count = r.b[at++]! + 1;
  const sizes: number[] = [];
  if (lacing === 1) {
    // Xiph: each size a run of 255s plus a final byte
    for (let i = 0; i < count - 1; i++) {
      let size = 0;
      let byte = 255;
      while (byte === 255) {
        if (at >= end) r.fail("a Xiph lace size past its block", at);
        byte = r.b[at++]!;
        size += byte;
      }
      sizes.push(size);
    }
  } else if (lacing === 3) {
    // EBML: the first size, then signed differences
    const first = r.vint(at, end, false);
    at += first.length;
    sizes.push(first.value);
    for (let i = 1; i < count - 1; i++) {
      const d = r.vint(at, end, false);
      at += d.length;
      const size = sizes[i - 1]! + d.value - (2 ** (7 * d.length - 1) - 1);
      if (size < 0) r.fail("a negative EBML lace size", at);
      sizes.push(size);
    }
  } else {
    const each = (end - at) / count;
    if (!Number.isInteger(each)) r.fail("fixed-size lacing that does not divide the block", at);
    return { sizes: new Array<number>(count).fill(each), at };
  }
  const used = sizes.reduce((a, s) => a + s, 0);
  if (used > end - at) r.fail("lace sizes past their block", at);
  sizes.push(end - at - used);
  return { sizes, at };
}

interface BlockExtra {
  durationTicks: number | null;
  key: boolean | null;
  paddingNs: number;
}

function block(
  r: Reader,
  e: El,
  simple: boolean,
  clusterTime: number,
  scaleNs: number,
  tracks: ReadonlyMap<number, TrackDraft>,
  extra: BlockExtra,
): void {
  const tn = r.vint(e.start, e.end, false);
  let at = e.start + tn.length;
  if (at + 3 > e.end) r.fail("a block shorter than its header", e.at);
  const t = tracks.get(tn.value);
  if (!t) return; // a track we do not read (subtitles, or none declared)
  const rel = ((r.b[at]! << 24) >> 16) | r.b[at + 1]!; // signed 16-bit, big-endian
  const flags = r.b[at + 2]!;
  at += 3;
  const key = simple ? (flags & 0x80) !== 0 : (extra.key ?? true);
  const { sizes, at: data } = laces(r, (flags >> 1) & 3, at, e.end);
  const timeNs = (clusterTime + rel) * scaleNs - t.codecDelayNs;
  const laceNs =
    t.defaultDurationNs ||
    (extra.durationTicks !== null && sizes.length > 0 ? (extra.durationTicks * scaleNs) / sizes.length : 0);
  let p = data;
  let offsetNs = 0;
  for (const size of sizes) {
    const frame = r.b.subarray(p, p + size);
    p += size;
    const ns =
      t.codecId === "A_OPUS"
        ? (opusPacketSamples(frame) * 1e9) / 48000
        : sizes.length === 1 && extra.durationTicks !== null
          ? extra.durationTicks * scaleNs
          : laceNs;
    t.chunks.push({
      key,
      timestampUs: Math.round((timeNs + offsetNs) / 1000),
      durationUs: Math.round(ns / 1000),
      data: frame,
    });
    offsetNs += ns;
  }
  if (extra.paddingNs > 0) t.padding = { ns: extra.paddingNs, index: t.chunks.length - 1 };
}

function cluster(r: Reader, c: El, scaleNs: number, tracks: ReadonlyMap<number, TrackDraft>): void {
  let time = 0;
  for (const e of r.elements(c.start, c.end)) {
    if (e.id === ID.Timecode) time = r.uint(e);
    else if (e.id === ID.SimpleBlock)
      block(r, e, true, time, scaleNs, tracks, { durationTicks: null, key: null, paddingNs: 0 });
    else if (e.id === ID.BlockGroup) {
      const extra: BlockExtra = { durationTicks: null, key: true, paddingNs: 0 };
      let b: El | null = null;
      for (const g of r.elements(e.start, e.end)) {
        if (g.id === ID.Block) b = g;
        else if (g.id === ID.BlockDuration) extra.durationTicks = r.uint(g);
        else if (g.id === ID.ReferenceBlock) extra.key = false;
        else if (g.id === ID.DiscardPadding) extra.paddingNs = r.int(g);
      }
      if (b) block(r, b, false, time, scaleNs, tracks, extra);
    }
  }
}

/** Fills durations the container left out: the gap to the next frame in presentation order, else the last one. */
function fillDurations(chunks: DemuxedChunk[]): void {
  const order = chunks.map((_, i) => i).sort((a, b) => chunks[a]!.timestampUs - chunks[b]!.timestampUs);
  for (let k = 0; k < order.length; k++) {
    const c = chunks[order[k]!]!;
    if (c.durationUs > 0) continue;
    const next = order[k + 1] === undefined ? undefined : chunks[order[k + 1]!];
    const prev = k > 0 ? chunks[order[k - 1]!] : undefined;
    c.durationUs = next ? next.timestampUs - c.timestampUs : (prev?.durationUs ?? 0);
  }
}

function finish(d: TrackDraft): DemuxedTrack | null {
  if (d.type !== 1 && d.type !== 2) return null;
  const p = d.priv;
  const base = {
    id: d.number,
    description: null as Uint8Array | null,
    durationS: null,
    chunks: d.chunks,
    ...(d.encoded ? { unsupported: "ContentEncodings (compressed or encrypted frames)" } : {}),
  };
  if (d.type === 1) {
    fillDurations(d.chunks);
    const firstKey = d.chunks.find((c) => c.key)?.data;
    const codecs: Record<string, [string | null, string, Uint8Array | null]> = {
      V_VP8: ["vp8", "vp8", null],
      V_VP9: [vp9CodecFromFrame(firstKey), "vp9", null],
      V_AV1: [p && av1Codec(p), "av1", p],
      "V_MPEG4/ISO/AVC": [p && avcCodec(p), "h264", p],
      "V_MPEGH/ISO/HEVC": [p && hevcCodec(p), "hevc", p],
    };
    const [codec, codecName, description] = codecs[d.codecId] ?? [null, d.codecId, null];
    // the bitstream's signalling wins over the container's, as in ffmpeg's decoders
    const vp9 = d.codecId === "V_VP9" ? vp9ColorFromFrame(firstKey) : null;
    const matrix = d.codecId === "V_VP8" ? "bt601" : (vp9?.matrix ?? matrixFromCode(d.matrixCode));
    const fullRange = vp9 ? vp9.fullRange : d.range === 2 ? true : d.range === 1 ? false : null;
    return {
      ...base,
      kind: "video",
      codec,
      codecName,
      description,
      codedWidth: d.width,
      codedHeight: d.height,
      matrix,
      fullRange,
      rotation: 0,
      flip: false,
      // ffmpeg's matroska demuxer: avg_frame_rate = 1e9 / DefaultDuration; else estimated from the timestamps
      fps: d.defaultDurationNs > 0 ? 1e9 / d.defaultDurationNs : estimateFps(d.chunks),
    };
  }
  let codec: string | null = null;
  let codecName = d.codecId;
  let description: Uint8Array | null = null;
  let sampleRate = Math.round(d.sampleRate);
  let channels = d.channels;
  if (d.codecId === "A_OPUS") [codec, codecName, description, sampleRate] = ["opus", "opus", p, 48000];
  else if (d.codecId === "A_VORBIS") [codec, codecName, description] = [p && "vorbis", "vorbis", p];
  else if (d.codecId === "A_FLAC") [codec, codecName, description] = [p && "flac", "flac", p];
  else if (d.codecId === "A_MPEG/L3") [codec, codecName] = ["mp3", "mp3"];
  else if (d.codecId === "A_AAC" || d.codecId.startsWith("A_AAC/")) {
    const asc = p && parseAudioSpecificConfig(p);
    codecName = "aac";
    if (asc) {
      [codec, description, sampleRate] = [`mp4a.40.${asc.objectType}`, p, asc.sampleRate];
      channels = asc.channels || channels;
    }
  }
  fillDurations(d.chunks);
  // block times are rounded to TimecodeScale (1 ms): the end is the first block's time plus the frame durations
  // (exact for Opus, read from each packet), less the last block's DiscardPadding
  const span = d.chunks.reduce((a, c) => a + c.durationUs, 0);
  const end =
    d.padding && d.padding.index === d.chunks.length - 1 && d.chunks.length > 0
      ? d.chunks[0]!.timestampUs + span - Math.round(d.padding.ns / 1000)
      : null;
  return {
    ...base,
    kind: "audio",
    codec,
    codecName,
    description,
    sampleRate,
    channels,
    ...(end !== null ? { endUs: end } : {}),
  };
}

/** Frames per second from presentation timestamps: (frames − 1) / (last − first). */
function estimateFps(chunks: readonly DemuxedChunk[]): number | null {
  if (chunks.length < 2) return null;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const c of chunks) [lo, hi] = [Math.min(lo, c.timestampUs), Math.max(hi, c.timestampUs)];
  return hi > lo ? ((chunks.length - 1) * 1e6) / (hi - lo) : null;
}

/** Demuxes a WebM/Matroska file held in memory. */
export function demuxWebm(bytes: Uint8Array, name: string): Demuxed {
  const r = new Reader(bytes, name);
  const top = r.elements(0, bytes.length);
  const ebml = top[0];
  if (ebml?.id !== ID.EBML) r.fail("no EBML header", 0);
  const docType = r.elements(ebml.start, ebml.end).find((e) => e.id === ID.DocType);
  const doc = docType ? r.text(docType) : "matroska";
  if (doc !== "webm" && doc !== "matroska") r.fail(`DocType "${doc}", not webm or matroska`, ebml.at);
  const segment = top.find((e) => e.id === ID.Segment) ?? r.fail("no Segment", ebml.end);
  const children = r.elements(segment.start, segment.end);
  let scaleNs = 1_000_000;
  let duration: number | null = null;
  const info = children.find((e) => e.id === ID.Info);
  if (info)
    for (const e of r.elements(info.start, info.end)) {
      if (e.id === ID.TimecodeScale) scaleNs = r.uint(e) || 1_000_000;
      else if (e.id === ID.Duration) duration = r.float(e);
    }
  const tracksEl = children.find((e) => e.id === ID.Tracks) ?? r.fail("no Tracks", segment.at);
  const drafts = new Map<number, TrackDraft>();
  for (const e of r.elements(tracksEl.start, tracksEl.end))
    if (e.id === ID.TrackEntry) {
      const d = trackEntry(r, e);
      if ((d.type === 1 || d.type === 2) && d.number > 0 && !drafts.has(d.number)) drafts.set(d.number, d);
    }
  if (drafts.size === 0) r.fail("no audio or video track", tracksEl.at);
  for (const c of children) if (c.id === ID.Cluster) cluster(r, c, scaleNs, drafts);
  const tracks = [...drafts.values()].map(finish).filter((t): t is DemuxedTrack => t !== null);
  return {
    container: "webm",
    format: "matroska,webm",
    durationS:
      duration !== null && Number.isFinite(duration) && duration > 0 ? (duration * scaleNs) / 1e9 : null,
    tracks,
  };
}
