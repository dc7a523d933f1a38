/**
 * A restricted pickle VM: it builds plain data (None, bools, numbers, strings, bytes, tuples, lists, dicts,
 * sets) and nothing else on its own. GLOBAL/STACK_GLOBAL resolve only through the caller's allow-list, REDUCE and
 * NEWOBJ only call what that allow-list provides (plain TypeScript constructors of data), BUILD only reaches
 * objects that accept it, and persistent ids go to the caller's `persistentLoad`. No name is ever looked up
 * anywhere else, so an unknown global is an error, never a fall-through: this is a security boundary
 * (STYLE.md 16). Opcode semantics follow CPython's Lib/pickle.py (`_Unpickler.load_*`).
 *
 * Cost is linear in the input: every opcode consumes at least one byte and allocates O(1) objects, or a string /
 * bytes whose length has been checked against the bytes left. There is no recursion.
 */
import { ModelPackError } from "../errors.js";
import {
  type GlobalDef,
  PyDict,
  PyGlobal,
  PyList,
  PyObject,
  PySet,
  PyTuple,
  type PyValue,
} from "./pickle-types.js";

export interface UnpickleOptions {
  /** Allow-list keyed by "module.name". Anything else is rejected. */
  globals: ReadonlyMap<string, GlobalDef>;
  /** Resolve a BINPERSID id. Absent: persistent ids are rejected. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** File name for messages. */
  file?: string;
}

export interface UnpickleResult {
  value: PyValue;
  /** Bytes consumed up to and including STOP. */
  consumed: number;
  ops: number;
  maxStack: number;
  memoSize: number;
}

/** Internal signal carrying a message; converted to a ModelPackError with file and offset. */
class Reject extends Error {}

const OP_NAMES: Readonly<Record<number, string>> = Object.freeze({
  105: "INST",
  111: "OBJ",
  80: "PERSID",
  146: "NEWOBJ_EX",
  130: "EXT1",
  131: "EXT2",
  132: "EXT4",
  73: "INT",
  76: "LONG",
  83: "STRING",
  86: "UNICODE",
  70: "FLOAT",
  103: "GET",
  112: "PUT",
  150: "BYTEARRAY8",
  151: "NEXT_BUFFER",
  152: "READONLY_BUFFER",
});

