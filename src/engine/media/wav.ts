/**
 * WAV (RIFF/WAVE) reader and writer.
 *
 * Reads PCM 8/16/24/32-bit integer and IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE; writes 16-bit
 * PCM or 32-bit float. Every header field is validated against the bytes actually present, and a bad file is a
 * `BadInputError` that says what is wrong — never an out-of-bounds read or a silent zero-length result.
 */
import { BadInputError } from "../errors.js";

export type WavSampleFormat = "pcm16" | "float32";

export interface WavAudio {
  sampleRate: number;
  /** One Float32Array per channel, samples in [-1, 1] for integer sources. */
  channels: Float32Array[];
}

export interface DecodedWav extends WavAudio {
  /** What the file stored, e.g. "pcm16", "pcm24", "float32". */
  sourceFormat: string;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const MAX_CHANNELS = 64;
const MAX_SAMPLE_RATE = 768_000;

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(
    view.getUint8(at),
    view.getUint8(at + 1),
    view.getUint8(at + 2),
    view.getUint8(at + 3),
  );
}

/** Encodes channels (equal lengths) as a canonical 44-byte-header WAV file; pcm16 saturates outside [-1, 1). */
export function encodeWav(audio: WavAudio, format: WavSampleFormat = "pcm16"): Uint8Array {
  const { sampleRate, channels } = audio;
  const nch = channels.length;
  if (nch < 1 || nch > MAX_CHANNELS)
    throw new BadInputError(`A WAV file needs 1–${MAX_CHANNELS} channels, got ${nch}.`);
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) {
    throw new BadInputError(
      `WAV sample rate must be an integer in 1–${MAX_SAMPLE_RATE} Hz, got ${sampleRate}.`,
    );
  }
  const frames = channels[0]!.length;
  if (channels.some((c) => c.length !== frames))
    throw new BadInputError("All WAV channels must have the same length.");
  const bytesPerSample = format === "pcm16" ? 2 : 4;
  const blockAlign = nch * bytesPerSample;
  const dataBytes = frames * blockAlign;
  if (dataBytes > 0xffffffff - 36)
    throw new BadInputError("Audio too long for a WAV file (over 4 GiB of samples).");
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, format === "pcm16" ? FORMAT_PCM : FORMAT_FLOAT, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bytesPerSample * 8, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  let at = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const s = channels[c]![i]!;
      if (format === "pcm16") {
        // Scale by 2^15 (the reader divides by the same) and saturate: +1.0 maps to 32767.
        const q = Number.isNaN(s) ? 0 : Math.round(s * 0x8000);
        v.setInt16(at, Math.max(-0x8000, Math.min(0x7fff, q)), true);
        at += 2;
      } else {
        v.setFloat32(at, s, true);
        at += 4;
      }
    }
  }
  return out;
}

interface FmtChunk {
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function readFmt(v: DataView, at: number, size: number): FmtChunk {
  if (size < 16) throw new BadInputError(`WAV "fmt " chunk is ${size} bytes; at least 16 are required.`);
  let format = v.getUint16(at, true);
  const fmt: FmtChunk = {
    format,
    channels: v.getUint16(at + 2, true),
    sampleRate: v.getUint32(at + 4, true),
    blockAlign: v.getUint16(at + 12, true),
    bitsPerSample: v.getUint16(at + 14, true),
  };
  if (format === FORMAT_EXTENSIBLE) {
    if (size < 40)
      throw new BadInputError("WAV WAVE_FORMAT_EXTENSIBLE header is truncated (needs 40 bytes).");
    format = v.getUint16(at + 24, true); // first two bytes of the SubFormat GUID carry the format tag
    fmt.format = format;
  }
  return fmt;
}

function sampleReader(fmt: FmtChunk): {
  name: string;
  bytes: number;
  read: (v: DataView, at: number) => number;
} {
  const { format, bitsPerSample: bits } = fmt;
  if (format === FORMAT_PCM) {
    if (bits === 8) return { name: "pcm8", bytes: 1, read: (v, at) => (v.getUint8(at) - 128) / 128 };
    if (bits === 16) return { name: "pcm16", bytes: 2, read: (v, at) => v.getInt16(at, true) / 0x8000 };
    if (bits === 24) {
      return {
        name: "pcm24",
        bytes: 3,
        read: (v, at) => ((v.getInt8(at + 2) << 16) | (v.getUint8(at + 1) << 8) | v.getUint8(at)) / 0x800000,
      };
    }
    if (bits === 32) return { name: "pcm32", bytes: 4, read: (v, at) => v.getInt32(at, true) / 0x80000000 };
  }
  if (format === FORMAT_FLOAT) {
    if (bits === 32) return { name: "float32", bytes: 4, read: (v, at) => v.getFloat32(at, true) };
    if (bits === 64) return { name: "float64", bytes: 8, read: (v, at) => v.getFloat64(at, true) };
  }
  throw new BadInputError(
    `Unsupported WAV encoding (format tag ${format}, ${bits}-bit). Use 8/16/24/32-bit PCM or 32/64-bit float.`,
    { format, bitsPerSample: bits },
  );
}

/** Decodes a WAV file; throws `BadInputError` naming the problem for anything malformed or unsupported. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || fourcc(v, 0) !== "RIFF" || fourcc(v, 8) !== "WAVE") {
    throw new BadInputError(
      "Not a WAV file (no RIFF/WAVE header). Provide a .wav file or another supported format.",
    );
  }
  let fmt: FmtChunk | null = null;
  let data: { at: number; size: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.byteLength && !data) {
    const id = fourcc(v, at);
    const declared = v.getUint32(at + 4, true);
    const body = at + 8;
    const remaining = bytes.byteLength - body;
    if (id === "data") {
      // Streaming writers leave the size at 0 or 0xFFFFFFFF: take what is there.
      const size = declared === 0 || declared === 0xffffffff ? remaining : declared;
      if (size > remaining) {
        throw new BadInputError(
          `WAV file is truncated: data chunk declares ${size} bytes, ${remaining} present.`,
        );
      }
      data = { at: body, size };
    } else {
      if (declared > remaining) throw new BadInputError(`WAV file is truncated inside the "${id}" chunk.`);
      if (id === "fmt ") fmt = readFmt(v, body, declared);
      at = body + declared + (declared & 1); // chunks are padded to an even size
    }
  }
  if (!fmt) throw new BadInputError('WAV file has no "fmt " chunk before its audio data.');
  if (!data) throw new BadInputError('WAV file has no "data" chunk.');
  const { channels: nch, sampleRate } = fmt;
  if (nch < 1 || nch > MAX_CHANNELS)
    throw new BadInputError(`WAV declares ${nch} channels; 1–${MAX_CHANNELS} are supported.`);
  if (sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) {
    throw new BadInputError(
      `WAV declares a sample rate of ${sampleRate} Hz; 1–${MAX_SAMPLE_RATE} Hz are supported.`,
    );
  }
  const reader = sampleReader(fmt);
  if (fmt.blockAlign !== nch * reader.bytes) {
    throw new BadInputError(
      `WAV block align ${fmt.blockAlign} does not match ${nch} × ${reader.bytes}-byte samples.`,
    );
  }
  const frames = Math.floor(data.size / fmt.blockAlign);
  const channels = Array.from({ length: nch }, () => new Float32Array(frames));
  let p = data.at;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      channels[c]![i] = reader.read(v, p);
      p += reader.bytes;
    }
  }
  return { sampleRate, channels, sourceFormat: reader.name };
}
