/**
 * Issue 11 item 6: fuzzing the WAV reader (media/wav.ts) on arbitrary bytes, generated RIFF files (random fmt
 * fields, chunk lists, declared sizes) and mutated valid files of every encoding it reads.
 * Properties: only BadInputError escapes, with a non-empty message; no case is slow; an accepted file's channels
 * agree in length and never hold more samples than its data bytes; a file the generator built consistently is
 * accepted and decodes to the samples it stored (read here independently of the reader).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BadInputError } from "../../src/engine/errors.js";
import { decodeWav, encodeWav } from "../../src/engine/media/wav.js";
import { CASES, check, type Mutation, mutate, mutationArb, type Tally, timed } from "../support/fuzz.js";

/** Only BadInputError with a message may escape. */
function onlyBadInput(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    if (!e.message.trim()) throw new Error("a BadInputError without a message");
  }
}

/** What every accepted file must satisfy. */
function acceptedShape(bytes: Uint8Array, tally: Tally): void {
  const r = decodeWav(bytes);
  tally.accepted = (tally.accepted ?? 0) + 1;
  const n = r.channels[0]?.length ?? -1;
  if (r.channels.length < 1 || r.channels.length > 64) throw new Error(`${r.channels.length} channels`);
  if (r.channels.some((c) => c.length !== n)) throw new Error("channels differ in length");
  if (n * r.channels.length > bytes.length) throw new Error(`${n} frames from a ${bytes.length}-byte file`);
  if (!(r.sampleRate >= 1 && r.sampleRate <= 768_000)) throw new Error(`sample rate ${r.sampleRate}`);
  if (r.sourceFormat.startsWith("pcm"))
    for (const c of r.channels)
      for (const x of c) if (!(x >= -1 && x <= 1)) throw new Error(`PCM sample ${x}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Generated RIFF files

interface Enc {
  tag: number;
  bits: number;
  name: string;
}
const ENCODINGS: Enc[] = [
  { tag: 1, bits: 8, name: "pcm8" },
  { tag: 1, bits: 16, name: "pcm16" },
  { tag: 1, bits: 24, name: "pcm24" },
  { tag: 1, bits: 32, name: "pcm32" },
  { tag: 3, bits: 32, name: "float32" },
  { tag: 3, bits: 64, name: "float64" },
];

/** One sample value read straight from little-endian bytes (the reference the reader is compared to). */
function refSample(enc: Enc, b: Uint8Array, at: number): number {
  const v = new DataView(b.buffer, b.byteOffset + at, enc.bits / 8);
  if (enc.tag === 3) return enc.bits === 32 ? v.getFloat32(0, true) : v.getFloat64(0, true);
  if (enc.bits === 8) return (b[at]! - 128) / 128;
  let x = 0;
  for (let i = enc.bits / 8 - 1; i >= 0; i--) x = x * 256 + b[at + i]!;
  const full = 2 ** enc.bits;
  if (x >= full / 2) x -= full;
  return x / (full / 2);
}

function u32(x: number): number[] {
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff];
}
function u16(x: number): number[] {
  return [x & 0xff, (x >>> 8) & 0xff];
}
function riff(chunks: number[][]): Uint8Array {
  const body = chunks.flat();
  return Uint8Array.from([
    ...[0x52, 0x49, 0x46, 0x46],
    ...u32(4 + body.length),
    ...[0x57, 0x41, 0x56, 0x45],
    ...body,
  ]);
}
function chunk(id: string, payload: number[], declared = payload.length): number[] {
  const pad = payload.length & 1 ? [0] : [];
  return [...[...id].map((c) => c.charCodeAt(0)), ...u32(declared), ...payload, ...pad];
}
function fmtPayload(tag: number, ch: number, rate: number, blockAlign: number, bits: number, ext: boolean) {
  const base = [
    ...u16(ext ? 0xfffe : tag),
    ...u16(ch),
    ...u32(rate),
    ...u32(rate * blockAlign),
    ...u16(blockAlign),
    ...u16(bits),
  ];
  if (!ext) return base;
  // cbSize 22, valid bits, channel mask, SubFormat GUID whose first two bytes are the tag
  return [...base, ...u16(22), ...u16(bits), ...u32(0), ...u16(tag), ...new Array<number>(14).fill(0)];
}

/** A consistent file: the generator knows it must be accepted and what it decodes to. */
const validArb = fc
  .record({
    enc: fc.constantFrom(...ENCODINGS),
    channels: fc.integer({ min: 1, max: 6 }),
    frames: fc.nat(16),
    rate: fc.constantFrom(1, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 768_000),
    ext: fc.boolean(),
    junkBefore: fc.array(
      fc.tuple(fc.constantFrom("LIST", "junk", "bext", "fact"), fc.uint8Array({ maxLength: 9 })),
      {
        maxLength: 3,
      },
    ),
    streamingSize: fc.constantFrom(null, 0, 0xffffffff),
    trailing: fc.nat(3),
    seed: fc.uint8Array({ minLength: 6 * 8 * 16, maxLength: 6 * 8 * 16 }),
  })
  .map((g) => {
    const bpsample = g.enc.bits / 8;
    const payload = Array.from(g.seed.subarray(0, g.frames * g.channels * bpsample));
    const dataDeclared = g.streamingSize ?? payload.length;
    const chunks = [
      ...g.junkBefore.map(([id, b]) => chunk(id, Array.from(b))),
      chunk("fmt ", fmtPayload(g.enc.tag, g.channels, g.rate, g.channels * bpsample, g.enc.bits, g.ext)),
    ];
    const file = riff(chunks);
    // the data chunk last, unpadded, so a streaming size of 0/0xFFFFFFFF means "to the end of the file";
    // `trailing` bytes of a partial frame follow it (they are ignored)
    const trailing =
      g.streamingSize === null
        ? []
        : Array.from(g.seed.subarray(0, Math.min(g.trailing, bpsample * g.channels - 1)));
    const tail = [...[0x64, 0x61, 0x74, 0x61], ...u32(dataDeclared), ...payload, ...trailing];
    const bytes = Uint8Array.from([...file, ...tail]);
    return { g, bytes, dataAt: file.length + 8 };
  });

const fmtChunkArb = fc.record({
  kind: fc.constant("fmt " as const),
  tag: fc.oneof(
    { arbitrary: fc.constantFrom(1, 3), weight: 3 },
    fc.constantFrom(0, 2, 6, 7, 0x55, 0xfffe, 0xffff),
  ),
  ext: fc.boolean(),
  channels: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 },
    fc.constantFrom(0, 6, 64, 65, 0xffff),
    fc.nat(0xffff),
  ),
  rate: fc.oneof(
    { arbitrary: fc.nat(800_000), weight: 3 },
    fc.constantFrom(0, 1, 8000, 44100, 768_000, 768_001, 0xffffffff),
    fc.nat(),
  ),
  blockAlign: fc.oneof(fc.nat(16), fc.nat(0xffff)),
  bits: fc.oneof(
    { arbitrary: fc.constantFrom(8, 16, 24, 32, 64), weight: 3 },
    fc.constantFrom(0, 1, 4, 12, 20, 48, 0xffff),
  ),
  cut: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.nat(40)),
  /** blockAlign = channels × bytes per sample, so some files get past the header checks. */
  consistent: fc.boolean(),
});
const dataChunkArb = fc.record({
  kind: fc.constant("data" as const),
  declared: fc.oneof(
    fc.constantFrom("exact" as const),
    fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff),
    fc.nat(64),
  ),
  payload: fc.uint8Array({ maxLength: 64 }),
});
const otherChunkArb = fc.record({
  kind: fc.constant("other" as const),
  id: fc.constantFrom("LIST", "junk", "fmt", "DATA", "\0\0\0\0"),
  declared: fc.oneof(fc.nat(16), fc.constantFrom(0xffffffff, 0x80000000)),
  payload: fc.uint8Array({ maxLength: 16 }),
});

/** Anything RIFF-shaped: random fmt fields, sizes and chunk orders. */
const riffArb = fc
  .record({
    riffMagic: fc.oneof(
      { arbitrary: fc.constant("RIFF"), weight: 4 },
      fc.constantFrom("RIFX", "RF64", "riff"),
    ),
    waveMagic: fc.oneof({ arbitrary: fc.constant("WAVE"), weight: 4 }, fc.constantFrom("AVI ", "wave")),
    chunks: fc.oneof(
      fc.array(fc.oneof(fmtChunkArb, dataChunkArb, otherChunkArb), { maxLength: 4 }),
      // the usual layout (extra chunks, fmt, data): reaches the per-field checks and the sample loop
      fc
        .tuple(fc.array(otherChunkArb, { maxLength: 2 }), fmtChunkArb, dataChunkArb)
        .map(([o, f, d]) => [...o, f, d]),
    ),
    cutEnd: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.nat(8)),
  })
  .map((r) => {
    const body: number[][] = r.chunks.map((c) => {
      if (c.kind === "fmt ") {
        const align = c.consistent ? (c.channels * Math.ceil(c.bits / 8)) & 0xffff : c.blockAlign;
        const p = fmtPayload(c.tag, c.channels, c.rate, align, c.bits, c.ext);
        const cut = p.slice(0, Math.max(0, p.length - c.cut));
        return chunk("fmt ", cut);
      }
      if (c.kind === "data")
        return chunk("data", Array.from(c.payload), c.declared === "exact" ? c.payload.length : c.declared);
      return chunk(c.id.padEnd(4, " ").slice(0, 4), Array.from(c.payload), c.declared);
    });
    const b = riff(body);
    b.set(
      [...r.riffMagic].map((ch) => ch.charCodeAt(0)),
      0,
    );
    b.set(
      [...r.waveMagic].map((ch) => ch.charCodeAt(0)),
      8,
    );
    return b.subarray(0, Math.max(0, b.length - r.cutEnd));
  });

function seeds(): Uint8Array[] {
  const ch = (n: number, k: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * (k + 1)) * 0.9);
  return [
    encodeWav({ sampleRate: 16000, channels: [ch(20, 0)] }),
    encodeWav({ sampleRate: 44100, channels: [ch(9, 0), ch(9, 1)] }, "float32"),
    encodeWav({ sampleRate: 8000, channels: [ch(5, 0), ch(5, 1), ch(5, 2), ch(5, 3), ch(5, 4), ch(5, 5)] }),
  ];
}

describe("fuzz: WAV reader", () => {
  it(`arbitrary bytes, generated RIFF files, valid files of every encoding and mutated files (${CASES} each)`, async () => {
    const counts: number[] = [];

    const t1: Tally = { slowest: 0 };
    counts.push(
      await check(
        "wav/bytes",
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 256 }),
            // RIFF/WAVE magic then noise: gets past the first check
            fc
              .uint8Array({ maxLength: 200 })
              .map((b) => Uint8Array.from([...riff([]).subarray(0, 12), ...b])),
          ),
          timed(t1, (b) => onlyBadInput(() => acceptedShape(b, t1))),
        ),
        CASES,
        t1,
      ),
    );

    const t2: Tally = { slowest: 0, accepted: 0 };
    counts.push(
      await check(
        "wav/riff",
        fc.property(
          riffArb,
          timed(t2, (b) => onlyBadInput(() => acceptedShape(b, t2))),
        ),
        CASES,
        t2,
      ),
    );
    // the generator reaches past the header checks (a share of its files decode)
    expect(t2.accepted).toBeGreaterThan(CASES / 500);

    const t3: Tally = { slowest: 0, accepted: 0 };
    counts.push(
      await check(
        "wav/valid",
        fc.property(
          validArb,
          timed(t3, ({ g, bytes, dataAt }) => {
            const r = decodeWav(bytes); // must not throw
            t3.accepted = (t3.accepted ?? 0) + 1;
            expect(r.sourceFormat).toBe(g.enc.name);
            expect(r.sampleRate).toBe(g.rate);
            expect(r.channels.length).toBe(g.channels);
            const bps = g.enc.bits / 8;
            for (let i = 0; i < g.frames; i++)
              for (let c = 0; c < g.channels; c++) {
                const want = Math.fround(refSample(g.enc, bytes, dataAt + (i * g.channels + c) * bps));
                const got = r.channels[c]![i]!;
                if (!Object.is(got, want) && !(Number.isNaN(got) && Number.isNaN(want)))
                  throw new Error(`${g.enc.name} frame ${i} channel ${c}: ${got} ≠ ${want}`);
              }
            expect(r.channels[0]!.length).toBe(g.frames);
          }),
        ),
        CASES,
        t3,
      ),
    );

    const t4: Tally = { slowest: 0, accepted: 0 };
    const base = seeds();
    counts.push(
      await check(
        "wav/mutated",
        fc.property(
          fc.nat(base.length - 1),
          fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
          timed(t4, (k: number, muts: Mutation[]) =>
            onlyBadInput(() => acceptedShape(mutate(base[k]!, muts), t4)),
          ),
        ),
        CASES,
        t4,
      ),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(CASES);
  });
});
