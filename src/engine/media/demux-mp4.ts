/**
 * MP4/MOV (ISO-BMFF, ISO 14496-12) → tracks and encoded chunks for WebCodecs (shapes and units: demux.ts).
 *
 * Reads moov/trak/{tkhd, edts/elst, mdia/{mdhd, hdlr, minf/stbl}}: the first stsd entry (avc1/avc3 + avcC,
 * hvc1/hev1 + hvcC, vp08/vp09 + vpcC, av01 + av1C, mp4a + esds, Opus + dOps, fLaC + dfLa), and the sample tables
 * stts, ctts, stsc, stsz, stco/co64, stss. Sample times follow ffmpeg's presentation timeline: composition time
 * (dts + ctts) minus the `media_time` of the first non-empty edit, plus the length of an initial empty edit; any
 * further edits are ignored (ffmpeg would splice them). The movie header's matrix is ignored; the track
 * header's gives the rotation ffmpeg's autorotate applies. Fragmented files (moof) and stz2 are refused, as are
 * sample tables that point past the end of the file (a cut download): the caller falls back to ffmpeg.wasm.
 *
 * Every size read from the file is checked against its box and the file length before it is used.
 */
import type { Demuxed, DemuxedChunk, DemuxedTrack } from "./demux.js";
import {
  av1Codec,
  avcCodec,
  hevcCodec,
  malformed,
  matrixFromCode,
  opusHeadFromDops,
  parseAudioSpecificConfig,
  vp9CodecFromVpcC,
  type YuvMatrix,
} from "./demux-codecs.js";

interface Box {
  type: string;
  /** First byte of the box header. */
  at: number;
  /** First byte of the payload. */
  start: number;
  /** One past the last byte. */
  end: number;
}

class Reader {
  readonly v: DataView;
  constructor(
    readonly b: Uint8Array,
    readonly name: string,
  ) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  fail(what: string, at: number): never {
    throw malformed(this.name, "MP4", what, at);
  }

  /** Checks that [at, at + n) lies inside `box` (or the file). */
  need(at: number, n: number, end = this.b.length): void {
    if (at < 0 || n < 0 || at + n > end || at + n > this.b.length) this.fail(`a field past its box`, at);
  }

  u8(at: number, end?: number): number {
    this.need(at, 1, end);
    return this.v.getUint8(at);
  }
  u16(at: number, end?: number): number {
    this.need(at, 2, end);
    return this.v.getUint16(at);
  }
  u32(at: number, end?: number): number {
    this.need(at, 4, end);
    return this.v.getUint32(at);
  }
  i32(at: number, end?: number): number {
    this.need(at, 4, end);
    return this.v.getInt32(at);
  }
  u64(at: number, end?: number): number {
    this.need(at, 8, end);
    return Number(this.v.getBigUint64(at));
  }
  i64(at: number, end?: number): number {
    this.need(at, 8, end);
    return Number(this.v.getBigInt64(at));
  }
  fourcc(at: number): string {
    return String.fromCharCode(this.b[at]!, this.b[at + 1]!, this.b[at + 2]!, this.b[at + 3]!);
  }

  /** The boxes in [start, end); a box overrunning its parent is an error, fewer than 8 trailing bytes are not. */
  boxes(start: number, end: number): Box[] {
    const out: Box[] = [];
    let at = start;
    while (at + 8 <= end) {
      let size = this.u32(at, end);
      const type = this.fourcc(at + 4);
      let header = 8;
      if (size === 1) {
        size = this.u64(at + 8, end);
        header = 16;
      } else if (size === 0) size = end - at;
      if (size < header || size > end - at) this.fail(`box "${printable(type)}" overrunning its parent`, at);
      out.push({ type, at, start: at + header, end: at + size });
      at += size;
    }
    return out;
  }

  child(parent: Box, type: string): Box | undefined {
    return this.boxes(parent.start, parent.end).find((b) => b.type === type);
  }

  must(parent: Box, type: string): Box {
    return this.child(parent, type) ?? this.fail(`"${parent.type}" without "${type}"`, parent.at);
  }
}

const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, "?");

/** [timescale, duration] of an mvhd or mdhd full box (versions 0 and 1). */
function timing(r: Reader, box: Box): [number, number] {
  const version = r.u8(box.start, box.end);
  return version === 1
    ? [r.u32(box.start + 20, box.end), r.u64(box.start + 24, box.end)]
    : [r.u32(box.start + 12, box.end), r.u32(box.start + 16, box.end)];
}

