/**
 * The common face of every checkpoint reader (safetensors, sharded safetensors, torch zip): key listing, specs
 * known from the header alone, and lazy per-tensor reads. `load.ts` builds on it.
 */
import { ModelPackError } from "../errors.js";
import type { ParamDType, TensorSpec } from "../ops/param.js";
import type { SafetensorsDType } from "./safetensors.js";

/** Host values of one tensor: floats as Float32Array, integers and bools as Int32Array. */
export type HostTensor = Float32Array | Int32Array;

export interface CheckpointTensorSpec extends TensorSpec {
  /** The dtype as stored in the file (`F16`, `BF16`, `I64`, …); `dtype` is the host class it decodes to. */
  stored: SafetensorsDType;
  /** Bytes that `read` fetches for this tensor. */
  byteLength: number;
}

export type CheckpointFormat = "safetensors" | "safetensors-sharded" | "torch" | "merged";

export interface Checkpoint {
  readonly name: string;
  readonly format: CheckpointFormat;
  keys(): string[];
  has(key: string): boolean;
  /** Shape and dtype from the header/pickle, without reading tensor data. */
  spec(key: string): CheckpointTensorSpec;
  /** Read and decode one tensor (contiguous, row-major). */
  read(key: string): Promise<HostTensor>;
}

/** The host dtype class a stored dtype decodes to (see `decodeTensor`). */
export function hostDType(d: SafetensorsDType): ParamDType {
  switch (d) {
    case "F64":
    case "F32":
    case "F16":
    case "BF16":
      return "float32";
    case "I64":
      return "int64";
    default:
      return "int32";
  }
}

/** All specs of a checkpoint, as `checkKeys` wants them. */
export function specMap(ck: Checkpoint): Map<string, CheckpointTensorSpec> {
  return new Map(ck.keys().map((k) => [k, ck.spec(k)]));
}

/** Read tensors one at a time (only one is held at once unless the caller keeps them). */
export async function* iterateTensors(
  ck: Checkpoint,
  keys: Iterable<string> = ck.keys(),
): AsyncGenerator<[string, HostTensor]> {
  for (const k of keys) yield [k, await ck.read(k)];
}

/** The error every reader throws for an unknown key. */
export function noSuchTensor(file: string, key: string): ModelPackError {
  return new ModelPackError(`${file}: has no tensor "${key}"`, { file, tensor: key });
}

/**
 * Several checkpoints seen as one (e.g. `text_encoder` and `unet` files given together). A key found in two of
 * them is an error, naming both files.
 */
export function mergeCheckpoints(
  parts: readonly Checkpoint[],
  name = parts.map((p) => p.name).join(" + "),
): Checkpoint {
  const owner = new Map<string, Checkpoint>();
  for (const p of parts) {
    for (const k of p.keys()) {
      const prev = owner.get(k);
      if (prev) {
        throw new ModelPackError(`tensor "${k}" appears in both ${prev.name} and ${p.name}`, {
          tensor: k,
          file: p.name,
          other: prev.name,
        });
      }
      owner.set(k, p);
    }
  }
  const find = (k: string): Checkpoint => {
    const p = owner.get(k);
    if (!p) throw noSuchTensor(name, k);
    return p;
  };
  return {
    name,
    format: "merged",
    keys: () => [...owner.keys()],
    has: (k) => owner.has(k),
    spec: (k) => find(k).spec(k),
    read: (k) => find(k).read(k),
  };
}