/** Limit on LONG4 payloads: torch pickles never need more than a few bytes, and big-int parsing is superlinear. */
const MAX_LONG_BYTES = 64;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Run a pickle. Throws only `ModelPackError` (naming the file, the opcode and its byte offset). */
export function unpickle(data: Uint8Array, opts: UnpickleOptions): UnpickleResult {
  const file = opts.file ?? "pickle";
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let opAt = 0;
  let stack: PyValue[] = [];
  const metastack: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let ops = 0;
  let maxStack = 0;

  const need = (n: number): number => {
    if (n < 0 || pos + n > data.length)
      throw new Reject(
        `needs ${n} more bytes but only ${data.length - pos} remain (truncated or oversized length)`,
      );
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)];
  const u16 = () => dv.getUint16(need(2), true);
  const u32 = () => dv.getUint32(need(4), true);
  const u64 = () => {
    const at = need(8);
    const hi = dv.getUint32(at + 4, true);
    if (hi >= 0x200000) throw new Reject("8-byte length is over 2^53");
    return hi * 2 ** 32 + dv.getUint32(at, true);
  };
  const bytes = (n: number) => {
    const at = need(n);
    return data.subarray(at, at + n);
  };
  const str = (n: number) => {
    const b = bytes(n);
    try {
      return utf8.decode(b);
    } catch {
      throw new Reject("string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 256) throw new Reject("GLOBAL name line is missing or too long");
    const s = str(end - pos);
    pos++;
    if (!/^[\w.]+$/.test(s)) throw new Reject(`GLOBAL name "${s.slice(0, 64)}" is malformed`);
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw new Reject("stack underflow");
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw new Reject("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) throw new Reject("MARK expected but not found");
    stack = prev;
    return items;
  };
  const push = (v: PyValue) => {
    stack.push(v);
  };
  const resolve = (module: string, name: string): PyValue => {
    const full = `${module}.${name}`;
    const def = opts.globals.get(full);
    if (!def) {
      throw new Reject(
        `global "${full}" is not on the allow-list; this file may try to run code (or holds objects other than tensors), so it was not loaded`,
      );
    }
    return def.value ?? new PyGlobal(full, def);
  };
  const call = (fn: PyValue, args: PyValue, what: string): PyValue => {
    if (!(fn instanceof PyGlobal) || !fn.def.call)
      throw new Reject(`${what} of a value that is not an allow-listed callable`);
    if (!(args instanceof PyTuple)) throw new Reject(`${what} arguments are not a tuple`);
    try {
      return fn.def.call(args.items);
    } catch (e) {
      if (e instanceof ModelPackError) throw e;
      throw new Reject(`${fn.fullName}: ${(e as Error).message}`);
    }
  };
  const setItems = (items: PyValue[]) => {
    const d = top();
    if (!(d instanceof PyDict)) throw new Reject("SETITEM(S) on a value that is not a dict");
    if (items.length % 2) throw new Reject("SETITEMS with an odd number of items");
    for (let i = 0; i < items.length; i += 2) d.map.set(items[i], items[i + 1]);
  };
  const append = (items: PyValue[]) => {
    const l = top();
    if (!(l instanceof PyList)) throw new Reject("APPEND(S) on a value that is not a list");
    for (const it of items) l.items.push(it);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw new Reject(`memo index ${i} was never stored`);
    push(memo.get(i) as PyValue);
  };

  try {
    for (;;) {
      opAt = pos;
      const op = u8();
      ops++;
      switch (op) {
        case 0x80: // PROTO
          if (u8() > 5) throw new Reject("pickle protocol above 5");
          break;
        case 0x95: // FRAME: a length prefix for buffering; the whole input is in memory already.
          if (u64() > data.length - pos) throw new Reject("FRAME length runs past the end (truncated?)");
          break;
        case 0x2e: // STOP
          return { value: pop(), consumed: pos, ops, maxStack, memoSize: memo.size };
        case 0x28: // MARK
          metastack.push(stack);
          stack = [];
          break;
        case 0x30: // POP
          if (stack.length) stack.pop();
          else popMark();
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x32: // DUP
          push(top());
          break;
        case 0x4e: // NONE
          push(null);
          break;
        case 0x88: // NEWTRUE
          push(true);
          break;
        case 0x89: // NEWFALSE
          push(false);
          break;
        case 0x4a: // BININT
          push(dv.getInt32(need(4), true));
          break;
        case 0x4b: // BININT1
          push(u8());
          break;
        case 0x4d: // BININT2
          push(u16());
          break;
        case 0x8a: // LONG1
          push(decodeLong(bytes(u8())));
          break;
        case 0x8b: {
          // LONG4
          const n = dv.getInt32(need(4), true);
          if (n < 0 || n > MAX_LONG_BYTES) throw new Reject(`LONG4 of ${n} bytes is not supported`);
          push(decodeLong(bytes(n)));
          break;
        }
        case 0x47: // BINFLOAT (big-endian)
          push(dv.getFloat64(need(8), false));
          break;
        case 0x58: // BINUNICODE
          push(str(u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(str(u8()));
          break;
        case 0x8d: // BINUNICODE8
          push(str(u64()));
          break;
        case 0x54: // BINSTRING (Python 2 str; torch.load decodes with utf-8)
          push(str(dv.getInt32(need(4), true)));
          break;
        case 0x55: // SHORT_BINSTRING
          push(str(u8()));
          break;
        case 0x42: // BINBYTES
          push(bytes(u32()));
          break;
        case 0x43: // SHORT_BINBYTES
          push(bytes(u8()));
          break;
        case 0x8e: // BINBYTES8
          push(bytes(u64()));
          break;
        case 0x29: // EMPTY_TUPLE
          push(new PyTuple([]));
          break;
        case 0x85: // TUPLE1
          push(new PyTuple([pop()]));
          break;
        case 0x86: {
          // TUPLE2
          const b = pop();
          push(new PyTuple([pop(), b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = pop();
          const b = pop();
          push(new PyTuple([pop(), b, c]));
          break;
        }
        case 0x74: // TUPLE
          push(new PyTuple(popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          push(new PyList());
          break;
        case 0x6c: // LIST
          push(new PyList(popMark()));
          break;
        case 0x7d: // EMPTY_DICT
          push(new PyDict());
          break;
        case 0x64: {
          // DICT
          const items = popMark();
          push(new PyDict());
          setItems(items);
          break;
        }
        case 0x8f: // EMPTY_SET
          push(new PySet());
          break;
        case 0x90: {
          // ADDITEMS
          const items = popMark();
          const s = top();
          if (!(s instanceof PySet) || s.frozen) throw new Reject("ADDITEMS on a value that is not a set");
          for (const it of items) s.items.push(it);
          break;
        }
        case 0x91: // FROZENSET
          push(new PySet(popMark(), true));
          break;
        case 0x73: {
          // SETITEM
          const v = pop();
          const k = pop();
          setItems([k, v]);
          break;
        }
        case 0x75: // SETITEMS
          setItems(popMark());
          break;
        case 0x61: // APPEND
          append([pop()]);
          break;
        case 0x65: // APPENDS
          append(popMark());
          break;
        case 0x71: // BINPUT
          memo.set(u8(), top());
          break;
        case 0x72: // LONG_BINPUT
          memo.set(u32(), top());
          break;
        case 0x94: // MEMOIZE
          memo.set(memo.size, top());
          break;
        case 0x68: // BINGET
          memoGet(u8());
          break;
        case 0x6a: // LONG_BINGET
          memoGet(u32());
          break;
        case 0x63: {
          // GLOBAL "module\nname\n"
          const module = line();
          push(resolve(module, line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== "string" || typeof name !== "string")
            throw new Reject("STACK_GLOBAL needs two strings");
          push(resolve(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = pop();
          const fn = pop();
          push(call(fn, args, "REDUCE"));
          break;
        }
        case 0x81: {
          // NEWOBJ: cls.__new__(cls, *args); allowed only for allow-listed constructors.
          const args = pop();
          const cls = pop();
          push(call(cls, args, "NEWOBJ"));
          break;
        }
        case 0x62: {
          // BUILD
          const state = pop();
          const inst = top();
          if (inst instanceof PyDict && inst.cls !== null && opts.globals.get(inst.cls)?.dictBuild) {
            inst.attrs = state;
          } else if (inst instanceof PyObject) {
            try {
              inst.build(state);
            } catch (e) {
              if (e instanceof ModelPackError) throw e;
              throw new Reject((e as Error).message);
            }
          } else {
            throw new Reject("BUILD on a value that does not accept state");
          }
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = pop();
          if (!opts.persistentLoad) throw new Reject("persistent ids are not allowed here");
          try {
            push(opts.persistentLoad(pid));
          } catch (e) {
            if (e instanceof ModelPackError) throw e;
            throw new Reject(`persistent id: ${(e as Error).message}`);
          }
          break;
        }
        default: {
          const known = OP_NAMES[op];
          throw new Reject(
            known
              ? `opcode ${known} is not allowed (torch state dicts never use it)`
              : `unknown opcode 0x${op.toString(16).padStart(2, "0")}`,
          );
        }
      }
      if (stack.length > maxStack) maxStack = stack.length;
    }
  } catch (e) {
    if (e instanceof Reject) {
      throw new ModelPackError(`${file}: unsafe or corrupt pickle at byte ${opAt}: ${e.message}`, {
        file,
        offset: opAt,
      });
    }
    if (e instanceof ModelPackError) throw e;
    throw new ModelPackError(
      `${file}: corrupt pickle at byte ${opAt}: ${(e as Error).message}`,
      { file, offset: opAt },
      { cause: e },
    );
  }
}
