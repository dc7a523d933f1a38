/**
 * Safetensors shards written as a stream. Every tensor's stored dtype and shape is known before any data is
 * read, so the tensors are first assigned to shards of at most `maxShardBytes` (header included) and each
 * shard's header is fixed; then each shard is written header first and tensor by tensor, hashed on the way.
 * Only one tensor is in memory at a time. Offsets in the manifest are absolute byte positions in the file.
 */
import { ModelPackError } from "../errors.js";
import { DTYPE_BYTES, type SafetensorsDType } from "../weights/safetensors.js";
import type { FileEntry, StoredDType, TensorEntry } from "./schema.js";
import type { HasherFactory } from "./sha256.js";
import type { PackSink } from "./sink.js";
import { writeHashed } from "./sink.js";

export const MiB = 1024 * 1024;
/** Default shard limit: well under every WebGPU adapter's maxBufferSize (≥ 256 MiB by the spec's minimum). */
export const DEFAULT_MAX_SHARD_BYTES = 256 * MiB;

export interface PlannedTensor {
  key: string;
  dtype: StoredDType;
  shape: readonly number[];
  /** Produces exactly `byteLength(dtype, shape)` bytes (called once, when the tensor is written). */
  produce: () => Promise<Uint8Array>;
}

export function byteLength(dtype: SafetensorsDType, shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
}

interface Placed {
  t: PlannedTensor;
  begin: number;
  end: number;
}

export interface PlannedShard {
  path: string;
  header: Uint8Array;
  placed: Placed[];
  size: number;
}

const METADATA = `"__metadata__":{"format":"pt"}`;

function entryJson(p: Placed): string {
  return `${JSON.stringify(p.t.key)}:{"dtype":"${p.t.dtype}","shape":[${p.t.shape.join(",")}],"data_offsets":[${p.begin},${p.end}]}`;
}

/** The padded header (8-byte aligned with spaces, as `writeSafetensors` does). */
function headerBytes(placed: readonly Placed[]): Uint8Array {
  const json = `{${[METADATA, ...placed.map(entryJson)].join(",")}}`;
  const raw = new TextEncoder().encode(json);
  const padded = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20);
  padded.set(raw);
  return padded;
}

/**
 * Assign tensors, in order, to shards of at most `maxShardBytes` each. `pathFor(i, n)` names shard i of n.
 * A single tensor that cannot fit in a shard on its own is an error naming it.
 */
export function planShards(
  tensors: readonly PlannedTensor[],
  maxShardBytes: number,
  pathFor: (index: number, count: number) => string,
): PlannedShard[] {
  const groups: Placed[][] = [];
  let cur: Placed[] = [];
  let data = 0;
  let headerLen = METADATA.length + 2; // braces
  const enc = new TextEncoder();
  for (const t of tensors) {
    const n = byteLength(t.dtype, t.shape);
    const p: Placed = { t, begin: data, end: data + n };
    const entryLen = enc.encode(entryJson(p)).length + 1;
    const total = 8 + headerLen + entryLen + 8 + data + n; // +8: worst-case padding
    if (total > maxShardBytes && cur.length > 0) {
      groups.push(cur);
      cur = [];
      data = 0;
      headerLen = METADATA.length + 2;
      const q: Placed = { t, begin: 0, end: n };
      const qLen = enc.encode(entryJson(q)).length + 1;
      if (8 + headerLen + qLen + 8 + n > maxShardBytes) throw tooBig(t, n, maxShardBytes);
      cur.push(q);
      headerLen += qLen;
      data = n;
      continue;
    }
    if (total > maxShardBytes) throw tooBig(t, n, maxShardBytes);
    cur.push(p);
    headerLen += entryLen;
    data += n;
  }
  if (cur.length) groups.push(cur);
  return groups.map((placed, i) => {
    const header = headerBytes(placed);
    const dataBytes = placed.length ? placed[placed.length - 1].end : 0;
    return { path: pathFor(i, groups.length), header, placed, size: 8 + header.length + dataBytes };
  });
}

function tooBig(t: PlannedTensor, n: number, max: number): ModelPackError {
  return new ModelPackError(
    `tensor "${t.key}" (${n} bytes) does not fit in a ${max}-byte shard; raise the shard size (it must stay under the GPU's maxBufferSize) or quantize`,
    { tensor: t.key, bytes: n, maxShardBytes: max },
  );
}

/** The manifest's tensor index entries of a planned shard (absolute offsets). */
export function indexEntries(shard: PlannedShard): [string, TensorEntry][] {
  const base = 8 + shard.header.length;
  return shard.placed.map((p) => [
    p.t.key,
    { file: shard.path, dtype: p.t.dtype, shape: [...p.t.shape], offsets: [base + p.begin, base + p.end] },
  ]);
}

/** Write one planned shard; `onTensor` is called after each tensor with its byte count. */
export async function writeShard(
  sink: PackSink,
  shard: PlannedShard,
  opts: { hasher?: HasherFactory; onTensor?: (bytes: number) => void; signal?: AbortSignal } = {},
): Promise<FileEntry> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(shard.header.length), true);
    yield len;
    yield shard.header;
    for (const p of shard.placed) {
      opts.signal?.throwIfAborted();
      const bytes = await p.t.produce();
      if (bytes.length !== p.end - p.begin) {
        throw new ModelPackError(
          `tensor "${p.t.key}" produced ${bytes.length} bytes, expected ${p.end - p.begin}`,
          { tensor: p.t.key },
        );
      }
      yield bytes;
      opts.onTensor?.(bytes.length);
    }
  }
  const entry = await writeHashed(sink, shard.path, chunks(), "weights", opts.hasher);
  if (entry.size !== shard.size)
    throw new ModelPackError(`${shard.path}: wrote ${entry.size} bytes, planned ${shard.size}`, {
      file: shard.path,
    });
  return entry;
}