/** ffmpeg's autorotate (fftools' get_rotation + the transpose/flip choice) from a tkhd matrix: quarter turns only. */
export function rotationOf(m: readonly number[]): { rotation: 0 | 90 | 180 | 270; flip: boolean } | null {
  const [a, b, , c, d] = m.map((x) => x / 65536) as [number, number, number, number, number];
  const sx = Math.hypot(a, c);
  const sy = Math.hypot(b, d);
  if (!(sx > 0 && sy > 0)) return null;
  let theta = (Math.atan2(b / sy, a / sx) * 180) / Math.PI; // = −av_display_rotation_get
  theta -= 360 * Math.floor(theta / 360 + 0.9 / 360);
  const near = (t: number) => Math.abs(theta - t) < 1;
  if (near(90)) return { rotation: 90, flip: c > 0 };
  if (near(270)) return { rotation: 270, flip: c < 0 };
  if (near(180)) {
    const h = a < 0;
    const v = d < 0;
    return h && v
      ? { rotation: 180, flip: false }
      : h
        ? { rotation: 0, flip: true }
        : { rotation: 180, flip: v };
  }
  if (near(0) || near(360)) return d < 0 ? { rotation: 180, flip: true } : { rotation: 0, flip: false };
  return null;
}

interface SampleEntry {
  matrix?: YuvMatrix | null;
  fullRange?: boolean | null;
  codec: string | null;
  codecName: string;
  description: Uint8Array | null;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

/** The descriptor length of an MPEG-4 descriptor (ISO 14496-1 §8.3.3: up to four 7-bit groups). */
function descriptor(r: Reader, at: number, end: number): { tag: number; start: number; end: number } {
  const tag = r.u8(at, end);
  let size = 0;
  let p = at + 1;
  for (let i = 0; i < 4; i++) {
    const b = r.u8(p++, end);
    size = size * 128 + (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  if (p + size > end) r.fail("an esds descriptor overrunning its box", at);
  return { tag, start: p, end: p + size };
}

/** objectTypeIndication and DecoderSpecificInfo from an esds box. */
function esds(r: Reader, box: Box): { oti: number; dsi: Uint8Array | null } {
  const es = descriptor(r, box.start + 4, box.end);
  if (es.tag !== 3) r.fail("an esds without ES_Descriptor", box.start);
  const flags = r.u8(es.start + 2, es.end);
  let p = es.start + 3;
  if (flags & 0x80) p += 2;
  if (flags & 0x40) p += 1 + r.u8(p, es.end);
  if (flags & 0x20) p += 2;
  const dc = descriptor(r, p, es.end);
  if (dc.tag !== 4) r.fail("an esds without DecoderConfigDescriptor", p);
  const oti = r.u8(dc.start, dc.end);
  let dsi: Uint8Array | null = null;
  if (dc.start + 13 < dc.end) {
    const d = descriptor(r, dc.start + 13, dc.end);
    if (d.tag === 5) dsi = r.b.subarray(d.start, d.end);
  }
  return { oti, dsi };
}

function sampleEntry(r: Reader, e: Box, kind: "video" | "audio"): SampleEntry {
  const type = e.type;
  if (kind === "video") {
    // SampleEntry (8) + VisualSampleEntry fields (70), then child boxes
    const width = r.u16(e.start + 24, e.end);
    const height = r.u16(e.start + 26, e.end);
    const kids = e.start + 78 <= e.end ? r.boxes(e.start + 78, e.end) : [];
    const box = (t: string) => {
      const k = kids.find((x) => x.type === t);
      return k ? r.b.subarray(k.start, k.end) : null;
    };
    // colr nclx: primaries, transfer, matrix (16 bits each), then full_range_flag
    const colr = kids.find((x) => x.type === "colr" && x.end - x.start >= 11 && r.fourcc(x.start) === "nclx");
    const base = {
      width,
      height,
      matrix: colr ? matrixFromCode(r.u16(colr.start + 8, colr.end)) : null,
      fullRange: colr ? (r.u8(colr.start + 10, colr.end) & 0x80) !== 0 : null,
    };
    if (type === "avc1" || type === "avc3") {
      const avcC = box("avcC");
      return { ...base, codec: avcC && avcCodec(avcC, type), codecName: "h264", description: avcC };
    }
    if (type === "hvc1" || type === "hev1") {
      const hvcC = box("hvcC");
      return { ...base, codec: hvcC && hevcCodec(hvcC, type), codecName: "hevc", description: hvcC };
    }
    if (type === "vp09" || type === "vp08") {
      const vpcC = box("vpcC");
      // vpcC v1: profile, level, bitDepth(4) chromaSubsampling(3) fullRange(1), primaries, transfer, matrix
      if (vpcC && vpcC.length >= 10 && !colr) {
        base.matrix = type === "vp08" ? "bt601" : matrixFromCode(vpcC[9]!);
        base.fullRange = (vpcC[6]! & 1) === 1;
      }
      const codec =
        type === "vp08" ? "vp8" : vpcC && vpcC.length >= 7 ? vp9CodecFromVpcC(vpcC.subarray(4)) : null;
      return { ...base, codec, codecName: type === "vp08" ? "vp8" : "vp9", description: null };
    }
    if (type === "av01") {
      const av1C = box("av1C");
      return { ...base, codec: av1C && av1Codec(av1C), codecName: "av1", description: av1C };
    }
    return { ...base, codec: null, codecName: printable(type), description: null };
  }
  // SampleEntry (8) + AudioSampleEntry (20); QuickTime sound description v1 adds 16 bytes, v2 36
  const version = r.u16(e.start + 8, e.end);
  let channels = r.u16(e.start + 16, e.end);
  let sampleRate = r.u32(e.start + 24, e.end) >>> 16;
  if (version === 2) {
    r.need(e.start + 32, 8, e.end);
    sampleRate = Math.round(r.v.getFloat64(e.start + 32));
    channels = r.u32(e.start + 40, e.end);
  }
  const first = e.start + 28 + (version === 1 ? 16 : version === 2 ? 36 : 0);
  const kids = first + 8 <= e.end ? r.boxes(first, e.end) : [];
  const find = (t: string) => kids.find((x) => x.type === t);
  const base = { sampleRate, channels };
  if (type === "mp4a") {
    const wave = find("wave");
    const es = find("esds") ?? (wave ? r.child(wave, "esds") : undefined);
    if (!es) return { ...base, codec: null, codecName: "aac", description: null };
    const { oti, dsi } = esds(r, es);
    if (oti === 0x69 || oti === 0x6b) return { ...base, codec: "mp3", codecName: "mp3", description: null };
    const asc = oti === 0x40 && dsi ? parseAudioSpecificConfig(dsi) : null;
    if (!asc || !dsi)
      return { ...base, codec: null, codecName: `mp4a.${oti.toString(16)}`, description: null };
    return {
      sampleRate: asc.sampleRate,
      channels: asc.channels || channels,
      codec: `mp4a.40.${asc.objectType}`,
      codecName: "aac",
      description: dsi,
    };
  }
  if (type === "Opus") {
    const d = find("dOps");
    const head = d ? opusHeadFromDops(r.b.subarray(d.start, d.end)) : null;
    return { ...base, sampleRate: 48000, codec: head && "opus", codecName: "opus", description: head };
  }
  if (type === "fLaC") {
    const d = find("dfLa");
    if (!d || d.end - d.start < 4) return { ...base, codec: null, codecName: "flac", description: null };
    // WebCodecs' FLAC description: "fLaC" + the metadata blocks (dfLa's payload after its full-box header)
    const blocks = r.b.subarray(d.start + 4, d.end);
    const description = new Uint8Array(4 + blocks.length);
    description.set([0x66, 0x4c, 0x61, 0x43]);
    description.set(blocks, 4);
    return { ...base, codec: "flac", codecName: "flac", description };
  }
  if (type === ".mp3") return { ...base, codec: "mp3", codecName: "mp3", description: null };
  return { ...base, codec: null, codecName: printable(type), description: null };
}

/** A full box's entry count, checked so that `count` entries of `entrySize` bytes fit in the box. */
function entries(r: Reader, box: Box, headerBytes: number, entrySize: number): number {
  const count = r.u32(box.start + headerBytes - 4, box.end);
  if (count > (box.end - box.start - headerBytes) / entrySize)
    r.fail(`"${box.type}" with too many entries`, box.at);
  return count;
}

interface Edit {
  /** Movie-timescale ticks of an initial empty edit. */
  delay: number;
  /** Media-timescale ticks skipped at the start. */
  mediaTime: number;
  /** Movie-timescale ticks where the first non-empty edit ends (null without an edit list). */
  end: number | null;
}

function firstEdit(r: Reader, trak: Box): Edit {
  const edts = r.child(trak, "edts");
  const elst = edts && r.child(edts, "elst");
  if (!elst) return { delay: 0, mediaTime: 0, end: null };
  const version = r.u8(elst.start, elst.end);
  const size = version === 1 ? 20 : 12;
  const n = entries(r, elst, 8, size);
  let delay = 0;
  for (let i = 0; i < n; i++) {
    const at = elst.start + 8 + i * size;
    const duration = version === 1 ? r.u64(at, elst.end) : r.u32(at, elst.end);
    const mediaTime = version === 1 ? r.i64(at + 8, elst.end) : r.i32(at + 4, elst.end);
    if (mediaTime === -1) delay += duration;
    else return { delay, mediaTime: Math.max(0, mediaTime), end: duration > 0 ? delay + duration : null };
  }
  return { delay, mediaTime: 0, end: null };
}

/** Expands the sample tables into chunks (decode order), checking every sample lies inside the file. */
function samples(
  r: Reader,
  stbl: Box,
  timescale: number,
  edit: Edit,
  movieScale: number,
): { chunks: DemuxedChunk[]; ticks: number } {
  const get = (t: string) => r.child(stbl, t);
  if (get("stz2")) r.fail("a compact sample size table (stz2), not supported", stbl.at);
  const stsz = r.must(stbl, "stsz");
  const constant = r.u32(stsz.start + 4, stsz.end);
  const n = r.u32(stsz.start + 8, stsz.end);
  if (constant === 0 && n > (stsz.end - stsz.start - 12) / 4) r.fail(`"stsz" with too many entries`, stsz.at);
  if (constant !== 0 && n > r.b.length / constant)
    r.fail(`"stsz" with more samples than the file holds`, stsz.at);
  const size = (i: number) => (constant !== 0 ? constant : r.u32(stsz.start + 12 + 4 * i, stsz.end));

  // offsets: stsc runs over the chunks of stco/co64
  const co = get("stco") ?? get("co64") ?? r.fail(`"stbl" without "stco"`, stbl.at);
  const wide = co.type === "co64";
  const numChunks = entries(r, co, 8, wide ? 8 : 4);
  const chunkOffset = (c: number) =>
    wide ? r.u64(co.start + 8 + 8 * c, co.end) : r.u32(co.start + 8 + 4 * c, co.end);
  const stsc = r.must(stbl, "stsc");
  const runs = entries(r, stsc, 8, 12);
  const offsets = new Float64Array(n);
  let s = 0;
  for (let e = 0; e < runs && s < n; e++) {
    const at = stsc.start + 8 + 12 * e;
    const first = r.u32(at, stsc.end) - 1;
    const perChunk = r.u32(at + 4, stsc.end);
    const last = e + 1 < runs ? r.u32(at + 12, stsc.end) - 1 : numChunks;
    if (first < 0 || last < first) r.fail(`"stsc" runs out of order`, at);
    for (let c = first; c < Math.min(last, numChunks) && s < n; c++) {
      let o = chunkOffset(c);
      for (let k = 0; k < perChunk && s < n; k++, s++) {
        offsets[s] = o;
        o += size(s);
      }
    }
  }
  if (s < n) r.fail(`a sample table with ${n} samples but chunks for ${s}`, stsc.at);

  // decode times and durations (stts), composition offsets (ctts), sync samples (stss)
  const stts = r.must(stbl, "stts");
  const dts = new Float64Array(n);
  const dur = new Float64Array(n);
  let t = 0;
  s = 0;
  let delta = 0;
  const sttsRuns = entries(r, stts, 8, 8);
  for (let e = 0; e < sttsRuns && s < n; e++) {
    const count = r.u32(stts.start + 8 + 8 * e, stts.end);
    delta = r.u32(stts.start + 12 + 8 * e, stts.end);
    for (let k = 0; k < count && s < n; k++, s++) {
      dts[s] = t;
      dur[s] = delta;
      t += delta;
    }
  }
  for (; s < n; s++, t += delta) [dts[s], dur[s]] = [t, delta]; // ffmpeg repeats the last delta
  const ctts = get("ctts");
  const cts = new Float64Array(n);
  if (ctts) {
    const cttsRuns = entries(r, ctts, 8, 8);
    s = 0;
    for (let e = 0; e < cttsRuns && s < n; e++) {
      const count = r.u32(ctts.start + 8 + 8 * e, ctts.end);
      const offset = r.i32(ctts.start + 12 + 8 * e, ctts.end); // signed in v1; ffmpeg reads v0 as signed too
      for (let k = 0; k < count && s < n; k++, s++) cts[s] = offset;
    }
  }
  const stss = get("stss");
  const key = new Uint8Array(n).fill(stss ? 0 : 1);
  if (stss) {
    const m = entries(r, stss, 8, 4);
    for (let e = 0; e < m; e++) {
      const i = r.u32(stss.start + 8 + 4 * e, stss.end) - 1;
      if (i >= 0 && i < n) key[i] = 1;
    }
  }

  const us = 1e6 / timescale;
  const shift = (edit.delay * 1e6) / movieScale - edit.mediaTime * us;
  const chunks: DemuxedChunk[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = offsets[i]!;
    const len = size(i);
    if (o + len > r.b.length) r.fail(`sample ${i + 1} past the end of the file (truncated?)`, o);
    chunks[i] = {
      key: key[i] === 1,
      timestampUs: Math.round((dts[i]! + cts[i]!) * us + shift),
      durationUs: Math.round(dur[i]! * us),
      data: r.b.subarray(o, o + len),
    };
  }
  return { chunks, ticks: t };
}

function track(r: Reader, trak: Box, movieScale: number): DemuxedTrack | null {
  const mdia = r.must(trak, "mdia");
  const hdlr = r.must(mdia, "hdlr");
  r.need(hdlr.start + 8, 4, hdlr.end);
  const handler = r.fourcc(hdlr.start + 8);
  const kind = handler === "vide" ? "video" : handler === "soun" ? "audio" : null;
  if (!kind) return null;
  const tkhd = r.must(trak, "tkhd");
  const tkVersion = r.u8(tkhd.start, tkhd.end);
  const id = r.u32(tkhd.start + (tkVersion === 1 ? 20 : 12), tkhd.end);
  const [timescale, duration] = timing(r, r.must(mdia, "mdhd"));
  if (timescale === 0) r.fail("a track with timescale 0", trak.at);
  const stbl = r.must(r.must(mdia, "minf"), "stbl");
  const stsd = r.must(stbl, "stsd");
  const entry = stsd.start + 8 < stsd.end ? r.boxes(stsd.start + 8, stsd.end)[0] : undefined;
  if (!entry) r.fail("an empty sample description (stsd)", stsd.at);
  const se = sampleEntry(r, entry, kind);
  const edit = firstEdit(r, trak);
  const { chunks, ticks } = samples(r, stbl, timescale, edit, movieScale);
  const base = {
    id,
    codec: se.codec,
    codecName: se.codecName,
    description: se.description,
    durationS: duration > 0 && duration < 2 ** 53 ? duration / timescale : null,
    chunks,
    ...(edit.end !== null && edit.end < 2 ** 53 ? { endUs: Math.round((edit.end * 1e6) / movieScale) } : {}),
  };
  if (kind === "audio") return { ...base, kind, sampleRate: se.sampleRate ?? 0, channels: se.channels ?? 0 };
  // matrix after version/flags, times, track id, reserved, duration, reserved 8, layer, group, volume, reserved
  const m0 = tkhd.start + 4 + (tkVersion === 1 ? 32 : 20) + 16;
  const matrix = Array.from({ length: 9 }, (_, i) => r.i32(m0 + 4 * i, tkhd.end));
  const orient = rotationOf(matrix);
  return {
    ...base,
    kind,
    codedWidth: se.width ?? 0,
    codedHeight: se.height ?? 0,
    matrix: se.matrix ?? null,
    fullRange: se.fullRange ?? null,
    rotation: orient?.rotation ?? 0,
    flip: orient?.flip ?? false,
    // ffmpeg's mov demuxer: avg_frame_rate = timescale · frames / Σ stts durations
    fps: ticks > 0 ? (timescale * chunks.length) / ticks : null,
    ...(orient ? {} : { unsupported: "a display matrix that is not a quarter turn" }),
  };
}

/** Demuxes an MP4/MOV file held in memory. */
export function demuxMp4(bytes: Uint8Array, name: string): Demuxed {
  const r = new Reader(bytes, name);
  const top = r.boxes(0, bytes.length);
  if (top.some((b) => b.type === "moof")) r.fail("a fragmented MP4 (moof), not supported", 0);
  const moovBox = top.find((b) => b.type === "moov") ?? r.fail("no movie header (moov)", 0);
  const [movieScale, movieDuration] = timing(r, r.must(moovBox, "mvhd"));
  if (movieScale === 0) r.fail("a movie with timescale 0", moovBox.at);
  const tracks: DemuxedTrack[] = [];
  for (const b of r.boxes(moovBox.start, moovBox.end))
    if (b.type === "trak") {
      const t = track(r, b, movieScale);
      if (t) tracks.push(t);
    }
  if (tracks.length === 0) r.fail("no audio or video track", moovBox.at);
  return {
    container: "mp4",
    format: "mov,mp4,m4a,3gp,3g2,mj2",
    durationS: movieDuration > 0 && movieDuration < 2 ** 53 ? movieDuration / movieScale : null,
    tracks,
  };
}
