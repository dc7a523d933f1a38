/**
 * The pack cache in the Origin Private File System (`navigator.storage.getDirectory()`), usable from the page
 * and from workers. Layout: `<root>/packs/<id>/<path>` (committed) and `<root>/partial/<id>/<path>`
 * (downloads and conversions in progress). `commit` moves the verified partial file over the committed one
 * (`FileSystemFileHandle.move`, Chromium ≥ 110; elsewhere a copy then a delete).
 *
 * `navigator.storage.persist()` exists only on the page (not in workers): the Models view calls `persist()` on
 * the main thread; in a worker this reports `navigator.storage.persisted()`.
 */
import { ModelPackError, UnsupportedError } from "../errors.js";
import { blobSource } from "../weights/source.js";
import { checkPackId, type PackCache } from "./cache.js";
import { checkPackPath } from "./paths.js";

type Dir = FileSystemDirectoryHandle;
/** The parts of the File System API that lib.dom's types do not all declare yet. */
interface MovableHandle extends FileSystemFileHandle {
  move?: (dir: Dir, name: string) => Promise<void>;
}
interface IterableDir extends Dir {
  keys(): AsyncIterable<string>;
}
interface StorageWithPersist {
  getDirectory?: () => Promise<Dir>;
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
}

const notFound = (e: unknown) =>
  e instanceof DOMException && (e.name === "NotFoundError" || e.name === "TypeMismatchError");

function storage(): StorageWithPersist {
  const s = (globalThis.navigator as { storage?: StorageWithPersist } | undefined)?.storage;
  if (!s?.getDirectory) {
    throw new UnsupportedError(
      "This browser has no Origin Private File System (navigator.storage.getDirectory); packs cannot be cached. Use a recent Chrome, Edge, Firefox or Safari, outside private browsing.",
    );
  }
  return s;
}

export async function opfsCache(rootName = "studio-packs"): Promise<PackCache> {
  const s = storage();
  const root = await (await s.getDirectory!()).getDirectoryHandle(rootName, { create: true });

  async function dirOf(
    area: "packs" | "partial",
    pack: string,
    segs: string[],
    create: boolean,
  ): Promise<Dir> {
    let d = await root.getDirectoryHandle(area, { create: true });
    for (const seg of [checkPackId(pack), ...segs]) d = await d.getDirectoryHandle(seg, { create });
    return d;
  }
  async function file(area: "packs" | "partial", pack: string, path: string, create: boolean) {
    const segs = checkPackPath(path).split("/");
    const name = segs.pop()!;
    const dir = await dirOf(area, pack, segs, create);
    return { dir, name, handle: (await dir.getFileHandle(name, { create })) as MovableHandle };
  }
  async function sizeOr(area: "packs" | "partial", pack: string, path: string): Promise<number | null> {
    try {
      return (await (await file(area, pack, path, false)).handle.getFile()).size;
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  }

  return {
    kind: "opfs",
    size: (pack, path) => sizeOr("packs", pack, path),
    async open(pack, path) {
      try {
        return blobSource(await (await file("packs", pack, path, false)).handle.getFile(), `${pack}/${path}`);
      } catch (e) {
        if (notFound(e))
          throw new ModelPackError(`${pack}/${path} is not in the cache`, { file: path, pack });
        throw e;
      }
    },
    async partialSize(pack, path) {
      return (await sizeOr("partial", pack, path)) ?? 0;
    },
    async openPartial(pack, path, { truncate }) {
      const { handle } = await file("partial", pack, path, true);
      const w = await handle.createWritable({ keepExistingData: !truncate });
      if (!truncate) await w.seek((await handle.getFile()).size);
      return { write: (b) => w.write(b.slice()), close: () => w.close() };
    },
    async openPartialRead(pack, path) {
      return blobSource(
        await (await file("partial", pack, path, true)).handle.getFile(),
        `${pack}/${path} (partial)`,
      );
    },
    async commit(pack, path) {
      const src = await file("partial", pack, path, false);
      const segs = path.split("/");
      const name = segs.pop()!;
      const dest = await dirOf("packs", pack, segs, true);
      await dest.removeEntry(name).catch((e: unknown) => {
        if (!notFound(e)) throw e;
      });
      if (src.handle.move) {
        await src.handle.move(dest, name);
        return;
      }
      const w = await (await dest.getFileHandle(name, { create: true })).createWritable();
      await (await src.handle.getFile()).stream().pipeTo(w);
      await src.dir.removeEntry(src.name);
    },
    async discardPartial(pack, path) {
      try {
        const f = await file("partial", pack, path, false);
        await f.dir.removeEntry(f.name);
      } catch (e) {
        if (!notFound(e)) throw e;
      }
    },
    async remove(pack, path) {
      try {
        if (path !== undefined) {
          const f = await file("packs", pack, path, false);
          await f.dir.removeEntry(f.name);
          return;
        }
        for (const area of ["packs", "partial"] as const) {
          const d = await root.getDirectoryHandle(area, { create: true });
          await d.removeEntry(checkPackId(pack), { recursive: true }).catch((e: unknown) => {
            if (!notFound(e)) throw e;
          });
        }
      } catch (e) {
        if (!notFound(e)) throw e;
      }
    },
    async packs() {
      const d = (await root.getDirectoryHandle("packs", { create: true })) as IterableDir;
      const out: string[] = [];
      for await (const k of d.keys()) out.push(k);
      return out.sort();
    },
    async estimate() {
      const e = await s.estimate?.();
      return e && typeof e.quota === "number" ? { usage: e.usage ?? 0, quota: e.quota } : null;
    },
    async persist() {
      if (s.persist) return s.persist();
      return (await s.persisted?.()) ?? false;
    },
  };
}
