/**
 * Installing, verifying, listing and deleting packs in a cache.
 *
 * `installPack` fetches `manifest.json` from the first mirror that answers (a mirror is the base URL of a pack
 * folder: wherever a converted pack is hosted, `<app>/models/<id>/` for the bundled one), checks the storage
 * quota, asks for persistence, then downloads every file that is not already cached and current (resumable and
 * verified, download.ts), and commits `manifest.json` last: a pack is installed exactly when its manifest is in
 * the cache. Once installed, loading (loader.ts `packFromCache`) needs no network.
 */
import { ModelPackError } from "../errors.js";
import { checkPackId, type PackCache, readCached } from "./cache.js";
import { type DownloadOptions, downloadFile, hashCommitted, isCommittedCurrent } from "./download.js";
import { type PackSource, packFromCache } from "./loader.js";
import { joinUrl } from "./paths.js";
import { type PackProgressCallback, ProgressTracker } from "./progress.js";
import { type PackManifest, parseManifest } from "./schema.js";

export interface InstallOptions extends DownloadOptions {
  /** Base URLs of the pack folder, tried in order. */
  mirrors: readonly string[];
  /** Refuse a manifest whose id differs. */
  expectedId?: string;
  onProgress?: PackProgressCallback;
  /** Minimum ms between progress events of a file (default 100). */
  throttleMs?: number;
}

export interface InstallResult {
  pack: PackSource;
  /** Bytes fetched over the network (0 when everything was cached). */
  downloaded: number;
  persisted: boolean;
}

async function fetchManifest(
  opts: InstallOptions,
): Promise<{ bytes: Uint8Array; manifest: PackManifest; base: string }> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const errors: string[] = [];
  for (const base of [...opts.mirrors, ...opts.mirrors]) {
    // each mirror twice: a keep-alive connection the server just closed fails once, harmlessly
    const url = joinUrl(base, "manifest.json");
    try {
      const res = await doFetch(url, { signal: opts.signal, headers: opts.headers, cache: "no-store" });
      if (!res.ok) {
        errors.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { bytes, manifest: parseManifest(bytes, url), base };
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if (e instanceof ModelPackError) throw e; // an invalid manifest is an error, not a reason to shop around
      errors.push(
        `${url}: ${(e as Error).message}${(e as Error).cause ? ` (${String((e as Error).cause)})` : ""}`,
      );
    }
  }
  throw new ModelPackError(
    `no mirror served the pack manifest (${errors.join("; ") || "no mirrors configured"})`,
    {
      mirrors: [...opts.mirrors],
    },
  );
}

const MB = 1024 * 1024;

export async function installPack(cache: PackCache, opts: InstallOptions): Promise<InstallResult> {
  const { bytes, manifest, base } = await fetchManifest(opts);
  const id = checkPackId(manifest.id);
  if (opts.expectedId && opts.expectedId !== id)
    throw new ModelPackError(`the mirror serves pack "${id}", not "${opts.expectedId}"`, { pack: id });
  const previous = await installedManifest(cache, id);
  const known = new Map(previous?.files.map((f) => [f.path, f.sha256]) ?? []);
  const reuse = new Map<string, boolean>();
  let needed = 0;
  for (const f of manifest.files) {
    const ok = await isCommittedCurrent(cache, id, f, {
      knownSha256: known.get(f.path),
      hasher: opts.hasher,
    });
    reuse.set(f.path, ok);
    if (!ok) needed += f.size - Math.min(f.size, await cache.partialSize(id, f.path));
  }
  const est = await cache.estimate();
  if (est && needed > 0 && est.quota - est.usage < needed * 1.02) {
    const free = Math.max(0, est.quota - est.usage);
    throw new ModelPackError(
      `Not enough storage for pack "${manifest.name}": it needs ${(needed / MB).toFixed(0)} MB more, but only ${(free / MB).toFixed(0)} MB are available to this site (${(est.usage / MB).toFixed(0)} MB used of a ${(est.quota / MB).toFixed(0)} MB quota). Delete packs you do not use in the Models view, or free disk space, then try again.`,
      { pack: id, needed, available: free, usage: est.usage, quota: est.quota },
    );
  }
  const persisted = await cache.persist().catch(() => false);
  // The pack counts as not installed while committed files are replaced by other content (an update); fetching
  // files that are simply missing (a repair, a resumed install) leaves an installed manifest in place.
  let replacing = false;
  for (const f of manifest.files)
    if (!reuse.get(f.path) && (await cache.size(id, f.path)) !== null) replacing = true;
  if (previous && replacing) await cache.remove(id, "manifest.json");
  const tracker = new ProgressTracker(id, manifest.files, opts.onProgress, { throttleMs: opts.throttleMs });
  let downloaded = 0;
  for (const f of manifest.files) {
    const before = tracker.loaded;
    const r = await downloadFile(
      cache,
      id,
      f,
      [...new Set([base, ...opts.mirrors])].map((m) => joinUrl(m, f.path)),
      tracker,
      {
        ...opts,
        reuse: reuse.get(f.path),
      },
    );
    if (!r.cached) downloaded += tracker.loaded - before;
  }
  const w = await cache.openPartial(id, "manifest.json", { truncate: true });
  await w.write(bytes);
  await w.close();
  await cache.commit(id, "manifest.json");
  tracker.ready();
  return { pack: await packFromCache(cache, id), downloaded, persisted };
}

