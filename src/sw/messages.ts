/** Messages between the page (ui/offline.ts) and the service worker (sw.ts), with guards for both directions. */

export type PackCacheState =
  | { state: "none" } // this build has no bundled pack
  | { state: "missing"; files: number; total: number }
  | { state: "caching"; files: number; total: number; bytes: number }
  | { state: "cached"; files: number; total: number }
  | { state: "error"; files: number; total: number; error: string };

/** What the worker reports: the build it serves, and how far the bundled pack is cached. */
export interface SwStatus {
  version: string;
  /** The shell precache completed (always true once the worker is active: install fails otherwise). */
  shell: boolean;
  pack: PackCacheState;
}

/** Page → worker. */
export type ToWorker = { type: "status" } | { type: "cache-pack" } | { type: "skip-waiting" };

/** Worker → page. */
export type FromWorker = { type: "status"; status: SwStatus };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

export function isToWorker(v: unknown): v is ToWorker {
  return isObj(v) && (v.type === "status" || v.type === "cache-pack" || v.type === "skip-waiting");
}

function isPackState(v: unknown): v is PackCacheState {
  if (!isObj(v)) return false;
  if (v.state === "none") return true;
  if (!isCount(v.files) || !isCount(v.total)) return false;
  if (v.state === "missing" || v.state === "cached") return true;
  if (v.state === "caching") return isCount(v.bytes);
  return v.state === "error" && typeof v.error === "string";
}

export function isFromWorker(v: unknown): v is FromWorker {
  if (!isObj(v) || v.type !== "status" || !isObj(v.status)) return false;
  const s = v.status;
  return typeof s.version === "string" && typeof s.shell === "boolean" && isPackState(s.pack);
}
