/**
 * Codec strings and decoder descriptions from container configuration records, for demux-mp4.ts and
 * demux-webm.ts (demux.ts says what they produce), and the one error they throw for a malformed file.
 */
import { BadInputError } from "../errors.js";

/** A `BadInputError` for a malformed container, naming the file and the byte offset. */
export function malformed(name: string, container: string, what: string, at: number): BadInputError {
  return new BadInputError(
    `"${name}" is a damaged ${container} file (${what} at byte ${at}): re-download or re-export it.`,
    { file: name, container, at },
  );
}

// --- codec strings from configuration records --------------------------------------------------------------

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");

/** "avc1.PPCCLL" from an AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3.1). */
export function avcCodec(avcC: Uint8Array, fourcc = "avc1"): string | null {
  if (avcC.length < 4 || avcC[0] !== 1) return null;
  return `${fourcc}.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`;
}

/** "hvc1.1.6.L93.B0" from an HEVCDecoderConfigurationRecord (ISO 14496-15 Annex E.3). */
export function hevcCodec(hvcC: Uint8Array, fourcc = "hvc1"): string | null {
  if (hvcC.length < 13) return null;
  const space = hvcC[1]! >> 6;
  const tier = (hvcC[1]! >> 5) & 1;
  const profile = hvcC[1]! & 0x1f;
  // general_profile_compatibility_flags, bit-reversed, as hex without leading zeros
  let flags = ((hvcC[2]! << 24) | (hvcC[3]! << 16) | (hvcC[4]! << 8) | hvcC[5]!) >>> 0;
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    reversed = ((reversed << 1) | (flags & 1)) >>> 0;
    flags >>>= 1;
  }
  const constraints = Array.from(hvcC.subarray(6, 12));
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  const level = hvcC[12]!;
  return [
    fourcc,
    `${["", "A", "B", "C"][space]}${profile}`,
    reversed.toString(16).toUpperCase(),
    `${tier ? "H" : "L"}${level}`,
    ...constraints.map(hex2),
  ].join(".");
}

const dd = (n: number) => String(n).padStart(2, "0");

/** "vp09.PP.LL.DD" from a VPCodecConfigurationRecord's payload after the full-box header (vpcC v1). */
export function vp9CodecFromVpcC(vpcC: Uint8Array): string | null {
  if (vpcC.length < 3) return null;
  return `vp09.${dd(vpcC[0]!)}.${dd(vpcC[1]!)}.${dd(vpcC[2]! >> 4)}`;
}

/**
 * "vp09.PP.10.DD" from a VP9 key frame's uncompressed header (profile; bit depth of profiles 2 and 3), for
 * Matroska, whose CodecPrivate rarely states them. Level 1.0 is a placeholder decoders do not enforce.
 */
export function vp9CodecFromFrame(frame: Uint8Array | undefined): string {
  if (!frame || frame.length < 5 || frame[0]! >> 6 !== 2) return "vp09.00.10.08";
  const b = frame[0]!;
  const profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
  let depth = 8;
  if (profile >= 2) {
    // marker 2, profile 2, [reserved 1 if profile 3], show_existing 1, frame_type 1, show 1, error_res 1,
    // sync code 24, then ten_or_twelve_bit
    const bit = 2 + 2 + (profile === 3 ? 1 : 0) + 4 + 24;
    if (frame.length > (bit >> 3) + 1) depth = (frame[bit >> 3]! >> (7 - (bit & 7))) & 1 ? 12 : 10;
  }
  return `vp09.${dd(profile)}.10.${dd(depth)}`;
}