/** The manifest of an installed pack, or null (not installed, or its manifest is unreadable). */
export async function installedManifest(cache: PackCache, id: string): Promise<PackManifest | null> {
  if ((await cache.size(id, "manifest.json")) === null) return null;
  try {
    return parseManifest(await readCached(cache, id, "manifest.json"), `${id}/manifest.json`);
  } catch {
    return null;
  }
}

export interface InstalledPack {
  id: string;
  name: string;
  version: string;
  bytes: number;
  /** Every file is in the cache with its manifest size (a cheap check; `verifyPack` re-hashes). */
  complete: boolean;
  models: {
    id: string;
    name: string;
    components: { id: string; kind: string; dtype: string; quantization: string }[];
  }[];
}

/** Every installed pack (a pack being installed or updated has no manifest yet and is not listed). */
export async function listPacks(cache: PackCache): Promise<InstalledPack[]> {
  const out: InstalledPack[] = [];
  for (const id of await cache.packs()) {
    const m = await installedManifest(cache, id);
    if (!m) continue;
    let complete = true;
    for (const f of m.files) if ((await cache.size(id, f.path)) !== f.size) complete = false;
    out.push({
      id,
      name: m.name,
      version: m.version,
      bytes: m.files.reduce((a, f) => a + f.size, 0),
      complete,
      models: Object.entries(m.models).map(([mid, model]) => ({
        id: mid,
        name: model.name,
        components: Object.entries(model.components).map(([cid, c]) => ({
          id: cid,
          kind: c.kind,
          dtype: c.dtype,
          quantization: c.quantization,
        })),
      })),
    });
  }
  return out;
}

export interface VerifyReport {
  pack: string;
  ok: string[];
  bad: { path: string; reason: string }[];
}

/**
 * Re-hash every file of an installed pack. Bad files are deleted (with `repair`, the default): the pack then
 * reads as incomplete (`packFromCache` names the files) until `installPack` fetches them again. The manifest
 * stays, so a pack converted in the browser (which has no mirror) keeps its record.
 */
export async function verifyPack(
  cache: PackCache,
  id: string,
  opts: {
    repair?: boolean;
    onProgress?: (done: number, total: number) => void;
    hasher?: DownloadOptions["hasher"];
  } = {},
): Promise<VerifyReport> {
  const m = await installedManifest(cache, id);
  if (!m) throw new ModelPackError(`pack "${id}" is not installed`, { pack: id });
  const total = m.files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const report: VerifyReport = { pack: id, ok: [], bad: [] };
  for (const f of m.files) {
    const size = await cache.size(id, f.path);
    let reason: string | null = null;
    if (size === null) reason = "missing";
    else if (size !== f.size) reason = `${size} bytes, expected ${f.size}`;
    else {
      const got = await hashCommitted(cache, id, f.path, opts.hasher, (n) => {
        done += n;
        opts.onProgress?.(done, total);
      });
      if (got !== f.sha256) reason = `sha256 ${got}, expected ${f.sha256}`;
    }
    if (reason === null) report.ok.push(f.path);
    else {
      report.bad.push({ path: f.path, reason });
      if (opts.repair ?? true) await cache.remove(id, f.path);
    }
  }
  return report;
}

export async function removePack(cache: PackCache, id: string): Promise<void> {
  await cache.remove(checkPackId(id));
}
