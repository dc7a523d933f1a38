/**
 * The pack cache: committed files per pack, plus partial files that downloads and the converter write first.
 * A file only becomes visible under its name through `commit` (after its sha256 was checked), so a failed or
 * tampered download never replaces or damages what is already cached. Implementations: OPFS (cache-opfs.ts,
 * browsers and workers), a Node folder (cache-node.ts), and memory (below, tests).
 */
import { ModelPackError } from "../errors.js";
import { type ByteSource, bytesSource } from "../weights/source.js";
import { checkPackPath } from "./paths.js";
import type { PackSink } from "./sink.js";

export interface CacheWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface StorageEstimate {
  usage: number;
  quota: number;
}

export interface PackCache {
  readonly kind: "opfs" | "node" | "memory";
  /** Size of a committed file, or null when it is not cached. */
  size(pack: string, path: string): Promise<number | null>;
  /** Random access to a committed file. */
  open(pack: string, path: string): Promise<ByteSource>;
  /** Bytes already in the partial file (0 when there is none). */
  partialSize(pack: string, path: string): Promise<number>;
  /** Append to the partial file, or start it afresh with `truncate`. */
  openPartial(pack: string, path: string, opts: { truncate: boolean }): Promise<CacheWriter>;
  /** Read back the partial file (a resumed download re-hashes its prefix). */
  openPartialRead(pack: string, path: string): Promise<ByteSource>;
  /** Replace the committed file by the partial one, atomically where the platform allows. */
  commit(pack: string, path: string): Promise<void>;
  discardPartial(pack: string, path: string): Promise<void>;
  /** Delete one committed file, or the whole pack (committed and partial files) when `path` is absent. */
  remove(pack: string, path?: string): Promise<void>;
  /** Ids of packs with at least one committed file. */
  packs(): Promise<string[]>;
  /** Storage use and quota (null where the platform cannot tell). */
  estimate(): Promise<StorageEstimate | null>;
  /** Ask for persistent storage (OPFS: `navigator.storage.persist()`); true when granted. */
  persist(): Promise<boolean>;
}

export const PACK_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function checkPackId(id: string): string {
  if (!PACK_ID.test(id)) throw new ModelPackError(`"${id}" is not a valid pack id`, { pack: id });
  return id;
}

/** A converter sink that writes straight into the cache (browser: convert → OPFS). */
export function cacheSink(cache: PackCache, pack: string): PackSink {
  checkPackId(pack);
  return {
    async create(path) {
      checkPackPath(path, `pack "${pack}"`);
      const w = await cache.openPartial(pack, path, { truncate: true });
      return {
        write: (b) => w.write(b),
        async close() {
          await w.close();
          await cache.commit(pack, path);
        },
        async abort() {
          await w.close().catch(() => undefined);
          await cache.discardPartial(pack, path);
        },
      };
    },
  };
}

/** Reads a small committed file whole (the manifest). */
export async function readCached(cache: PackCache, pack: string, path: string, limit = 64 * 1024 * 1024) {
  const src = await cache.open(pack, path);
  if (src.size > limit)
    throw new ModelPackError(`${pack}/${path}: ${src.size} bytes is too large`, { file: path });
  return src.read(0, src.size);
}

/** An in-memory cache (tests). `failCommit` lets a test simulate a crash between verify and commit. */
export function memoryCache(): PackCache & {
  committed: Map<string, Uint8Array>;
  partial: Map<string, Uint8Array>;
} {
  const committed = new Map<string, Uint8Array>();
  const partial = new Map<string, Uint8Array>();
  const k = (pack: string, path: string) => `${checkPackId(pack)}/${checkPackPath(path)}`;
  const missing = (pack: string, path: string) =>
    new ModelPackError(`${pack}/${path} is not in the cache`, { file: path, pack });
  return {
    kind: "memory",
    committed,
    partial,
    async size(pack, path) {
      return committed.get(k(pack, path))?.length ?? null;
    },
    async open(pack, path) {
      const b = committed.get(k(pack, path));
      if (!b) throw missing(pack, path);
      return bytesSource(b, `${pack}/${path}`);
    },
    async partialSize(pack, path) {
      return partial.get(k(pack, path))?.length ?? 0;
    },
    async openPartial(pack, path, { truncate }) {
      const key = k(pack, path);
      if (truncate || !partial.has(key)) partial.set(key, new Uint8Array(0));
      return {
        async write(b) {
          const prev = partial.get(key) ?? new Uint8Array(0);
          const next = new Uint8Array(prev.length + b.length);
          next.set(prev);
          next.set(b, prev.length);
          partial.set(key, next);
        },
        async close() {},
      };
    },
    async openPartialRead(pack, path) {
      return bytesSource(partial.get(k(pack, path)) ?? new Uint8Array(0), `${pack}/${path} (partial)`);
    },
    async commit(pack, path) {
      const key = k(pack, path);
      const b = partial.get(key);
      if (!b) throw missing(pack, `${path} (partial)`);
      committed.set(key, b);
      partial.delete(key);
    },
    async discardPartial(pack, path) {
      partial.delete(k(pack, path));
    },
    async remove(pack, path) {
      if (path !== undefined) {
        committed.delete(k(pack, path));
        return;
      }
      for (const m of [committed, partial])
        for (const key of [...m.keys()]) if (key.startsWith(`${checkPackId(pack)}/`)) m.delete(key);
    },
    async packs() {
      return [...new Set([...committed.keys()].map((key) => key.split("/")[0]))].sort();
    },
    async estimate() {
      return null;
    },
    async persist() {
      return false;
    },
  };
}
