/**
 * One entry point for weights: `openCheckpoint` recognises the format by its first bytes (safetensors, a
 * sharded `*.safetensors.index.json`, a torch.save zip), and `loadInto` checks every key and shape of a module
 * against it, reporting all problems in one `ModelPackError` before a single tensor is read (STYLE.md 16), then
 * fills each `Param` one tensor at a time.
 */
import { CancelledError, ModelPackError } from "../errors.js";
import { checkKeys, describeKeyCheck, isCleanKeyCheck, type KeyCheck, namedParams } from "../ops/param.js";
import { type Checkpoint, type CheckpointTensorSpec, mergeCheckpoints } from "./checkpoint.js";
import {
  openSafetensors,
  openShardedSafetensors,
  type ShardedCheckpoint,
  type ShardResolver,
} from "./safetensors-stream.js";
import type { ByteSource } from "./source.js";
import { openTorchCheckpoint, type TorchOpenOptions } from "./torch.js";

export type DetectedFormat = "safetensors" | "safetensors-index" | "torch-zip" | "torch-legacy" | "unknown";

/** Classify a file by its first bytes (at least 9 are needed to recognise safetensors). */
export function detectFormat(head: Uint8Array, size: number): DetectedFormat {
  if (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    (head[2] === 3 || head[2] === 5) &&
    head[3] === head[2] + 1
  ) {
    return "torch-zip"; // "PK\3\4" (or an empty archive's "PK\5\6")
  }
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return "torch-legacy";
  if (head.length >= 9) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (n > 0n && n <= BigInt(size - 8) && head[8] === 0x7b) return "safetensors";
  }
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09))
    i++;
  if (i < head.length && head[i] === 0x7b) return "safetensors-index";
  return "unknown";
}

export interface OpenCheckpointOptions extends TorchOpenOptions {
  /**
   * Finds the shards a `*.safetensors.index.json` names. Defaults to looking them up among the sources given
   * (matching the end of their names), so `openCheckpoint([index, shard1, shard2])` works as is.
   */
  resolve?: ShardResolver;
}

