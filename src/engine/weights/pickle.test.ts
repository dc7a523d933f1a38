import { describe, expect, it } from "vitest";
import { ModelPackError } from "../errors.js";
import { unpickle } from "./pickle.js";
import { type GlobalDef, PyDict, PyList, type PySet, PyTuple, type PyValue } from "./pickle-types.js";
import { TORCH_GLOBALS } from "./torch-pickle.js";

/** Assemble a pickle from opcode bytes, ASCII text and raw byte arrays. */
function pk(...parts: (number | string | Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") for (const c of new TextEncoder().encode(p)) out.push(c);
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const u64 = (n: number) => [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];
const uni = (s: string) => {
  const b = new TextEncoder().encode(s);
  return pk(0x58, u32(b.length), b);
};
const glob = (m: string, n: string) => pk(0x63, `${m}\n${n}\n`);

const run = (b: Uint8Array, globals: ReadonlyMap<string, GlobalDef> = TORCH_GLOBALS) =>
  unpickle(b, { globals, file: "evil.pth" }).value;

/** Every rejection must be a ModelPackError naming the file. */
function rejects(b: Uint8Array, pattern: RegExp, globals?: ReadonlyMap<string, GlobalDef>) {
  let err: unknown;
  try {
    run(b, globals);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelPackError);
  expect((err as Error).message).toMatch(/evil\.pth/);
  expect((err as Error).message).toMatch(pattern);
}

const items = (v: PyValue) => {
  if (!(v instanceof PyTuple || v instanceof PyList)) throw new Error("not a sequence");
  return v.items;
};

describe("pickle VM: data opcodes", () => {
  it("decodes ints, longs, floats, strings, bytes and constants", () => {
    const f = new Uint8Array(8);
    new DataView(f.buffer).setFloat64(0, -1.5, false);
    const v = run(
      pk(
        0x80,
        2,
        0x28,
        0x4b,
        255, // BININT1
        0x4d,
        [0x34, 0x12], // BININT2 (unsigned)
        0x4a,
        u32(-5 >>> 0), // BININT
        0x8a,
        1,
        [0xff], // LONG1 -1
        0x8a,
        2,
        [0x00, 0x80], // LONG1 -32768
        0x8a,
        9,
        [0, 0, 0, 0, 0, 0, 0, 0, 1], // LONG1 2^64 → bigint
        0x8a,
        0, // LONG1 0
        0x8b,
        u32(2),
        [0x01, 0x01], // LONG4 257
        0x47,
        f, // BINFLOAT
        uni("héllo"),
        0x8c,
        2,
        "ok", // SHORT_BINUNICODE
        0x8d,
        u64(1),
        "x", // BINUNICODE8
        0x55,
        1,
        "s", // SHORT_BINSTRING
        0x43,
        2,
        [1, 2], // SHORT_BINBYTES
        0x42,
        u32(1),
        [9], // BINBYTES
        0x8e,
        u64(0), // BINBYTES8
        0x4e,
        0x88,
        0x89, // None True False
        0x74,
        0x2e, // TUPLE STOP
      ),
    );
    const xs = items(v);
    expect(xs.slice(0, 14)).toEqual([
      255,
      0x1234,
      -5,
      -1,
      -32768,
      2n ** 64n,
      0,
      257,
      -1.5,
      "héllo",
      "ok",
      "x",
      "s",
      new Uint8Array([1, 2]),
    ]);
    expect(xs.slice(14, 16)).toEqual([new Uint8Array([9]), new Uint8Array(0)]);
    expect(xs.slice(16)).toEqual([null, true, false]);
  });

  it("builds tuples, lists, dicts and sets, with memo, DUP and POP", () => {
    const v = run(
      pk(
        0x80,
        4,
        0x95,
        u64(0), // PROTO 4, FRAME (length is advisory)
        0x7d,
        0x94, // EMPTY_DICT MEMOIZE(0)
        0x28,
        0x8c,
        1,
        "a",
        0x4b,
        1,
        0x4b,
        2,
        0x86,
        0x8c,
        1,
        "b",
        0x5d,
        0x71,
        1,
        0x4b,
        3,
        0x61,
        0x75, // {a: (1,2), b: [3]}
        0x8c,
        1,
        "c",
        0x68,
        1,
        0x73, // c: memo[1] (the list)
        0x8c,
        1,
        "d",
        0x8f,
        0x28,
        0x4b,
        7,
        0x90,
        0x73, // d: {7}
        0x8c,
        1,
        "e",
        0x28,
        0x4b,
        8,
        0x91,
        0x73, // e: frozenset({8})
        0x8c,
        1,
        "f",
        0x29,
        0x4b,
        1,
        0x85,
        0x4b,
        1,
        0x4b,
        2,
        0x4b,
        3,
        0x87,
        0x87,
        0x73, // f: ((), (1,), (1,2,3))
        0x4b,
        5,
        0x32,
        0x30,
        0x30, // DUP, POP, POP
        0x28,
        0x4b,
        6,
        0x31, // MARK ... POP_MARK
        0x6a,
        u32(0),
        0x30, // LONG_BINGET 0, POP
        0x72,
        u32(70000),
        0x6a,
        u32(70000),
        0x30, // LONG_BINPUT / LONG_BINGET
        0x2e,
      ),
    );
    expect(v).toBeInstanceOf(PyDict);
    const d = v as PyDict;
    expect(items(d.map.get("a") as PyValue)).toEqual([1, 2]);
    expect(d.map.get("c")).toBe(d.map.get("b"));
    expect((d.map.get("d") as PySet).items).toEqual([7]);
    expect((d.map.get("e") as PySet).frozen).toBe(true);
    expect(items(d.map.get("f") as PyValue).map((t) => items(t))).toEqual([[], [1], [1, 2, 3]]);
  });

  it("accepts BUILD on an OrderedDict (state_dict._metadata) and reports its stats", () => {
    const r = unpickle(
      pk(
        0x80,
        2,
        glob("collections", "OrderedDict"),
        0x29,
        0x52,
        0x7d,
        uni("_metadata"),
        0x4e,
        0x73,
        0x62,
        0x2e,
      ),
      { globals: TORCH_GLOBALS },
    );
    expect(r.value).toBeInstanceOf(PyDict);
    expect((r.value as PyDict).attrs).toBeInstanceOf(PyDict);
    expect(r.ops).toBe(10);
    expect(r.maxStack).toBe(4);
  });
});

describe("pickle VM: malicious and corrupt input", () => {
  it("rejects globals outside the allow-list, naming them, before anything else runs", () => {
    rejects(
      pk(0x80, 2, glob("os", "system"), uni("echo pwned"), 0x85, 0x52, 0x2e),
      /"os\.system" is not on the allow-list/,
    );
    rejects(pk(0x80, 2, glob("posix", "system"), uni("id"), 0x85, 0x52, 0x2e), /"posix\.system"/);
    rejects(pk(0x80, 2, glob("builtins", "eval"), uni("1+1"), 0x85, 0x52, 0x2e), /"builtins\.eval"/);
    rejects(pk(0x80, 2, glob("__builtin__", "getattr"), 0x2e), /"__builtin__\.getattr"/);
    rejects(pk(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "exec", 0x93, 0x2e), /"builtins\.exec"/);
    rejects(pk(0x80, 2, glob("collections", "__proto__"), 0x2e), /"collections\.__proto__"/);
    rejects(pk(0x80, 2, glob("torch", "load"), 0x2e), /"torch\.load"/);
    rejects(pk(0x80, 2, glob("torch._utils", "constructor"), 0x2e), /not on the allow-list/);
    rejects(pk(0x80, 2, 0x63, "os\nsystem;rm -rf\n", 0x2e), /malformed/);
    rejects(pk(0x80, 2, 0x63, "os"), /missing or too long/);
    rejects(pk(0x80, 4, 0x4b, 1, 0x8c, 1, "x", 0x93, 0x2e), /STACK_GLOBAL needs two strings/);
  });

  it("rejects REDUCE/NEWOBJ of anything but an allow-listed callable", () => {
    rejects(
      pk(0x80, 2, glob("torch", "FloatStorage"), 0x29, 0x52, 0x2e),
      /REDUCE of a value that is not an allow-listed callable/,
    );
    rejects(pk(0x80, 2, uni("os.system"), 0x29, 0x52, 0x2e), /REDUCE of a value/);
    rejects(pk(0x80, 2, 0x7d, 0x29, 0x81, 0x2e), /NEWOBJ of a value/);
    rejects(
      pk(0x80, 2, glob("collections", "OrderedDict"), 0x4b, 1, 0x52, 0x2e),
      /arguments are not a tuple/,
    );
    rejects(
      pk(0x80, 2, glob("torch._utils", "_rebuild_tensor_v2"), 0x29, 0x52, 0x2e),
      /_rebuild_tensor_v2 takes 6–7 arguments/,
    );
  });

  it("rejects INST, OBJ, PERSID, EXT and text-protocol opcodes", () => {
    rejects(pk(0x28, 0x69, "os\nsystem\n", 0x2e), /opcode INST is not allowed/);
    rejects(pk(0x80, 2, 0x28, glob("collections", "OrderedDict"), 0x6f, 0x2e), /opcode OBJ is not allowed/);
    rejects(pk(0x50, "0\n", 0x2e), /PERSID/);
    rejects(pk(0x80, 2, 0x82, 1, 0x2e), /EXT1/);
    rejects(pk(0x49, "1\n", 0x2e), /opcode INT/);
    rejects(pk(0x53, "'x'\n", 0x2e), /opcode STRING/);
    rejects(pk(0xff), /unknown opcode 0xff/);
    rejects(pk(0x80, 6, 0x2e), /protocol above 5/);
  });

  it("rejects BUILD, SETITEM and APPEND on the wrong targets", () => {
    rejects(pk(0x80, 2, 0x7d, 0x7d, 0x62, 0x2e), /BUILD on a value that does not accept state/);
    rejects(pk(0x80, 2, glob("torch", "float32"), 0x7d, 0x62, 0x2e), /BUILD is not allowed on torch\.dtype/);
    rejects(pk(0x80, 2, 0x5d, 0x4b, 1, 0x4b, 2, 0x73, 0x2e), /SETITEM\(S\) on a value that is not a dict/);
    rejects(pk(0x80, 2, 0x7d, 0x4b, 1, 0x61, 0x2e), /APPEND\(S\) on a value that is not a list/);
    rejects(pk(0x80, 2, 0x7d, 0x28, 0x4b, 1, 0x75, 0x2e), /odd number/);
    rejects(pk(0x80, 2, 0x29, 0x28, 0x4b, 1, 0x90, 0x2e), /ADDITEMS/);
  });

  it("rejects persistent ids unless a loader is given", () => {
    rejects(pk(0x80, 2, uni("x"), 0x51, 0x2e), /persistent ids are not allowed/);
  });

  it("rejects oversized lengths without allocating them", () => {
    rejects(pk(0x80, 2, 0x58, u32(0xffffffff), "abc"), /needs 4294967295 more bytes but only 3 remain/);
    rejects(pk(0x80, 4, 0x8e, u64(2 ** 52), "abc"), /more bytes/);
    rejects(pk(0x80, 4, 0x8d, [0, 0, 0, 0, 0, 0, 0, 0x7f]), /over 2\^53/);
    rejects(pk(0x80, 4, 0x95, u64(1e15), 0x2e), /FRAME length/);
    rejects(pk(0x80, 2, 0x8b, u32(1e9), 0x2e), /LONG4 of 1000000000 bytes/);
    rejects(pk(0x80, 2, 0x54, u32(-1 >>> 0), 0x2e), /needs -1 more bytes/);
    rejects(pk(0x80, 2, 0x58, u32(1), [0xff], 0x2e), /not valid UTF-8/);
  });

  it("rejects every truncation of a valid pickle, and stack/memo misuse", () => {
    const good = pk(0x80, 2, 0x7d, 0x71, 0, 0x28, uni("a"), 0x4b, 1, uni("b"), 0x5d, 0x75, 0x2e);
    expect(run(good)).toBeInstanceOf(PyDict);
    for (let n = 0; n < good.length; n++) rejects(good.subarray(0, n), /byte \d+/);
    rejects(pk(0x2e), /stack underflow/);
    rejects(pk(0x80, 2, 0x86, 0x2e), /stack underflow/);
    rejects(pk(0x80, 2, 0x74, 0x2e), /MARK expected/);
    rejects(pk(0x80, 2, 0x68, 3, 0x2e), /memo index 3 was never stored/);
    rejects(pk(0x80, 2, 0x71, 0, 0x2e), /stack underflow/);
  });

  it("handles a million MARKs or a deep nest in linear time, without recursion", () => {
    const marks = new Uint8Array(1_000_000).fill(0x28);
    const t0 = performance.now();
    rejects(marks, /needs 1 more bytes|stack underflow/);
    // 200k nested lists: [[[[...]]]]
    const depth = 200_000;
    const nest = new Uint8Array(2 + depth * 2 + 1);
    nest.set([0x80, 2]);
    nest.fill(0x5d, 2, 2 + depth);
    nest.fill(0x61, 2 + depth, 2 + 2 * depth - 1);
    nest[nest.length - 2] = 0x61;
    nest[nest.length - 1] = 0x2e;
    nest[2 + 2 * depth - 1] = 0x61;
    expect(() => unpickle(nest.subarray(0, nest.length - 2), { globals: TORCH_GLOBALS })).toThrow(
      ModelPackError,
    );
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
