/**
 * The MP4 and WebM demuxers on files the system ffmpeg writes here (H.264/AAC, VP9 in MP4, VP8/Opus, VP9 WebM,
 * an M4A, an MP4 with B-frames and a 90° display matrix), checked packet by packet against ffprobe (size, MD5,
 * key flag, presentation time), plus hand-built Matroska for lacing and unknown sizes, and damaged files.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { el, makeSamples, SAMPLE_FILES, unknownSize } from "../../../test/support/demux-files.js";
import { rotateMp4By90 } from "../../../test/support/media-files.js";
import { hasFfmpeg } from "../../../test/support/system-ffmpeg.js";
import { BadInputError } from "../errors.js";
import { type Demuxed, demux, sniffContainer } from "./demux.js";
import {
  avcCodec,
  hevcCodec,
  opusHeadFromDops,
  opusPacketSamples,
  parseAudioSpecificConfig,
  vp9CodecFromFrame,
} from "./demux-codecs.js";
import { rotationOf } from "./demux-mp4.js";

interface ProbePacket {
  stream: number;
  pts: number;
  size: number;
  key: boolean;
  md5: string;
}

function ffprobePackets(file: string): ProbePacket[] {
  const json = execFileSync("ffprobe", [
    ...["-v", "error", "-show_data_hash", "MD5", "-show_entries"],
    ...["packet=stream_index,pts_time,size,flags,data_hash", "-of", "json", file],
  ]).toString();
  const { packets } = JSON.parse(json) as {
    packets: { stream_index: number; pts_time: string; size: string; flags: string; data_hash: string }[];
  };
  return packets.map((p) => ({
    stream: p.stream_index,
    pts: Number(p.pts_time),
    size: Number(p.size),
    key: p.flags.startsWith("K"),
    md5: p.data_hash.replace(/^MD5:/, ""),
  }));
}

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

describe.skipIf(!hasFfmpeg)("demux on ffmpeg-written files", () => {
  let dir = "";
  let files: Record<string, Uint8Array> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "demux-"));
    files = makeSamples(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds the tracks, codec strings and configs", () => {
    const summary = (d: Demuxed) =>
      d.tracks.map((t) =>
        t.kind === "video"
          ? [t.kind, t.codec, t.codecName, t.codedWidth, t.codedHeight, t.fps, t.rotation]
          : [t.kind, t.codec, t.codecName, t.sampleRate, t.channels],
      );
    const d = (n: string) => demux(files[n]!, n);
    expect(d("h264-aac.mp4").format).toBe("mov,mp4,m4a,3gp,3g2,mj2");
    expect(summary(d("h264-aac.mp4"))).toEqual([
      ["video", "avc1.64000A", "h264", 64, 48, 10, 0],
      ["audio", "mp4a.40.2", "aac", 44100, 1],
    ]);
    expect(summary(d("h264-bframes.mp4"))).toEqual([["video", "avc1.64000A", "h264", 64, 48, 10, 0]]);
    expect(summary(d("vp9.mp4"))).toEqual([["video", "vp09.00.10.08", "vp9", 64, 48, 10, 0]]);
    expect(d("vp8-opus.webm").format).toBe("matroska,webm");
    expect(summary(d("vp8-opus.webm"))).toEqual([
      ["video", "vp8", "vp8", 64, 48, 10, 0],
      ["audio", "opus", "opus", 48000, 1],
    ]);
    expect(summary(d("vp9.webm"))).toEqual([["video", "vp09.00.10.08", "vp9", 64, 48, 10, 0]]);
    expect(summary(d("aac.m4a"))).toEqual([["audio", "mp4a.40.2", "aac", 44100, 2]]);
    // descriptions: avcC as stored, AudioSpecificConfig, OpusHead
    const h264 = d("h264-aac.mp4").tracks;
    expect(h264[0]!.description?.[0]).toBe(1);
    expect(parseAudioSpecificConfig(h264[1]!.description!)).toEqual({
      objectType: 2,
      sampleRate: 44100,
      channels: 1,
    });
    const opus = d("vp8-opus.webm").tracks[1]!;
    expect(String.fromCharCode(...opus.description!.subarray(0, 8))).toBe("OpusHead");
    for (const [n, s] of [
      ["h264-aac.mp4", 1],
      ["vp8-opus.webm", 1.008],
      ["aac.m4a", 1],
    ] as const)
      expect(d(n).durationS).toBeCloseTo(s, 3);
  });

  it("gives ffprobe's packets: same bytes (MD5), sizes, key flags and presentation times", () => {
    for (const name of Object.keys(SAMPLE_FILES)) {
      const d = demux(files[name]!, name);
      const packets = ffprobePackets(join(dir, name));
      // ffprobe lists packets interleaved in file order; compare per stream (track i is stream i here)
      d.tracks.forEach((t, i) => {
        const mine = packets.filter((p) => p.stream === i);
        expect(t.chunks.length, `${name} track ${i}`).toBe(mine.length);
        // Matroska stores milliseconds, and ffmpeg rounds the Opus CodecDelay (6.5 ms) to them; MP4 is exact
        const tol = name.endsWith(".webm") ? 1000 : 1;
        t.chunks.forEach((c, k) => {
          const p = mine[k]!;
          expect([c.data.length, md5(c.data), c.key], `${name} #${k}`).toEqual([p.size, p.md5, p.key]);
          expect(Math.abs(c.timestampUs - p.pts * 1e6), `${name} #${k} pts`).toBeLessThanOrEqual(tol);
        });
      });
    }
  });

  it("shifts by the edit list: AAC priming before 0, B-frame reorder delay removed; ends where the edit ends", () => {
    const aac = demux(files["aac.m4a"]!, "aac.m4a").tracks[0]!;
    expect(aac.chunks[0]!.timestampUs).toBe(-Math.round((1024 / 44100) * 1e6));
    expect(aac.endUs).toBe(1_000_000);
    const v = demux(files["h264-bframes.mp4"]!, "b.mp4").tracks[0]!;
    const pts = v.chunks.map((c) => c.timestampUs).sort((a, b) => a - b);
    expect(pts.slice(0, 3)).toEqual([0, 100_000, 200_000]);
    expect(v.chunks.map((c) => c.timestampUs)).not.toEqual(pts); // decode order ≠ presentation order
    const opus = demux(files["vp8-opus.webm"]!, "a.webm").tracks[1]!;
    expect(opus.chunks[0]!.timestampUs).toBe(-6500); // CodecDelay: the 312-sample pre-skip lies before 0
    expect(opus.chunks[0]!.durationUs).toBe(20_000);
  });

  it("reads a 90° display matrix as ffmpeg's autorotate does", () => {
    const v = demux(rotateMp4By90(files["h264-aac.mp4"]!), "r.mp4").tracks[0]!;
    expect(v.kind === "video" && [v.rotation, v.flip]).toEqual([90, false]);
    const q = 0x10000;
    expect(rotationOf([q, 0, 0, 0, q, 0, 0, 0, 0x40000000])).toEqual({ rotation: 0, flip: false });
    expect(rotationOf([-q, 0, 0, 0, -q, 0, 0, 0, 0x40000000])).toEqual({ rotation: 180, flip: false });
    expect(rotationOf([0, -q, 0, q, 0, 0, 0, 0, 0x40000000])).toEqual({ rotation: 270, flip: false });
    expect(rotationOf([-q, 0, 0, 0, q, 0, 0, 0, 0x40000000])).toEqual({ rotation: 0, flip: true });
    expect(rotationOf([46341, 46341, 0, -46341, 46341, 0, 0, 0, 0x40000000])).toBeNull(); // 45°
  });

  it("refuses truncated and damaged files with BadInputError", () => {
    const mp4 = files["h264-bframes.mp4"]!; // faststart: moov first, so a cut lands in the samples
    for (const keep of [0.2, 0.5, 0.9, 0.99])
      expect(() => demux(mp4.subarray(0, Math.floor(mp4.length * keep)), "cut.mp4")).toThrow(BadInputError);
    const moovLast = files["h264-aac.mp4"]!;
    expect(() => demux(moovLast.subarray(0, moovLast.length - 100), "cut.mp4")).toThrow(/damaged MP4/);
    const webm = files["vp8-opus.webm"]!;
    for (const keep of [0.1, 0.5, 0.9])
      expect(() => demux(webm.subarray(0, Math.floor(webm.length * keep)), "cut.webm")).toThrow(
        BadInputError,
      );
    expect(() => demux(new TextEncoder().encode("not a video at all"), "x.mp4")).toThrow(/not an MP4/);
    // a sample size pointing far past the end
    const bad = mp4.slice();
    const at = Buffer.from(bad).indexOf("stsz") + 16;
    new DataView(bad.buffer).setUint32(at, 0x7fffffff);
    expect(() => demux(bad, "bad.mp4")).toThrow(BadInputError);
  });
});

// --- hand-built Matroska ---------------------------------------------------------------------------------------

const u = (n: number, bytes = 1) =>
  Array.from({ length: bytes }, (_, i) => (n >> (8 * (bytes - 1 - i))) & 0xff);
const str = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

const OPUS_HEAD = [...str("OpusHead"), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0];
/** A 20 ms CELT Opus packet (TOC config 31, code 0) of `n` bytes. */
const packet = (n: number, fill: number) => [0xf8, ...new Array<number>(n - 1).fill(fill)];

