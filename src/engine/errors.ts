/**
 * Typed, actionable errors shared by the engine, the workers and the UI.
 *
 * Every error carries a stable `name`, a string-literal `code` a UI can branch on, a message that says
 * what to change, and optional structured `details`. `serializeError`/`deserializeError` carry them across
 * `postMessage` (the worker boundary) without losing the type. (STYLE.md guideline 15.)
 */

export const ErrorCode = {
  BadInput: "BAD_INPUT",
  ModelPack: "MODEL_PACK",
  OutOfMemory: "OUT_OF_MEMORY",
  DeviceLost: "DEVICE_LOST",
  Cancelled: "CANCELLED",
  WorkerCrashed: "WORKER_CRASHED",
  Unsupported: "UNSUPPORTED",
  Internal: "INTERNAL",
} as const;
export type ErrorCodeType = (typeof ErrorCode)[keyof typeof ErrorCode];

export type ErrorDetails = Record<string, string | number | boolean | null | readonly (string | number)[]>;

export class StudioError extends Error {
  readonly code: ErrorCodeType;
  readonly details: ErrorDetails | undefined;
  constructor(code: ErrorCodeType, message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
    this.name = "StudioError";
  }
}

/** An input (media, prompt, knob, tensor shape) is unusable; the message says what to change. */
export class BadInputError extends StudioError {
  constructor(message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.BadInput, message, details, options);
    this.name = "BadInputError";
  }
}

/** A model file or pack is missing, truncated, tampered with, or does not match the expected module tree. */
export class ModelPackError extends StudioError {
  constructor(message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.ModelPack, message, details, options);
    this.name = "ModelPackError";
  }
}

export class OutOfMemoryError extends StudioError {
  constructor(message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.OutOfMemory, message, details, options);
    this.name = "OutOfMemoryError";
  }
}

export class DeviceLostError extends StudioError {
  constructor(message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.DeviceLost, message, details, options);
    this.name = "DeviceLostError";
  }
}

export class CancelledError extends StudioError {
  constructor(message = "The job was cancelled.", details?: ErrorDetails) {
    super(ErrorCode.Cancelled, message, details);
    this.name = "CancelledError";
  }
}

export class WorkerCrashedError extends StudioError {
  constructor(message: string, details?: ErrorDetails) {
    super(ErrorCode.WorkerCrashed, message, details);
    this.name = "WorkerCrashedError";
  }
}

export class UnsupportedError extends StudioError {
  constructor(message: string, details?: ErrorDetails) {
    super(ErrorCode.Unsupported, message, details);
    this.name = "UnsupportedError";
  }
}

/** Structured-clone-safe form of an error, as sent over `postMessage`. */
export interface SerializedError {
  name: string;
  code: ErrorCodeType;
  message: string;
  details?: ErrorDetails;
  stack?: string;
}

const constructors: Readonly<Record<ErrorCodeType, (m: string, d?: ErrorDetails) => StudioError>> =
  Object.freeze({
    [ErrorCode.BadInput]: (m, d) => new BadInputError(m, d),
    [ErrorCode.ModelPack]: (m, d) => new ModelPackError(m, d),
    [ErrorCode.OutOfMemory]: (m, d) => new OutOfMemoryError(m, d),
    [ErrorCode.DeviceLost]: (m, d) => new DeviceLostError(m, d),
    [ErrorCode.Cancelled]: (m, d) => new CancelledError(m, d),
    [ErrorCode.WorkerCrashed]: (m, d) => new WorkerCrashedError(m, d),
    [ErrorCode.Unsupported]: (m, d) => new UnsupportedError(m, d),
    [ErrorCode.Internal]: (m, d) => new StudioError(ErrorCode.Internal, m, d),
  });

export function serializeError(err: unknown): SerializedError {
  if (err instanceof StudioError) {
    const out: SerializedError = { name: err.name, code: err.code, message: err.message };
    if (err.details) out.details = err.details;
    if (err.stack) out.stack = err.stack;
    return out;
  }
  if (err instanceof Error) {
    return { name: err.name, code: ErrorCode.Internal, message: err.message, stack: err.stack };
  }
  return { name: "Error", code: ErrorCode.Internal, message: String(err) };
}

export function deserializeError(e: SerializedError): StudioError {
  const make = constructors[e.code] ?? constructors[ErrorCode.Internal];
  const err = make(e.message, e.details);
  if (e.stack) err.stack = e.stack;
  return err;
}

export function isCancelled(err: unknown): err is CancelledError {
  return err instanceof StudioError && err.code === ErrorCode.Cancelled;
}

/**
 * An untrusted value (from a file's JSON) for an error message: a string as is, anything else as JSON text, cut to
 * 40 characters; "missing" for undefined. Unlike String() or a template literal, it cannot throw on an object
 * whose own `toString` is not a function (`{"toString": null}` in a tampered header).
 */
export function describeValue(v: unknown): string {
  let t: string | undefined;
  try {
    t = typeof v === "string" ? v : JSON.stringify(v);
  } catch {
    t = typeof v;
  }
  if (t === undefined) return "missing";
  return t.length > 40 ? `${t.slice(0, 39)}…` : t;
}
