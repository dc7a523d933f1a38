/**
 * Node-only helpers for sessions: a pack read in place from a folder (the bundled `public/models/<id>` or a
 * converted pack on disk), with the same checks as a cached pack (sizes from the manifest; `verifyPack`
 * re-hashes on demand).
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ModelPackError } from "./errors.js";
import type { PackSource } from "./packs/loader.js";
import { checkPackPath } from "./packs/paths.js";
import { parseManifest } from "./packs/schema.js";
import { openFileSource } from "./weights/source-node.js";

export async function packFromFolder(dir: string): Promise<PackSource> {
  const root = resolve(dir);
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(await readFile(join(root, "manifest.json")));
  } catch (e) {
    throw new ModelPackError(`${root}: no readable manifest.json (${(e as Error).message})`, {
      file: join(root, "manifest.json"),
    });
  }
  const manifest = parseManifest(raw, join(root, "manifest.json"));
  const listed = new Set(manifest.files.map((f) => f.path));
  return {
    id: manifest.id,
    manifest,
    open: async (path) => {
      if (!listed.has(path))
        throw new ModelPackError(`${path} is not a file of pack "${manifest.id}"`, { file: path });
      return openFileSource(join(root, ...checkPackPath(path).split("/")), path);
    },
  };
}