function webmWith(blocks: Uint8Array[], opts: { unknown?: boolean } = {}): Uint8Array {
  const header = el(0x1a45dfa3, el(0x4282, str("webm")));
  const info = el(0x1549a966, el(0x2ad7b1, u(1_000_000, 3)));
  const tracks = el(
    0x1654ae6b,
    el(
      0xae,
      el(0xd7, [1]),
      el(0x83, [2]),
      el(0x86, str("A_OPUS")),
      el(0x63a2, OPUS_HEAD),
      el(0xe1, el(0x9f, [2])),
    ),
  );
  const cluster = opts.unknown
    ? unknownSize(0x1f43b675, el(0xe7, u(0)), ...blocks)
    : el(0x1f43b675, el(0xe7, u(0)), ...blocks);
  const body = [
    info,
    tracks,
    cluster,
    ...(opts.unknown ? [unknownSize(0x1f43b675, el(0xe7, u(100)), blocks[0]!)] : []),
  ];
  return new Uint8Array(
    Buffer.concat([header, opts.unknown ? unknownSize(0x18538067, ...body) : el(0x18538067, ...body)]),
  );
}

/** A SimpleBlock on track 1 at `time` ms: key, with `lacing` (0 none, 1 Xiph, 2 fixed, 3 EBML) and `lace` bytes. */
const simpleBlock = (time: number, lacing: number, lace: number[], ...frames: number[][]) =>
  el(0xa3, [0x81, ...u(time, 2), 0x80 | (lacing << 1), ...lace, ...frames.flat()]);

