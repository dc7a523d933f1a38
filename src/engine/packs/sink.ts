/**
 * Where the converter writes a pack: files are created by path, written in order, and closed. A Node folder
 * (sink-node.ts), the OPFS / Node cache (cache.ts `cacheSink`), or memory (tests). Every file is hashed as it is
 * written, so the manifest's sha256 never needs a second pass over gigabytes.
 */
import type { FileEntry } from "./schema.js";
import { defaultHasher, type HasherFactory } from "./sha256.js";

export interface SinkFile {
  write(bytes: Uint8Array): Promise<void>;
  /** Finish the file (it becomes visible under its name only now, for sinks that can do so). */
  close(): Promise<void>;
  /** Drop a partly written file. */
  abort(): Promise<void>;
}

export interface PackSink {
  create(path: string): Promise<SinkFile>;
}

/** Writes chunks to `sink` at `path`, hashing them; returns the manifest entry. */
export async function writeHashed(
  sink: PackSink,
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  role: FileEntry["role"],
  hasher: HasherFactory = defaultHasher,
): Promise<FileEntry> {
  const file = await sink.create(path);
  const h = hasher();
  let size = 0;
  try {
    for await (const c of chunks) {
      h.update(c);
      size += c.length;
      await file.write(c);
    }
    await file.close();
  } catch (e) {
    await file.abort().catch(() => undefined);
    throw e;
  }
  return { path, size, sha256: h.digestHex(), role };
}

/** A sink that keeps files in a Map (tests, the default pack's determinism check). */
export function memorySink(): PackSink & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async create(path) {
      const parts: Uint8Array[] = [];
      return {
        async write(b) {
          parts.push(b.slice());
        },
        async close() {
          const n = parts.reduce((a, p) => a + p.length, 0);
          const out = new Uint8Array(n);
          let o = 0;
          for (const p of parts) {
            out.set(p, o);
            o += p.length;
          }
          files.set(path, out);
        },
        async abort() {
          parts.length = 0;
        },
      };
    },
  };
}
