/**
 * Fuzzing the safetensors header parser (whole-file and streamed) on arbitrary bytes, generated headers and
 * mutated files. Properties: only ModelPackError escapes; no case is slow; reads stay inside the file; decoded
 * tensors never hold more elements than the file has bytes; the streamed and whole-file readers agree.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ASYNC_CASES,
  CASES,
  check,
  type Mutation,
  mutate,
  mutationArb,
  onlyModelPackErrors,
  onlyModelPackErrorsAsync,
  type Tally,
  timed,
  timedAsync,
  watched,
} from "../../../test/support/fuzz.js";
import { f32Bytes, parseSafetensors, SafetensorsFile, writeSafetensors } from "./safetensors.js";
import { openSafetensors } from "./safetensors-stream.js";

function seedSafetensors(): Uint8Array[] {
  const f = (n: number) => f32Bytes(Float32Array.from({ length: n }, (_, i) => i));
  return [
    writeSafetensors({
      a: { dtype: "F32", shape: [2, 3], data: f(6) },
      b: { dtype: "I64", shape: [1], data: new Uint8Array(8) },
    }),
    writeSafetensors(
      {
        h: { dtype: "F16", shape: [4], data: new Uint8Array(8) },
        u: { dtype: "U8", shape: [3], data: new Uint8Array(3) },
      },
      { format: "pt" },
    ),
    writeSafetensors({
      e: { dtype: "BF16", shape: [0, 5], data: new Uint8Array(0) },
      s: { dtype: "BOOL", shape: [], data: new Uint8Array(1) },
    }),
  ];
}

function decodeAll(bytes: Uint8Array, tally: Tally): void {
  const f = new SafetensorsFile(bytes, "fuzz.safetensors");
  tally.accepted = (tally.accepted ?? 0) + 1;
  for (const k of f.keys()) {
    const v = f.get(k);
    tally.tensors = (tally.tensors ?? 0) + 1;
    if (v.length > bytes.length)
      throw new Error(`decoded ${v.length} elements from a ${bytes.length}-byte file`);
  }
}

const dimArb = fc.oneof(fc.nat(6), fc.constantFrom(-1, 0.5, 2 ** 53, 1e308, "3", null, 2 ** 31));
const dtypeArb = fc.oneof(
  fc.constantFrom("F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"),
  fc.constantFrom("f32", "constructor", "toString", "__proto__", "hasOwnProperty", "F8_E4M3", ""),
  fc.string({ maxLength: 6 }),
);
const entryArb = fc.record(
  {
    dtype: fc.oneof(dtypeArb, fc.jsonValue({ maxDepth: 1 })),
    shape: fc.oneof(fc.array(dimArb, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    data_offsets: fc.oneof(
      fc.tuple(fc.nat(96), fc.nat(96)),
      fc.array(fc.oneof(fc.integer(), fc.double()), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
  },
  { requiredKeys: [] },
);
const headerArb = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__metadata__", "__proto__", "constructor", "")),
  fc.oneof({ weight: 5, arbitrary: entryArb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
  { maxKeys: 5 },
);
/** Headers that tile the data buffer correctly, then get one field perturbed. */
const tiledArb = fc
  .tuple(
    fc.array(
      fc.tuple(fc.constantFrom("F32", "F16", "I64", "U8", "BOOL"), fc.array(fc.nat(4), { maxLength: 3 })),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
    fc.nat(),
    fc.constantFrom("shape", "offset", "dtype", "none"),
    fc.integer({ min: -3, max: 3 }),
  )
  .map(([specs, which, field, delta]) => {
    const bytesPer: Record<string, number> = { F32: 4, F16: 2, I64: 8, U8: 1, BOOL: 1 };
    const h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> = {};
    let off = 0;
    specs.forEach(([dtype, shape], i) => {
      const n = shape.reduce((a, b) => a * b, 1) * bytesPer[dtype];
      h[`t${i}`] = { dtype, shape, data_offsets: [off, off + n] };
      off += n;
    });
    const victim = h[`t${which % specs.length}`];
    if (field === "shape") victim.shape = [...victim.shape, Math.abs(delta)];
    if (field === "offset") victim.data_offsets = [victim.data_offsets[0], victim.data_offsets[1] + delta];
    if (field === "dtype") victim.dtype = "F64";
    return { header: h, dataLen: Math.max(0, off + (field === "none" ? 0 : delta)) };
  });

function fileFromHeader(header: unknown, dataLen: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe("fuzz: safetensors header parser", () => {
  it(`arbitrary bytes, structured headers and tiled headers (${CASES} each)`, async () => {
    const seeds = seedSafetensors();
    let total = 0;
    let tally: Tally = { slowest: 0 };
    total += await check(
      "safetensors/arbitrary-bytes",
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }),
          // a plausible length prefix followed by junk
          fc.tuple(fc.nat(300), fc.uint8Array({ maxLength: 256 })).map(([n, rest]) => {
            const b = new Uint8Array(8 + rest.length);
            new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
            b.set(rest, 8);
            return b;
          }),
        ),
        timed(tally, (b: Uint8Array) => onlyModelPackErrors(() => decodeAll(b, tally))),
      ),
      CASES,
      tally,
    );
    tally = { slowest: 0 };
    total += await check(
      "safetensors/structured-headers",
      fc.property(
        headerArb,
        fc.nat(128),
        timed(tally, (h: unknown, dataLen: number) =>
          onlyModelPackErrors(() => decodeAll(fileFromHeader(h, dataLen), tally)),
        ),
      ),
      CASES,
      tally,
    );
    tally = { slowest: 0 };
    total += await check(
      "safetensors/tiled-headers",
      fc.property(
        tiledArb,
        timed(tally, ({ header, dataLen }) =>
          onlyModelPackErrors(() => decodeAll(fileFromHeader(header, dataLen), tally)),
        ),
      ),
      CASES,
      tally,
    );
    tally = { slowest: 0 };
    total += await check(
      "safetensors/mutated-files-streamed",
      fc.asyncProperty(
        fc.nat(seeds.length - 1),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        timedAsync(tally, async (which: number, muts: Mutation[]) => {
          const bytes = mutate(seeds[which], muts);
          const src = watched(bytes, "m.safetensors");
          let streamedOk = false;
          await onlyModelPackErrorsAsync(async () => {
            const ck = await openSafetensors(src);
            streamedOk = true;
            tally.accepted = (tally.accepted ?? 0) + 1;
            for (const k of ck.keys()) {
              const v = await ck.read(k);
              tally.tensors = (tally.tensors ?? 0) + 1;
              if (v.length > bytes.length) throw new Error("decoded more elements than the file has bytes");
            }
          });
          if (src.bytesRead > 2 * bytes.length + 16)
            throw new Error(`read ${src.bytesRead} bytes of a ${bytes.length}-byte file`);
          // the streaming reader and the whole-file parser must agree on accept/reject
          let wholeOk = false;
          onlyModelPackErrors(() => {
            parseSafetensors(bytes);
            wholeOk = true;
          });
          if (streamedOk !== wholeOk) throw new Error(`streamed ${streamedOk} vs whole-file ${wholeOk}`);
        }),
      ),
      ASYNC_CASES,
      tally,
    );
    expect(total).toBeGreaterThanOrEqual(10_000);
  }, 120_000);
});
