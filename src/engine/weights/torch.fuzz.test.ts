/**
 * Fuzzing the torch pickle reader: the VM alone (arbitrary bytes, opcode-grammar pickles, mutated torch.save
 * pickles) and the whole `.pth` reader (those pickles re-zipped with valid CRCs, and mutated archives).
 * Properties: only ModelPackError escapes; no case is slow; VM ops/stack/memo never exceed the pickle's length;
 * reads stay bounded by the file; no tensor materialises more elements than the file has bytes (or the
 * documented broadcast allowance, MAX_EXPANDED_NUMEL).
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
import {
  concatParts,
  OrderedDict,
  pickleDump,
  type SaveValue,
  Storage,
  Tensor,
  Tuple,
  torchSave,
  zipRecords,
} from "../../../test/support/torchsave.js";
import { unpickle } from "./pickle.js";
import { MAX_EXPANDED_NUMEL, openTorchCheckpoint } from "./torch.js";
import { makePersistentLoad, type StorageRef, TORCH_GLOBALS } from "./torch-pickle.js";

const enc = (s: string) => [...new TextEncoder().encode(s)];
const le = (v: number, n: number) => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * i)) & 0xff);
const GLOBAL_NAMES = [
  ...TORCH_GLOBALS.keys(),
  "os.system",
  "posix.system",
  "builtins.eval",
  "builtins.getattr",
  "subprocess.Popen",
  "torch.load",
  "collections.defaultdict",
  "__builtin__.open",
];
const globalOp = (full: string) => {
  const i = full.lastIndexOf(".");
  return [0x63, ...enc(`${full.slice(0, i)}\n${full.slice(i + 1)}\n`)];
};
const opArb: fc.Arbitrary<number[]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(
        0x28,
        0x29,
        0x5d,
        0x7d,
        0x74,
        0x85,
        0x86,
        0x87,
        0x73,
        0x75,
        0x61,
        0x65,
        0x52,
        0x62,
        0x51,
        0x4e,
        0x88,
        0x89,
        0x30,
        0x31,
        0x32,
        0x94,
        0x93,
        0x81,
        0x8f,
        0x90,
        0x91,
        0x6c,
        0x64,
      )
      .map((b) => [b]),
  },
  { weight: 2, arbitrary: fc.nat(255).map((n) => [0x4b, n]) },
  { weight: 1, arbitrary: fc.integer().map((n) => [0x4a, ...le(n >>> 0, 4)]) },
  { weight: 1, arbitrary: fc.nat(0xffff).map((n) => [0x4d, ...le(n, 2)]) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 9 }).map((b) => [0x8a, b.length, ...b]) },
  {
    weight: 1,
    arbitrary: fc.double().map((d) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, d);
      return [0x47, ...b];
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom("storage", "cpu", "0", "1", "a.weight", "_metadata", "model", "")
      .map((s) => [0x8c, enc(s).length, ...enc(s)]),
  },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 6 }).map((s) => [0x58, ...le(enc(s).length, 4), ...enc(s)]),
  },
  { weight: 2, arbitrary: fc.nat(8).map((i) => [0x71, i]) },
  { weight: 2, arbitrary: fc.nat(8).map((i) => [0x68, i]) },
  { weight: 3, arbitrary: fc.constantFrom(...GLOBAL_NAMES).map(globalOp) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("FloatStorage", "HalfStorage", "LongStorage", "UntypedStorage"), fc.nat(20))
      .map(([cls, n]) => [
        0x28,
        0x8c,
        7,
        ...enc("storage"),
        ...globalOp(`torch.${cls}`),
        0x8c,
        1,
        ...enc("0"),
        0x8c,
        3,
        ...enc("cpu"),
        0x4b,
        n,
        0x74,
        0x51,
      ]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(0x58, 0x42, 0x8b, 0x54), fc.nat(0xffffffff))
      .map(([op, n]) => [op, ...le(n, 4)]),
  },
  { weight: 1, arbitrary: fc.nat(0xffffffff).map((n) => [0x95, ...le(n, 4), 0, 0, 0, 0]) },
  { weight: 1, arbitrary: fc.nat(255).map((b) => [b]) },
);
const grammarPickle = fc
  .tuple(fc.constantFrom(2, 4), fc.array(opArb, { maxLength: 60 }))
  .map(([p, ops]) => Uint8Array.from([0x80, p, ...ops.flat(), 0x2e]));

function seedPickles(): Uint8Array[] {
  const s = Storage.f32([0, 1, 2, 3, 4, 5, 6, 7]);
  const sd = (): SaveValue =>
    new OrderedDict(
      [
        ["w", new Tensor(s, [2, 3])],
        ["wt", new Tensor(s, [3, 2], { stride: [1, 3] })],
        ["p", new Tensor(s, [2], { offset: 1, stride: [3], parameter: true })],
        ["ids", new Tensor(Storage.i64([1, 2]), [2])],
      ],
      new OrderedDict([["", new Map([["version", 1]])]]),
    );
  return [
    pickleDump(sd(), 2),
    pickleDump(sd(), 4),
    pickleDump(
      new Map<string, SaveValue>([
        ["model", sd()],
        ["epoch", 3],
        ["hist", [1.5, new Tuple([1, 2])]],
      ]),
      2,
    ),
  ];
}

function runVm(b: Uint8Array, tally: Tally): void {
  const storages = new Map<string, StorageRef>();
  const r = unpickle(b, {
    globals: TORCH_GLOBALS,
    persistentLoad: makePersistentLoad(storages),
    file: "fuzz.pkl",
  });
  tally.accepted = (tally.accepted ?? 0) + 1;
  if (r.ops > b.length || r.memoSize > b.length || r.maxStack > b.length) {
    throw new Error(
      `VM work exceeds input: ops ${r.ops}, memo ${r.memoSize}, stack ${r.maxStack}, bytes ${b.length}`,
    );
  }
}

/** Wrap a pickle in a torch zip with valid CRCs (so the VM, not the CRC, sees the mutation) and read every tensor. */
async function runTorch(pkl: Uint8Array, storage: Uint8Array, tally: Tally): Promise<void> {
  const zip = concatParts(
    zipRecords([
      ["archive/data.pkl", pkl],
      ["archive/data/0", storage],
      ["archive/data/1", storage.subarray(0, 16)],
    ]),
  );
  const src = watched(zip, "fuzz.pth");
  await onlyModelPackErrorsAsync(async () => {
    const ck = await openTorchCheckpoint(src);
    tally.accepted = (tally.accepted ?? 0) + 1;
    for (const k of ck.keys()) {
      const v = await ck.read(k);
      tally.tensors = (tally.tensors ?? 0) + 1;
      if (v.length > Math.max(zip.length, MAX_EXPANDED_NUMEL))
        throw new Error(`materialised ${v.length} elements`);
    }
  });
  if (src.bytesRead > 4 * zip.length + 2048)
    throw new Error(`read ${src.bytesRead} bytes of a ${zip.length}-byte file`);
}

