/**
 * What the converter reads: a flat list of files with "/"-separated relative paths, each a random-access
 * `ByteSource`. A Node folder (tree-node.ts), the files of a browser folder picker (`fromFileList`), or files
 * built in memory by tests and the default-pack script all look the same.
 */
import { ModelPackError } from "../errors.js";
import { type ByteSource, blobSource, bytesSource, readAll } from "../weights/source.js";

export interface InputFile {
  /** Relative path with "/" separators, e.g. "unet/config.json". */
  readonly path: string;
  readonly source: ByteSource;
}

export type InputTree = readonly InputFile[];

function normalise(p: string): string {
  return p
    .replace(/\\/g, "/")
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/** An in-memory tree (tests, the default pack). Strings are written as UTF-8. */
export function memoryTree(files: Readonly<Record<string, Uint8Array | string>>): InputTree {
  return Object.entries(files).map(([path, v]) => ({
    path: normalise(path),
    source: bytesSource(typeof v === "string" ? new TextEncoder().encode(v) : v, normalise(path)),
  }));
}

/** The files of `<input type=file webkitdirectory>` or a drop: paths from `webkitRelativePath` (or the name). */
export function fromFileList(files: Iterable<File>): InputTree {
  const out: InputFile[] = [];
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    out.push({ path: normalise(rel), source: blobSource(f, normalise(rel)) });
  }
  return out;
}

/**
 * Strip one top-level folder shared by every file (a picked folder "audioldm-m-full/unet/…" becomes
 * "unet/…"), unless the root already holds `marker` (e.g. "model_index.json").
 */
export function stripCommonRoot(tree: InputTree, marker?: string): InputTree {
  if (tree.length === 0) return tree;
  if (marker && tree.some((f) => f.path === marker)) return tree;
  const first = tree[0].path.split("/")[0];
  if (!tree.every((f) => f.path.startsWith(`${first}/`))) return tree;
  return tree.map((f) => ({ path: f.path.slice(first.length + 1), source: f.source }));
}

export function findFile(tree: InputTree, path: string): InputFile | undefined {
  return tree.find((f) => f.path === path);
}

/** Files directly inside `folder` ("" = the root), not in sub-folders. */
export function filesIn(tree: InputTree, folder: string): InputFile[] {
  const prefix = folder ? `${folder}/` : "";
  return tree.filter((f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes("/"));
}

export const baseName = (p: string): string => p.slice(p.lastIndexOf("/") + 1);

/** Parse a (small) JSON file of the tree, with a ModelPackError naming it on failure. */
export async function readJson(file: InputFile): Promise<Record<string, unknown>> {
  const bytes = await readAll(file.source, 16 * 1024 * 1024);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ModelPackError(`${file.path}: not valid JSON (${(e as Error).message})`, { file: file.path });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new ModelPackError(`${file.path}: expected a JSON object`, { file: file.path });
  return v as Record<string, unknown>;
}
