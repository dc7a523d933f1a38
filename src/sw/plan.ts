/**
 * What the service worker caches and how it routes a request — pure functions shared by the worker (sw.ts), the
 * build step that writes the precache list (build.ts) and the unit tests.
 *
 * Two kinds of cache, both named from the build so a new deploy never reads an old one:
 * - the shell (`studio-shell-<version>`): every file of the built app except source maps and model packs —
 *   index.html, the JS/CSS chunks, the worker bundles, the /vendor/ runtimes (onnxruntime-web, ffmpeg core,
 *   tfjs wasm) and the demo inputs. `version` hashes the content of all of them. Precached on install.
 * - the bundled pack (`studio-pack-<id>-<manifest sha256>`): manifest.json and every file it lists, with the
 *   sizes and sha256 the manifest gives. Cached once the worker is active (the first load of the app).
 * Caches whose names start with `studio-` and are neither of these are deleted on activate.
 */

/** One file of the bundled pack, as listed by its manifest (plus the manifest itself). */
export interface PackFile {
  path: string;
  size: number;
  sha256: string;
}

/** The precache list the build injects into the service worker. Paths are relative to the app's base URL. */
export interface SwBuild {
  version: string;
  shell: readonly string[];
  pack: { id: string; dir: string; manifestSha256: string; files: readonly PackFile[] } | null;
}

export const CACHE_PREFIX = "studio-";

export function cacheNames(build: SwBuild): { shell: string; pack: string | null } {
  return {
    shell: `${CACHE_PREFIX}shell-${build.version}`,
    pack: build.pack
      ? `${CACHE_PREFIX}pack-${build.pack.id}-${build.pack.manifestSha256.slice(0, 16)}`
      : null,
  };
}

/** Our caches from other builds (to delete on activate); caches not named `studio-…` are not ours to touch. */
export function staleCaches(existing: readonly string[], build: SwBuild): string[] {
  const { shell, pack } = cacheNames(build);
  return existing.filter((n) => n.startsWith(CACHE_PREFIX) && n !== shell && n !== pack);
}

/** Where a request is answered from. `pass`: not ours — the browser fetches it as if there were no worker. */
export type Route =
  | { kind: "navigate"; key: string }
  | { kind: "shell"; key: string }
  | { kind: "pack"; key: string }
  | { kind: "pass" };

export interface RouteRequest {
  method: string;
  url: string;
  mode: string;
}

/**
 * The route for a request, given the worker's scope URL (the app's base, ending in "/"). Only same-origin GETs
 * under the scope are ever answered from a cache; cross-origin requests (a user's model mirror), non-GET
 * requests and anything unknown pass through untouched. Cache keys are absolute URLs without query or hash.
 */
export function routeRequest(req: RouteRequest, scope: string, build: SwBuild): Route {
  if (req.method !== "GET") return { kind: "pass" };
  const url = new URL(req.url);
  const base = new URL(scope);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return { kind: "pass" };
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.slice(base.pathname.length));
  } catch {
    return { kind: "pass" }; // a malformed %-escape names no file of ours
  }
  if (req.mode === "navigate") return { kind: "navigate", key: new URL("index.html", base).href };
  const key = new URL(url.pathname, base).href;
  if (build.pack && path.startsWith(build.pack.dir)) {
    const file = path.slice(build.pack.dir.length);
    return build.pack.files.some((f) => f.path === file) ? { kind: "pack", key } : { kind: "pass" };
  }
  return build.shell.includes(path) ? { kind: "shell", key } : { kind: "pass" };
}

/** Whether a relative path of the built app belongs in the shell precache. */
export function isShellFile(path: string, packRoot: string): boolean {
  return !path.endsWith(".map") && path !== "sw.js" && !path.startsWith(packRoot);
}