describe("fuzz: torch pickle reader", () => {
  it(`arbitrary bytes, opcode-grammar pickles and mutated torch pickles (${CASES} each)`, async () => {
    const seeds = seedPickles();
    const storage = new Uint8Array(Float32Array.from({ length: 8 }, (_, i) => i).buffer);
    let total = 0;
    let tally: Tally = { slowest: 0 };
    total += await check(
      "pickle/arbitrary-bytes",
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }),
          fc.uint8Array({ maxLength: 256 }).map((b) => Uint8Array.from([0x80, 2, ...b])),
        ),
        timed(tally, (b: Uint8Array) => onlyModelPackErrors(() => runVm(b, tally))),
      ),
      CASES,
      tally,
    );
    tally = { slowest: 0 };
    total += await check(
      "pickle/opcode-grammar",
      fc.property(
        grammarPickle,
        timed(tally, (b: Uint8Array) => onlyModelPackErrors(() => runVm(b, tally))),
      ),
      CASES,
      tally,
    );
    tally = { slowest: 0 };
    total += await check(
      "pickle/mutated-seeds",
      fc.property(
        fc.nat(seeds.length - 1),
        fc.array(mutationArb, { minLength: 1, maxLength: 2 }),
        timed(tally, (which: number, muts: Mutation[]) =>
          onlyModelPackErrors(() => runVm(mutate(seeds[which], muts, 2), tally)),
        ),
      ),
      CASES,
      tally,
    );
    tally = { slowest: 0 };
    total += await check(
      "torch-zip/grammar-and-mutated-pickles",
      fc.asyncProperty(
        fc.oneof(
          grammarPickle,
          fc
            .tuple(fc.nat(seeds.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
            .map(([w, m]) => mutate(seeds[w], m, 2)),
        ),
        timedAsync(tally, (pkl: Uint8Array) => runTorch(pkl, storage, tally)),
      ),
      ASYNC_CASES,
      tally,
    );
    tally = { slowest: 0 };
    const good = torchSave(new OrderedDict([["w", new Tensor(Storage.f32([1, 2, 3, 4]), [2, 2])]]));
    total += await check(
      "torch-zip/mutated-archives",
      fc.asyncProperty(
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        timedAsync(tally, async (muts: Mutation[]) => {
          const bytes = mutate(good, muts);
          const src = watched(bytes, "m.pth");
          await onlyModelPackErrorsAsync(async () => {
            const ck = await openTorchCheckpoint(src);
            tally.accepted = (tally.accepted ?? 0) + 1;
            for (const k of ck.keys()) {
              await ck.read(k);
              tally.tensors = (tally.tensors ?? 0) + 1;
            }
          });
        }),
      ),
      ASYNC_CASES,
      tally,
    );
    expect(total).toBeGreaterThanOrEqual(10_000);
  }, 150_000);
});
