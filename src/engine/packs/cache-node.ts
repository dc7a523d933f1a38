/**
 * The pack cache in a Node folder (CLI, tests): `<root>/packs/<id>/<path>` for committed files and
 * `<root>/partial/<id>/<path>` for downloads in progress; `commit` is a rename on the same filesystem.
 */
import { mkdir, open, readdir, rename, rm, stat, statfs } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { openFileSource } from "../weights/source-node.js";
import { checkPackId, type PackCache } from "./cache.js";
import { checkPackPath } from "./paths.js";

async function sizeOf(p: string): Promise<number | null> {
  try {
    const st = await stat(p);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

export function nodeCache(dir: string): PackCache {
  const root = resolve(dir);
  const committed = (pack: string, path: string) =>
    join(root, "packs", checkPackId(pack), ...checkPackPath(path).split("/"));
  const partial = (pack: string, path: string) =>
    join(root, "partial", checkPackId(pack), ...checkPackPath(path).split("/"));
  return {
    kind: "node",
    size: (pack, path) => sizeOf(committed(pack, path)),
    open: (pack, path) => openFileSource(committed(pack, path), `${pack}/${path}`),
    async partialSize(pack, path) {
      return (await sizeOf(partial(pack, path))) ?? 0;
    },
    async openPartial(pack, path, { truncate }) {
      const p = partial(pack, path);
      await mkdir(dirname(p), { recursive: true });
      const fh = await open(p, truncate ? "w" : "a");
      return {
        async write(bytes) {
          let o = 0;
          while (o < bytes.length) o += (await fh.write(bytes, o, bytes.length - o)).bytesWritten;
        },
        close: () => fh.close(),
      };
    },
    async openPartialRead(pack, path) {
      return openFileSource(partial(pack, path), `${pack}/${path} (partial)`);
    },
    async commit(pack, path) {
      const dest = committed(pack, path);
      await mkdir(dirname(dest), { recursive: true });
      await rename(partial(pack, path), dest);
    },
    async discardPartial(pack, path) {
      await rm(partial(pack, path), { force: true });
    },
    async remove(pack, path) {
      if (path !== undefined) await rm(committed(pack, path), { force: true });
      else {
        await rm(join(root, "packs", checkPackId(pack)), { recursive: true, force: true });
        await rm(join(root, "partial", checkPackId(pack)), { recursive: true, force: true });
      }
    },
    async packs() {
      try {
        return (await readdir(join(root, "packs"), { withFileTypes: true }))
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
          .sort();
      } catch {
        return [];
      }
    },
    async estimate() {
      try {
        await mkdir(root, { recursive: true });
        const s = await statfs(root);
        const quota = s.blocks * s.bsize;
        return { usage: quota - s.bavail * s.bsize, quota };
      } catch {
        return null;
      }
    },
    async persist() {
      return true; // a folder on disk is persistent
    },
  };
}
