/**
 * What a torch.save pickle may contain, as an allow-list for the pickle VM, and the objects those globals build:
 * storage references (from persistent ids) and tensor references (from `torch._utils._rebuild_tensor_v2` & co.).
 * Nothing here reads tensor data; `torch.ts` does that lazily. Semantics from pytorch `torch/_utils.py`,
 * `torch/serialization.py` (`_save`, `persistent_id`) and the allow-list idea of `torch/_weights_only_unpickler.py`.
 */
import { type GlobalDef, PyDict, PyGlobal, PyList, PyObject, PyTuple, type PyValue } from "./pickle-types.js";
import { DTYPE_BYTES, type SafetensorsDType } from "./safetensors.js";

/** Legacy typed storage classes (`torch.FloatStorage`, …) → element dtype. */
const STORAGE_TYPES: Readonly<Record<string, SafetensorsDType>> = Object.freeze({
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
  UntypedStorage: "U8",
});

/** `torch.<dtype>` globals (used by `_rebuild_tensor_v3` and in metadata) → element dtype. */
const DTYPES: Readonly<Record<string, SafetensorsDType>> = Object.freeze({
  float64: "F64",
  double: "F64",
  float32: "F32",
  float: "F32",
  float16: "F16",
  half: "F16",
  bfloat16: "BF16",
  int64: "I64",
  long: "I64",
  int32: "I32",
  int: "I32",
  int16: "I16",
  short: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
});

/** Bytes per element (the same table as safetensors'). */
export const ELEMENT_BYTES = DTYPE_BYTES;

export class StorageType extends PyObject {
  readonly pyType = "torch storage class";
  constructor(
    readonly className: string,
    readonly dtype: SafetensorsDType,
  ) {
    super();
  }
}

export class DType extends PyObject {
  readonly pyType = "torch.dtype";
  constructor(
    readonly torchName: string,
    readonly dtype: SafetensorsDType,
  ) {
    super();
  }
}

/** A marker for a class used only as a value (`torch.Tensor`, `torch.nn.parameter.Parameter`). */
export class TypeMarker extends PyObject {
  readonly pyType = "type";
  constructor(readonly fullName: string) {
    super();
  }
}

/** `('storage', torch.FloatStorage, key, location, numel)` resolved: the zip entry `data/<key>`. */
export class StorageRef extends PyObject {
  readonly pyType = "torch storage";
  constructor(
    readonly key: string,
    readonly dtype: SafetensorsDType,
    readonly numel: number,
    readonly location: string,
  ) {
    super();
  }
}

/** A strided view of a storage, as `_rebuild_tensor_v2(storage, offset, size, stride, …)` describes it. */
export class TensorRef extends PyObject {
  readonly pyType = "torch.Tensor";
  constructor(
    readonly storage: StorageRef,
    /** The tensor's element dtype (differs from the storage's only for an untyped storage + `_rebuild_tensor_v3`). */
    readonly dtype: SafetensorsDType,
    /** Offset in elements of `dtype`. */
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {
    super();
  }
  /** Parameters carry state through `_rebuild_parameter_with_state`; plain tensors through `_rebuild_from_type_v2`. */
  override build(_state: PyValue): void {}
}

function intList(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple || v instanceof PyList)) throw new Error(`${what} is not a tuple`);
  if (v.items.length > 64) throw new Error(`${what} has ${v.items.length} dimensions`);
  return v.items.map((d) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
      throw new Error(`${what} holds ${String(d)}`);
    return d;
  });
}

function offsetArg(v: PyValue): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new Error(`storage offset ${String(v)} is invalid`);
  return v;
}

function storageArg(v: PyValue): StorageRef {
  if (!(v instanceof StorageRef)) throw new Error("first argument is not a storage (persistent id)");
  return v;
}

function arity(args: readonly PyValue[], min: number, max: number, fn: string): void {
  if (args.length < min || args.length > max)
    throw new Error(`${fn} takes ${min}–${max} arguments, got ${args.length}`);
}

function rebuildTensorV2(args: readonly PyValue[]): PyValue {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None)
  arity(args, 6, 7, "_rebuild_tensor_v2");
  const s = storageArg(args[0]);
  const shape = intList(args[2], "size");
  const stride = intList(args[3], "stride");
  if (shape.length !== stride.length)
    throw new Error(`size has ${shape.length} dims but stride has ${stride.length}`);
  return new TensorRef(s, s.dtype, offsetArg(args[1]), shape, stride);
}

function rebuildTensorV1(args: readonly PyValue[]): PyValue {
  // _rebuild_tensor(storage, storage_offset, size, stride)
  arity(args, 4, 4, "_rebuild_tensor");
  return rebuildTensorV2([...args, false, null]);
}

function rebuildTensorV3(args: readonly PyValue[]): PyValue {
  // _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
  // an untyped (byte) storage viewed as `dtype`.
  arity(args, 7, 8, "_rebuild_tensor_v3");
  const s = storageArg(args[0]);
  const dt = args[6];
  if (!(dt instanceof DType)) throw new Error("dtype argument is not a torch dtype");
  const t = rebuildTensorV2(args.slice(0, 6)) as TensorRef;
  if (s.dtype === dt.dtype) return t;
  if (s.dtype !== "U8") throw new Error(`a ${s.dtype} storage cannot be viewed as ${dt.torchName}`);
  return new TensorRef(s, dt.dtype, t.offset, t.shape, t.stride);
}