describe("demux on hand-built Matroska", () => {
  it("splits Xiph, EBML and fixed lacing into frames 20 ms apart", () => {
    const [a, b, c] = [packet(300, 1), packet(256, 2), packet(3, 3)];
    const xiph = simpleBlock(0, 1, [2, 255, 45, 255, 1], a, b, c);
    // EBML lacing: first size 300 as a 2-byte vint, then 256 − 300 = −44 as a signed 1-byte vint (bias 63)
    const ebml = simpleBlock(60, 3, [2, 0x41, 0x2c, 0x80 | (63 - 44)], a, b, c);
    const fixed = simpleBlock(120, 2, [1], packet(10, 4), packet(10, 5));
    const d = demux(webmWith([xiph, ebml, fixed]), "laced.webm");
    const t = d.tracks[0]!;
    expect(t.kind === "audio" && [t.codec, t.sampleRate, t.channels]).toEqual(["opus", 48000, 2]);
    expect(t.chunks.map((x) => [x.timestampUs, x.durationUs, x.data.length, x.data[1]])).toEqual([
      [0, 20_000, 300, 1],
      [20_000, 20_000, 256, 2],
      [40_000, 20_000, 3, 3],
      [60_000, 20_000, 300, 1],
      [80_000, 20_000, 256, 2],
      [100_000, 20_000, 3, 3],
      [120_000, 20_000, 10, 4],
      [140_000, 20_000, 10, 5],
    ]);
  });

  it("reads a Segment and Clusters of unknown size (MediaRecorder's live WebM)", () => {
    const d = demux(
      webmWith([simpleBlock(0, 0, [], packet(5, 9)), simpleBlock(20, 0, [], packet(5, 8))], {
        unknown: true,
      }),
      "live.webm",
    );
    expect(d.durationS).toBeNull();
    expect(d.tracks[0]!.chunks.map((c) => c.timestampUs)).toEqual([0, 20_000, 100_000]);
  });

  it("refuses lace sizes and elements that overrun their parent", () => {
    const a = packet(30, 1);
    const over = simpleBlock(0, 1, [1, 200], a, a); // the first lace claims 200 of 60 bytes
    expect(() => demux(webmWith([over]), "x.webm")).toThrow(/damaged WebM .*lace/);
    const uneven = simpleBlock(0, 2, [1], packet(3, 1), packet(4, 1));
    expect(() => demux(webmWith([uneven]), "x.webm")).toThrow(BadInputError);
    const whole = webmWith([simpleBlock(0, 0, [], a)]);
    expect(() => demux(whole.subarray(0, whole.length - 3), "x.webm")).toThrow(/overrunning/);
  });
});

