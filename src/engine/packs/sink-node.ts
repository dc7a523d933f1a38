/**
 * Node-only pack I/O for tools/ and tests: a folder sink (each file written to `<name>.tmp`, then renamed, so
 * an interrupted run never leaves a truncated file under its final name) and a folder reader for `--from`.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { ModelPackError } from "../errors.js";
import { openFileSource } from "../weights/source-node.js";
import type { PackSource } from "./loader.js";
import { checkPackPath } from "./paths.js";
import { parseManifest } from "./schema.js";
import type { PackSink } from "./sink.js";
import type { InputFile, InputTree } from "./tree.js";

export function folderSink(dir: string): PackSink {
  const root = resolve(dir);
  return {
    async create(path) {
      checkPackPath(path, "pack output");
      const dest = join(root, ...path.split("/"));
      await mkdir(resolve(dest, ".."), { recursive: true });
      const tmp = `${dest}.tmp`;
      const fh = await open(tmp, "w");
      let closed = false;
      return {
        async write(bytes) {
          let o = 0;
          while (o < bytes.length) {
            const { bytesWritten } = await fh.write(bytes, o, bytes.length - o);
            o += bytesWritten;
          }
        },
        async close() {
          closed = true;
          await fh.close();
          await rename(tmp, dest);
        },
        async abort() {
          if (!closed) await fh.close().catch(() => undefined);
          await rm(tmp, { force: true });
        },
      };
    },
  };
}

const SKIP = /(^|\/)(\.[^/]*|__pycache__|node_modules)(\/|$)/;

/**
 * Every file under `dir` (hidden files and folders skipped), or the file itself; paths relative to `dir` (a
 * single file is named by its base name). Sources are opened lazily and closed by `close()`.
 */
export async function readInputTree(
  paths: readonly string[],
): Promise<InputTree & { close(): Promise<void> }> {
  const files: InputFile[] = [];
  const opened: { close(): Promise<void> }[] = [];
  const add = async (abs: string, rel: string) => {
    const src = await openFileSource(abs, rel);
    opened.push(src);
    files.push({ path: rel, source: src });
  };
  for (const p of paths) {
    const abs = resolve(p);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(abs);
    } catch (e) {
      throw new ModelPackError(`--from ${p}: ${(e as Error).message}`, { file: p });
    }
    if (st.isFile()) {
      await add(abs, abs.slice(abs.lastIndexOf(sep) + 1));
      continue;
    }
    const entries = await readdir(abs, { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (!e.isFile()) continue;
      const full = join(e.parentPath, e.name);
      const rel = relative(abs, full).split(sep).join("/");
      if (SKIP.test(rel)) continue;
      await add(full, rel);
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return Object.assign(files, {
    close: async () => {
      await Promise.all(opened.map((o) => o.close()));
    },
  });
}

/** A pack read in place from a Node folder (a `--out` folder, public/models/default). */
export async function folderPack(dir: string): Promise<PackSource> {
  const root = resolve(dir);
  const manifest = parseManifest(
    new Uint8Array(await readFile(join(root, "manifest.json"))),
    join(root, "manifest.json"),
  );
  return {
    id: manifest.id,
    manifest,
    open: (path) => openFileSource(join(root, ...checkPackPath(path).split("/")), path),
  };
}