function rebuildParameter(args: readonly PyValue[]): PyValue {
  // _rebuild_parameter(data, requires_grad, backward_hooks) / _rebuild_parameter_with_state(…, state)
  arity(args, 3, 4, "_rebuild_parameter");
  if (!(args[0] instanceof TensorRef)) throw new Error("parameter data is not a tensor");
  return args[0];
}

function rebuildFromTypeV2(args: readonly PyValue[]): PyValue {
  // torch._tensor._rebuild_from_type_v2(func, new_type, args, state): a Tensor (or Parameter) with attributes.
  arity(args, 4, 4, "_rebuild_from_type_v2");
  const [fn, type, inner] = args;
  if (!(type instanceof TypeMarker)) throw new Error("new_type is not torch.Tensor or torch.nn.Parameter");
  if (!(fn instanceof PyGlobal) || !TENSOR_REBUILDERS.has(fn.fullName) || !fn.def.call) {
    throw new Error("inner function is not a tensor rebuild function");
  }
  if (!(inner instanceof PyTuple)) throw new Error("inner arguments are not a tuple");
  return fn.def.call(inner.items);
}

function orderedDict(args: readonly PyValue[]): PyValue {
  // OrderedDict() or OrderedDict([(k, v), …])
  arity(args, 0, 1, "OrderedDict");
  const d = new PyDict("collections.OrderedDict");
  if (args.length === 1) {
    const src = args[0];
    if (!(src instanceof PyList || src instanceof PyTuple))
      throw new Error("OrderedDict argument is not a list of pairs");
    for (const kv of src.items) {
      if (!(kv instanceof PyTuple) || kv.items.length !== 2)
        throw new Error("OrderedDict item is not a pair");
      d.map.set(kv.items[0], kv.items[1]);
    }
  }
  return d;
}

const TENSOR_REBUILDERS = new Set([
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor_v3",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
]);

/**
 * The allow-list: every global a torch.save state dict (or a checkpoint dict around one) needs, and nothing else.
 * Each entry only builds data; none reaches Python-like behaviour.
 */
export const TORCH_GLOBALS: ReadonlyMap<string, GlobalDef> = (() => {
  const m = new Map<string, GlobalDef>();
  m.set("collections.OrderedDict", { call: orderedDict, dictBuild: true });
  m.set("torch._utils._rebuild_tensor", { call: rebuildTensorV1 });
  m.set("torch._utils._rebuild_tensor_v2", { call: rebuildTensorV2 });
  m.set("torch._utils._rebuild_tensor_v3", { call: rebuildTensorV3 });
  m.set("torch._utils._rebuild_parameter", { call: rebuildParameter });
  m.set("torch._utils._rebuild_parameter_with_state", { call: rebuildParameter });
  m.set("torch._tensor._rebuild_from_type_v2", { call: rebuildFromTypeV2 });
  // Storage classes and dtypes are values (REDUCE on them is refused: they have no `call`).
  for (const [cls, dtype] of Object.entries(STORAGE_TYPES))
    m.set(`torch.${cls}`, { value: new StorageType(cls, dtype) });
  // UntypedStorage is defined in torch/storage.py, so pickle may name it by that module.
  m.set("torch.storage.UntypedStorage", { value: new StorageType("UntypedStorage", "U8") });
  for (const [name, dtype] of Object.entries(DTYPES))
    m.set(`torch.${name}`, { value: new DType(name, dtype) });
  m.set("torch.Tensor", { value: new TypeMarker("torch.Tensor") });
  m.set("torch.nn.parameter.Parameter", { value: new TypeMarker("torch.nn.parameter.Parameter") });
  return m;
})();

/**
 * Persistent ids of torch.save: `('storage', storage_type, key, location, numel)`. The same key seen twice must
 * agree (shared storages); the returned function keeps the table.
 */
export function makePersistentLoad(storages: Map<string, StorageRef>): (pid: PyValue) => PyValue {
  return (pid) => {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== "storage") {
      throw new Error("only ('storage', type, key, location, numel) ids are allowed");
    }
    const [, type, key, location, numel] = pid.items;
    const cls = type;
    if (!(cls instanceof StorageType)) throw new Error("storage type is not a torch storage class");
    if (typeof key !== "string" || !/^[\w.-]{1,64}$/.test(key)) throw new Error("storage key is malformed");
    if (typeof location !== "string") throw new Error("storage location is not a string");
    if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0)
      throw new Error("storage size is invalid");
    const prev = storages.get(key);
    if (prev) {
      if (prev.dtype !== cls.dtype || prev.numel !== numel) {
        throw new Error(
          `storage "${key}" is referenced as ${prev.dtype}[${prev.numel}] and as ${cls.dtype}[${numel}]`,
        );
      }
      return prev;
    }
    const s = new StorageRef(key, cls.dtype, numel, location);
    storages.set(key, s);
    return s;
  };
}
