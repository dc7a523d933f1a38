import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BadInputError } from "../errors.js";
import { decodeWav, encodeWav } from "./wav.js";

function header(
  fields: { format: number; channels: number; rate: number; bits: number; blockAlign?: number },
  data: Uint8Array,
) {
  const out = new Uint8Array(44 + data.length);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  put(0, "RIFF");
  v.setUint32(4, 36 + data.length, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, fields.format, true);
  v.setUint16(22, fields.channels, true);
  v.setUint32(24, fields.rate, true);
  const align = fields.blockAlign ?? (fields.channels * fields.bits) / 8;
  v.setUint32(28, fields.rate * align, true);
  v.setUint16(32, align, true);
  v.setUint16(34, fields.bits, true);
  put(36, "data");
  v.setUint32(40, data.length, true);
  out.set(data, 44);
  return out;
}

describe("WAV writer/reader", () => {
  it("round-trips 16-bit PCM stereo within half a quantisation step", () => {
    const left = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.9);
    const right = Float32Array.from({ length: 100 }, (_, i) => (i % 7) / 7 - 0.5);
    const bytes = encodeWav({ sampleRate: 16_000, channels: [left, right] }, "pcm16");
    expect(bytes.byteLength).toBe(44 + 100 * 2 * 2);
    const back = decodeWav(bytes);
    expect(back.sampleRate).toBe(16_000);
    expect(back.sourceFormat).toBe("pcm16");
    for (const [a, b] of [
      [left, back.channels[0]!],
      [right, back.channels[1]!],
    ] as const) {
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(0.5 / 32768);
    }
  });

  it("round-trips float32 exactly and clamps only PCM", () => {
    const x = Float32Array.from([0, 0.25, -1.5, 2, 1e-8]);
    expect(
      Array.from(decodeWav(encodeWav({ sampleRate: 48_000, channels: [x] }, "float32")).channels[0]!),
    ).toEqual(Array.from(x));
    const pcm = decodeWav(encodeWav({ sampleRate: 48_000, channels: [x] }, "pcm16")).channels[0]!;
    expect(pcm[2]).toBe(-1);
    expect(pcm[3]).toBeCloseTo(1, 4);
  });

  it("reads 8-bit unsigned and 24-bit PCM", () => {
    const u8 = decodeWav(
      header({ format: 1, channels: 1, rate: 8000, bits: 8 }, Uint8Array.from([0, 128, 255])),
    );
    expect(Array.from(u8.channels[0]!)).toEqual([-1, 0, 127 / 128]);
    const s24 = decodeWav(
      header(
        { format: 1, channels: 1, rate: 8000, bits: 24 },
        Uint8Array.from([0x00, 0x00, 0x80, 0xff, 0xff, 0x7f]),
      ),
    );
    expect(s24.channels[0]![0]).toBe(-1);
    expect(s24.channels[0]![1]).toBeCloseTo(1, 6);
  });

  it("skips unknown chunks (with odd-size padding) before the data", () => {
    const base = encodeWav({ sampleRate: 8000, channels: [Float32Array.from([0.5, -0.5])] });
    const extra = Uint8Array.from([..."LIST"].map((c) => c.charCodeAt(0)).concat([3, 0, 0, 0, 1, 2, 3, 0]));
    const bytes = new Uint8Array(base.length + extra.length);
    bytes.set(base.subarray(0, 36));
    bytes.set(extra, 36);
    bytes.set(base.subarray(36), 36 + extra.length);
    expect(Array.from(decodeWav(bytes).channels[0]!)).toEqual(Array.from(decodeWav(base).channels[0]!));
  });

  it("names the problem in a BadInputError for broken files", () => {
    const good = encodeWav({ sampleRate: 8000, channels: [new Float32Array(10)] });
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /Not a WAV file/],
      [Uint8Array.from(good).fill(0, 0, 4), /Not a WAV file/],
      [good.subarray(0, 60), /truncated/],
      [
        header({ format: 2, channels: 1, rate: 8000, bits: 4 }, new Uint8Array(4)),
        /Unsupported WAV encoding/,
      ],
      [header({ format: 1, channels: 0, rate: 8000, bits: 16 }, new Uint8Array(4)), /channels/],
      [header({ format: 1, channels: 1, rate: 0, bits: 16 }, new Uint8Array(4)), /sample rate/],
      [
        header({ format: 1, channels: 2, rate: 8000, bits: 16, blockAlign: 3 }, new Uint8Array(4)),
        /block align/,
      ],
      [good.subarray(0, 36), /no "data" chunk/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeWav(bytes)).toThrow(BadInputError);
      expect(() => decodeWav(bytes)).toThrow(message);
    }
  });

  it("rejects impossible audio when writing", () => {
    expect(() => encodeWav({ sampleRate: 16_000, channels: [] })).toThrow(/channels/);
    expect(() => encodeWav({ sampleRate: 0.5, channels: [new Float32Array(1)] })).toThrow(/sample rate/);
    expect(() =>
      encodeWav({ sampleRate: 8000, channels: [new Float32Array(1), new Float32Array(2)] }),
    ).toThrow(/same length/);
  });

  it("never fails with anything but BadInputError on mutated or random bytes", () => {
    const good = encodeWav({
      sampleRate: 8000,
      channels: [Float32Array.from({ length: 16 }, (_, i) => i / 16)],
    });
    const mutated = fc
      .array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
      .map((edits) => {
        const b = Uint8Array.from(good);
        for (const [i, v] of edits) b[i] = v;
        return b;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.uint8Array({ maxLength: 128 }),
          mutated.map((b) => b.subarray(0, b.length >> 1)),
        ),
        (b) => {
          try {
            const r = decodeWav(b);
            expect(r.channels.every((c) => c.length === r.channels[0]!.length)).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(BadInputError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