describe("codec strings and configs", () => {
  it("avc1, hvc1, vp09 (from a frame header), AudioSpecificConfig, Opus packets and dOps", () => {
    expect(avcCodec(Uint8Array.from([1, 0x42, 0xe0, 0x1e, 0xff]))).toBe("avc1.42E01E");
    // hvcC of a Main-profile level 3.1 stream: general_profile_compatibility 0x60000000, constraint 0x90
    const hvcC = Uint8Array.from([1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93]);
    expect(hevcCodec(hvcC)).toBe("hvc1.1.6.L93.90");
    expect(vp9CodecFromFrame(Uint8Array.from([0x82, 0x49, 0x83, 0x42, 0]))).toBe("vp09.00.10.08");
    expect(vp9CodecFromFrame(Uint8Array.from([0xa2, 0x49, 0x83, 0x42, 0]))).toBe("vp09.01.10.08");
    // profile 2 (low bit 0, high bit 1), ten_or_twelve_bit = 0 → 10-bit
    expect(vp9CodecFromFrame(Uint8Array.from([0x92, 0x49, 0x83, 0x42, 0x00, 0]))).toBe("vp09.02.10.10");
    expect(parseAudioSpecificConfig(Uint8Array.from([0x12, 0x10]))).toEqual({
      objectType: 2,
      sampleRate: 44100,
      channels: 2,
    });
    expect(parseAudioSpecificConfig(Uint8Array.from([0x12]))).toBeNull();
    expect(opusPacketSamples(Uint8Array.from([0xf8]))).toBe(960); // CELT 20 ms
    expect(opusPacketSamples(Uint8Array.from([0x1b, 1]))).toBe(2880); // SILK 60 ms, code 3, one frame
    expect(opusPacketSamples(Uint8Array.from([0xf9]))).toBe(1920); // two 20 ms frames
    const head = opusHeadFromDops(Uint8Array.from([0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0, 0, 0]));
    expect(Array.from(head!)).toEqual([...str("OpusHead"), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
  });

  it("sniffs MP4 and WebM by their first bytes", () => {
    expect(sniffContainer(Uint8Array.from([0, 0, 0, 0x18, ...str("ftypisom")]))).toBe("mp4");
    expect(sniffContainer(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3]))).toBe("webm");
    expect(sniffContainer(Uint8Array.from(str("RIFF\0\0\0\0WAVE")))).toBeNull();
  });
});
