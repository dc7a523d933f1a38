/**
 * Paths inside a pack. A pack is served from a mirror (a base URL, an OPFS directory, a local folder) and may
 * only name files *inside* it, so every path in a manifest must be a plain, normalised, relative path:
 * segments of `[A-Za-z0-9._-]`, separated by single `/`, none empty, `.` or `..`, no leading `/`, no scheme,
 * no backslash, no `%`-escapes, no query or fragment, and no `.gz`/`.br`/`.zst` name (static servers send those
 * with a Content-Encoding, and fetch would hand over decoded bytes). Anything else is a `ModelPackError`.
 * The same rule guards the converter's output and the loader's URL building (`joinUrl`).
 */
import { describeValue, ModelPackError } from "../errors.js";

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const COMPRESSED = /\.(gz|br|zst)$/i;
export const MAX_PATH_LENGTH = 200;
export const MAX_PATH_DEPTH = 8;

/** Why `p` is not a safe pack path, or null when it is. */
export function pathProblem(p: string): string | null {
  if (typeof p !== "string" || p.length === 0) return "is empty";
  if (p.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (/^[a-z][a-z0-9+.-]*:/i.test(p))
    return "has a URL scheme (a pack may only name files inside its mirror)";
  if (p.startsWith("/") || p.startsWith("\\")) return "is absolute";
  if (p.includes("\\")) return "contains a backslash";
  const segs = p.split("/");
  if (segs.length > MAX_PATH_DEPTH) return `is nested deeper than ${MAX_PATH_DEPTH} folders`;
  if (COMPRESSED.test(p))
    return "ends in a compressed-file extension: servers send such files with a Content-Encoding that fetch decodes, so the bytes would not match their sha256 (store the file uncompressed)";
  for (const s of segs) {
    if (s === "") return "has an empty segment (// or a trailing /)";
    if (s === "." || s === "..") return `has a "${s}" segment`;
    if (!SEGMENT.test(s)) return `segment "${s}" has characters other than letters, digits, ".", "_" and "-"`;
  }
  return null;
}

export function isSafePackPath(p: string): boolean {
  return pathProblem(p) === null;
}

/** Throws a ModelPackError unless `p` is a safe pack path. */
export function checkPackPath(p: string, where = "pack manifest"): string {
  const why = pathProblem(p);
  if (why)
    throw new ModelPackError(`${where}: path "${describeValue(p)}" ${why}`, { file: describeValue(p) });
  return p;
}

/** Join a mirror base (an absolute URL or a path prefix, with or without a trailing "/") and a pack path. */
export function joinUrl(base: string, packPath: string): string {
  checkPackPath(packPath);
  return base.endsWith("/") ? `${base}${packPath}` : `${base}/${packPath}`;
}

/** Turn an arbitrary upstream file name into a safe segment (for names the converter derives). */
export function safeSegment(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "");
  return s.length ? s.slice(0, 100) : "_";
}
