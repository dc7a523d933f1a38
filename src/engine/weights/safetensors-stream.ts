/**
 * safetensors read through a `ByteSource`: the 8-byte length and the JSON header first (validated in full by
 * `parseHeader`, with the source size, so truncation is caught before any tensor is read), then tensors one by
 * one. Also sharded diffusers/transformers checkpoints (`*.safetensors.index.json` with a `weight_map`).
 */
import { ModelPackError } from "../errors.js";
import {
  type Checkpoint,
  type CheckpointTensorSpec,
  type HostTensor,
  hostDType,
  noSuchTensor,
} from "./checkpoint.js";
import { decodeTensor, headerLength, parseHeader, type SafetensorsHeader } from "./safetensors.js";
import { type ByteSource, readAll } from "./source.js";

export interface SafetensorsCheckpoint extends Checkpoint {
  readonly format: "safetensors";
  readonly header: SafetensorsHeader;
  readonly source: ByteSource;
}

/** Open a safetensors file: reads and validates only the header. */
export async function openSafetensors(source: ByteSource): Promise<SafetensorsCheckpoint> {
  const file = source.name;
  if (source.size < 8) {
    throw new ModelPackError(
      `${file}: ${source.size} bytes is too short for a safetensors file (truncated?)`,
      { file },
    );
  }
  const n = headerLength(await source.read(0, 8), file);
  if (8 + n > source.size) {
    throw new ModelPackError(
      `${file}: header claims ${n} bytes but the file has only ${source.size} (truncated?)`,
      {
        file,
      },
    );
  }
  const header = parseHeader(await source.read(8, n), source.size, file);
  const entry = (key: string) => {
    const e = header.entries.get(key);
    if (!e) throw noSuchTensor(file, key);
    return e;
  };
  return {
    name: file,
    format: "safetensors",
    header,
    source,
    keys: () => [...header.entries.keys()],
    has: (key) => header.entries.has(key),
    spec(key): CheckpointTensorSpec {
      const e = entry(key);
      return { shape: [...e.shape], dtype: hostDType(e.dtype), stored: e.dtype, byteLength: e.end - e.begin };
    },
    async read(key): Promise<HostTensor> {
      const e = entry(key);
      const raw = await source.read(header.dataOffset + e.begin, e.end - e.begin);
      return decodeTensor(e, raw, file);
    },
  };
}

/** A parsed `*.safetensors.index.json`. */
export interface ShardIndex {
  weightMap: Map<string, string>;
  /** Shard file names in first-seen order. */
  files: string[];
  metadata: Record<string, unknown>;
}

/** Shard names are plain relative names: no absolute paths, no `..`, nothing a resolver could escape with. */
function checkShardName(index: string, f: string): void {
  const bad =
    f === "" ||
    f.startsWith("/") ||
    f.startsWith("\\") ||
    /^[a-zA-Z]:/.test(f) ||
    f.split(/[\\/]/).includes("..");
  if (bad)
    throw new ModelPackError(`${index}: shard name "${f}" is not a plain relative file name`, {
      file: index,
      shard: f,
    });
}

export function parseShardIndex(bytes: Uint8Array, index = "model.safetensors.index.json"): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ModelPackError(`${index}: not valid UTF-8 JSON (${(e as Error).message})`, { file: index });
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (
    json === null ||
    typeof json !== "object" ||
    Array.isArray(json) ||
    wm === null ||
    typeof wm !== "object" ||
    Array.isArray(wm)
  ) {
    throw new ModelPackError(`${index}: expected {"weight_map": {tensor: shard file}}`, { file: index });
  }
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  for (const [k, f] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof f !== "string") {
      throw new ModelPackError(`${index}: weight_map["${k}"] is not a file name`, { file: index, tensor: k });
    }
    checkShardName(index, f);
    if (!files.includes(f)) files.push(f);
    weightMap.set(k, f);
  }
  const md = (json as { metadata?: unknown }).metadata;
  const metadata =
    md !== null && typeof md === "object" && !Array.isArray(md) ? (md as Record<string, unknown>) : {};
  return { weightMap, files, metadata };
}

export interface ShardedCheckpoint extends Checkpoint {
  readonly format: "safetensors-sharded";
  readonly index: ShardIndex;
  readonly shards: ReadonlyMap<string, SafetensorsCheckpoint>;
}

/** How a shard name from the index becomes a source (a sibling file, URL, or an entry of a user's file list). */
export type ShardResolver = (file: string) => ByteSource | Promise<ByteSource>;

/**
 * Open a sharded checkpoint. Every shard named by the index must resolve and open; every indexed key must be in
 * its shard; no key may sit in two shards; and no shard may hold a key the index does not map to it. All
 * problems are reported in one error.
 */
export async function openShardedSafetensors(
  indexSource: ByteSource,
  resolve: ShardResolver,
): Promise<ShardedCheckpoint> {
  const name = indexSource.name;
  const index = parseShardIndex(await readAll(indexSource), name);
  const shards = new Map<string, SafetensorsCheckpoint>();
  const missingShards: string[] = [];
  for (const f of index.files) {
    let src: ByteSource;
    try {
      src = await resolve(f);
    } catch (e) {
      missingShards.push(`${f} (${(e as Error).message})`);
      continue;
    }
    if (!src) {
      missingShards.push(f);
      continue;
    }
    shards.set(f, await openSafetensors(src));
  }
  if (missingShards.length) {
    throw new ModelPackError(
      `${name}: shard file(s) listed in the index are missing: ${missingShards.join(", ")}`,
      {
        file: name,
        missing: missingShards,
      },
    );
  }
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const [f, sh] of shards) {
    for (const k of sh.keys()) {
      const other = seen.get(k);
      if (other) problems.push(`"${k}" is in both ${other} and ${f}`);
      seen.set(k, f);
      const mapped = index.weightMap.get(k);
      if (mapped === undefined) problems.push(`"${k}" is in ${f} but not in the index`);
      else if (mapped !== f && !other) problems.push(`"${k}" is in ${f} but the index maps it to ${mapped}`);
    }
  }
  for (const [k, f] of index.weightMap) {
    if (!shards.get(f)?.has(k)) problems.push(`"${k}" is mapped to ${f}, which does not contain it`);
  }
  if (problems.length) {
    const shown =
      problems.slice(0, 20).join("; ") + (problems.length > 20 ? `; … (${problems.length} in all)` : "");
    throw new ModelPackError(`${name}: index and shards disagree: ${shown}`, {
      file: name,
      problems: problems.length,
    });
  }
  const shardOf = (key: string): SafetensorsCheckpoint => {
    const f = index.weightMap.get(key);
    const sh = f === undefined ? undefined : shards.get(f);
    if (!sh) throw noSuchTensor(name, key);
    return sh;
  };
  return {
    name,
    format: "safetensors-sharded",
    index,
    shards,
    keys: () => [...index.weightMap.keys()],
    has: (key) => index.weightMap.has(key),
    spec: (key) => shardOf(key).spec(key),
    read: (key) => shardOf(key).read(key),
  };
}