/** "av01.P.LLT.DD" from an AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3; Matroska's V_AV1 CodecPrivate). */
export function av1Codec(av1C: Uint8Array): string | null {
  if (av1C.length < 4 || av1C[0]! !== 0x81) return null;
  const profile = av1C[1]! >> 5;
  const level = av1C[1]! & 0x1f;
  const tier = av1C[2]! >> 7;
  const high = (av1C[2]! >> 6) & 1;
  const twelve = (av1C[2]! >> 5) & 1;
  const depth = high ? (twelve ? 12 : 10) : 8;
  return `av01.${profile}.${dd(level)}${tier ? "H" : "M"}.${dd(depth)}`;
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Object type, sample rate and channels from an AAC AudioSpecificConfig (ISO 14496-3 §1.6.2.1), or null. */
export function parseAudioSpecificConfig(
  asc: Uint8Array,
): { objectType: number; sampleRate: number; channels: number } | null {
  let bit = 0;
  const read = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      if (bit >> 3 >= asc.length) throw new RangeError("short");
      v = (v << 1) | ((asc[bit >> 3]! >> (7 - (bit & 7))) & 1);
    }
    return v >>> 0;
  };
  try {
    let objectType = read(5);
    if (objectType === 31) objectType = 32 + read(6);
    const index = read(4);
    const sampleRate = index === 15 ? read(24) : AAC_RATES[index];
    const channels = read(4);
    if (!sampleRate) return null;
    return { objectType, sampleRate, channels };
  } catch {
    return null;
  }
}

/** OpusHead (RFC 7845 §5.1), WebCodecs' Opus description, from an MP4 dOps box payload (big-endian). */
export function opusHeadFromDops(dOps: Uint8Array): Uint8Array | null {
  if (dOps.length < 11 || dOps[0] !== 0) return null;
  const channels = dOps[1]!;
  const family = dOps[10]!;
  const table = family === 0 ? 0 : 2 + channels;
  if (dOps.length < 11 + table) return null;
  const out = new Uint8Array(19 + table);
  out.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, channels]); // "OpusHead", version 1
  const v = new DataView(dOps.buffer, dOps.byteOffset, dOps.byteLength);
  const o = new DataView(out.buffer);
  o.setUint16(10, v.getUint16(2), true); // pre-skip
  o.setUint32(12, v.getUint32(4), true); // input sample rate
  o.setInt16(16, v.getInt16(8), true); // output gain
  out[18] = family;
  out.set(dOps.subarray(11, 11 + table), 19);
  return out;
}

/** Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 §3.1), or 0 for a malformed packet. */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length < 1) return 0;
  const toc = packet[0]!;
  const config = toc >> 3;
  // frame sizes in 1/400 s: SILK 10/20/40/60 ms, hybrid 10/20 ms, CELT 2.5/5/10/20 ms
  const size =
    config < 12 ? [4, 8, 16, 24][config & 3]! : config < 16 ? [4, 8][config & 1]! : [1, 2, 4, 8][config & 3]!;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : packet.length > 1 ? packet[1]! & 0x3f : 0;
  return frames * size * 120;
}

export type YuvMatrix = "bt601" | "bt709" | "bt2020";

/** ISO/IEC 23091-2 MatrixCoefficients (MP4 colr nclx, Matroska MatrixCoefficients) → the matrices we convert. */
export function matrixFromCode(code: number): YuvMatrix | null {
  return code === 1
    ? "bt709"
    : code === 5 || code === 6
      ? "bt601"
      : code === 9 || code === 10
        ? "bt2020"
        : null;
}

/** color_space and color_range of a VP9 key frame's uncompressed header (VP9 spec §6.2, §7.2), if it is one. */
export function vp9ColorFromFrame(
  frame: Uint8Array | undefined,
): { matrix: YuvMatrix | null; fullRange: boolean } | null {
  if (!frame || frame.length < 6 || frame[0]! >> 6 !== 2) return null;
  let bit = 2;
  const read = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v = (v << 1) | ((frame[bit >> 3]! >> (7 - (bit & 7))) & 1);
    return v;
  };
  const profile = read(1) | (read(1) << 1);
  if (profile === 3) read(1);
  if (read(1)) return null; // show_existing_frame
  if (read(1) !== 0) return null; // not a key frame
  read(2); // show_frame, error_resilient_mode
  if (read(24) !== 0x498342) return null;
  if (profile >= 2) read(1);
  const cs = read(3);
  const fullRange = cs !== 7 && read(1) === 1;
  const matrix = cs === 2 ? "bt709" : cs === 5 ? "bt2020" : cs === 1 || cs === 3 ? "bt601" : null;
  return { matrix, fullRange };
}
