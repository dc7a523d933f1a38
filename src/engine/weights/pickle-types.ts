/**
 * The values the restricted pickle VM (`pickle.ts`) builds: Python's plain data types, allow-listed globals, and
 * the objects those globals construct (subclasses of `PyObject`, e.g. torch tensor references).
 */

/** An object produced by an allow-listed global (e.g. a tensor reference). */
export abstract class PyObject {
  abstract readonly pyType: string;
  /** BUILD (`__setstate__`) on this object; the default refuses. */
  build(_state: PyValue): void {
    throw new Error(`BUILD is not allowed on ${this.pyType}`);
  }
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}
export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}
export class PySet {
  constructor(
    readonly items: PyValue[] = [],
    readonly frozen = false,
  ) {}
}
export class PyDict {
  readonly map = new Map<PyValue, PyValue>();
  /** Instance attributes set by BUILD (e.g. a state_dict's `_metadata`), only when the class allows it. */
  attrs: PyValue = null;
  constructor(
    /** The allow-listed class that made it (`collections.OrderedDict`), or null for a plain dict. */
    readonly cls: string | null = null,
  ) {}
}

/** A resolved allow-listed global. */
export class PyGlobal {
  constructor(
    readonly fullName: string,
    readonly def: GlobalDef,
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyTuple
  | PyList
  | PyDict
  | PySet
  | PyGlobal
  | PyObject;

export interface GlobalDef {
  /** Called by REDUCE (and NEWOBJ) with the argument tuple's items. Must only build data. */
  call?: (args: readonly PyValue[]) => PyValue;
  /** Whether BUILD may set attributes on a dict this global made (OrderedDict). */
  dictBuild?: boolean;
  /** For a global used as a value (a dtype, a storage class): what GLOBAL pushes instead of a callable. */
  value?: PyObject;
}