function baseName(name: string): string {
  const bare = name.replace(/[?#].*$/, "");
  return bare.slice(Math.max(bare.lastIndexOf("/"), bare.lastIndexOf("\\")) + 1);
}

async function openOne(
  src: ByteSource,
  all: readonly ByteSource[],
  opts: OpenCheckpointOptions,
): Promise<Checkpoint> {
  const head = await src.read(0, Math.min(src.size, 16));
  const kind = detectFormat(head, src.size);
  switch (kind) {
    case "torch-zip":
      return openTorchCheckpoint(src, opts);
    case "safetensors":
      return openSafetensors(src);
    case "safetensors-index": {
      const resolve =
        opts.resolve ??
        ((file: string) => {
          const hit = all.find((s) => s !== src && (s.name === file || baseName(s.name) === baseName(file)));
          if (!hit)
            throw new ModelPackError(`${src.name}: shard "${file}" was not among the files given`, {
              file: src.name,
            });
          return hit;
        });
      return openShardedSafetensors(src, resolve);
    }
    case "torch-legacy":
      throw new ModelPackError(
        `${src.name}: is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with a current torch.save or convert it to safetensors`,
        { file: src.name },
      );
    default:
      throw new ModelPackError(
        `${src.name}: not a recognised checkpoint (expected safetensors, a safetensors index, or a torch.save .pth/.bin file)`,
        { file: src.name },
      );
  }
}

/**
 * Open one checkpoint, or several as one: with an index among them, its shards are taken from the list;
 * otherwise the files are merged (a key in two files is an error).
 */
export async function openCheckpoint(
  input: ByteSource | readonly ByteSource[],
  opts: OpenCheckpointOptions = {},
): Promise<Checkpoint> {
  const all = Array.isArray(input) ? (input as readonly ByteSource[]) : [input as ByteSource];
  if (all.length === 0) throw new ModelPackError("no checkpoint files were given");
  if (all.length === 1) return openOne(all[0], all, opts);
  const heads = await Promise.all(
    all.map(async (s) => detectFormat(await s.read(0, Math.min(s.size, 16)), s.size)),
  );
  const indexes = all.filter((_, i) => heads[i] === "safetensors-index");
  if (indexes.length > 1)
    throw new ModelPackError(`several shard indexes were given: ${indexes.map((s) => s.name).join(", ")}`);
  if (indexes.length === 1) {
    const ck = await openOne(indexes[0], all, opts);
    const shardNames = [...(ck as ShardedCheckpoint).shards.values()].map((sh) => sh.source);
    const stray = all.filter((s) => s !== indexes[0] && !shardNames.includes(s));
    if (stray.length) {
      return mergeCheckpoints([ck, ...(await Promise.all(stray.map((s) => openOne(s, all, opts))))]);
    }
    return ck;
  }
  return mergeCheckpoints(await Promise.all(all.map((s) => openOne(s, all, opts))));
}

export interface LoadOptions {
  /**
   * Load only keys that start with this prefix, with the prefix removed (e.g. `"modality_trunks.audio."` from
   * ImageBind, or `"state_dict."` / `"model."` for a checkpoint that wraps its state dict). Other keys are ignored.
   */
  prefix?: string;
  /**
   * true (default): any missing, unexpected, mis-shaped or wrongly typed key is an error. false: missing and
   * unexpected keys are tolerated (as in torch's `load_state_dict(strict=False)`); shapes and dtypes are still
   * checked. A Param left unloaded fails clearly when first used.
   */
  strict?: boolean;
  signal?: AbortSignal;
  /** Called after each tensor. */
  onProgress?: (p: { key: string; loaded: number; total: number; bytes: number; totalBytes: number }) => void;
  /** Tensors read in parallel (helps over HTTP); default 4. */
  concurrency?: number;
}

export interface LoadReport {
  loaded: string[];
  /** Keys the model has but the checkpoint lacks (only non-empty with strict: false). */
  missing: string[];
  /** Checkpoint keys (under the prefix) the model does not have (only non-empty with strict: false). */
  unexpected: string[];
}

/** Compare with `checkKeys`, then fill every Param. Throws one ModelPackError listing all problems. */
export async function loadInto(module: object, ck: Checkpoint, opts: LoadOptions = {}): Promise<LoadReport> {
  const prefix = opts.prefix ?? "";
  const strict = opts.strict ?? true;
  const available = new Map<string, CheckpointTensorSpec & { source: string }>();
  for (const k of ck.keys()) {
    if (k.startsWith(prefix)) available.set(k.slice(prefix.length), { ...ck.spec(k), source: k });
  }
  if (prefix && available.size === 0) {
    const sample = ck.keys().slice(0, 5).join(", ");
    throw new ModelPackError(
      `${ck.name}: no keys start with "${prefix}" (keys look like: ${sample}); check the prefix`,
      {
        file: ck.name,
        prefix,
      },
    );
  }
  const params = namedParams(module);
  const check: KeyCheck = checkKeys(module, available);
  const wrongDType: string[] = [];
  for (const [key, p] of params) {
    const spec = available.get(key);
    if (spec && (spec.dtype === "float32") !== (p.dtype === "float32"))
      wrongDType.push(`${key} (${spec.stored}, expected ${p.dtype})`);
  }
  const fatal: KeyCheck = strict ? check : { missing: [], unexpected: [], mismatched: check.mismatched };
  if (!isCleanKeyCheck(fatal) || wrongDType.length) {
    const parts = [describeKeyCheck(fatal)].filter(Boolean);
    if (wrongDType.length)
      parts.push(`wrong dtype ${wrongDType.length}: ${wrongDType.slice(0, 20).join(", ")}`);
    throw new ModelPackError(
      `${ck.name}${prefix ? ` (prefix "${prefix}")` : ""} does not match the model: ${parts.join("; ")}`,
      {
        file: ck.name,
        missing: fatal.missing.slice(0, 200),
        unexpected: fatal.unexpected.slice(0, 200),
        mismatched: fatal.mismatched.map((m) => m.key).slice(0, 200),
        wrongDType: wrongDType.slice(0, 200),
      },
    );
  }

  const todo = params.filter(([key]) => available.has(key));
  const totalBytes = todo.reduce((a, [key]) => a + (available.get(key)?.byteLength ?? 0), 0);
  let next = 0;
  let bytes = 0;
  let stop = false;
  const loaded: string[] = [];
  const worker = async () => {
    try {
      while (!stop && next < todo.length) {
        if (opts.signal?.aborted) throw new CancelledError("Loading weights was cancelled.");
        const [key, p] = todo[next++];
        const spec = available.get(key)!;
        const data = await ck.read(spec.source);
        if (stop) return;
        if (opts.signal?.aborted) throw new CancelledError("Loading weights was cancelled.");
        if (!p.name) p.name = key;
        p.set(data);
        loaded.push(key);
        bytes += spec.byteLength;
        opts.onProgress?.({ key, loaded: loaded.length, total: todo.length, bytes, totalBytes });
      }
    } catch (e) {
      stop = true;
      throw e;
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 4, todo.length));
  await Promise.all(Array.from({ length: n }, worker));
  return { loaded, missing: check.missing, unexpected: check.unexpected };
}
