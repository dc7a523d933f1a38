/**
 * Resumable, verified downloads into the pack cache.
 *
 * A file is streamed into the cache's partial area and hashed as it arrives. A dropped connection is retried
 * (with back-off) from where it stopped — `Range: bytes=<partial size>-` — also across runs, since the partial
 * file survives a reload; the prefix already on disk is re-hashed first. A server that ignores Range (200) makes
 * the transfer restart from 0, without progress ever going backwards. When all bytes are in, the sha256 is
 * compared with the manifest's: a mismatch deletes the partial file and throws a ModelPackError naming the file;
 * only a verified file is committed (cache.ts), so nothing already cached is ever damaged. Mirrors are tried in
 * order: an HTTP error or a bad file moves on to the next one.
 */
import { CancelledError, ModelPackError } from "../errors.js";
import type { PackCache } from "./cache.js";
import type { ProgressTracker } from "./progress.js";
import { defaultHasher, type HasherFactory, type IncrementalHasher } from "./sha256.js";

export interface RemoteFile {
  path: string;
  size: number;
  sha256: string;
}

export interface DownloadOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Resumes per mirror after a dropped connection. Default 5. */
  retries?: number;
  /** First back-off delay; doubles on each retry. Default 500 ms. */
  retryDelayMs?: number;
  hasher?: HasherFactory;
}

/** The server answered with an error status: try the next mirror. */
class HttpStatusError extends ModelPackError {}
/** The transfer ended early or the connection dropped: resume from the same mirror. */
class Interrupted extends Error {}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

async function hashPrefix(cache: PackCache, pack: string, path: string, have: number, h: IncrementalHasher) {
  const src = await cache.openPartialRead(pack, path);
  const step = 8 * 1024 * 1024;
  for (let o = 0; o < have; o += step) h.update(await src.read(o, Math.min(step, have - o)));
  await (src as { close?: () => Promise<void> }).close?.();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError("The download was cancelled."));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(new CancelledError("The download was cancelled."));
      },
      { once: true },
    );
  });
}

/** One attempt: resume (or start) the transfer from `url`, verify, commit. */
async function transfer(
  cache: PackCache,
  pack: string,
  file: RemoteFile,
  url: string,
  tracker: ProgressTracker,
  opts: DownloadOptions,
): Promise<void> {
  let have = await cache.partialSize(pack, file.path);
  if (have > file.size) {
    await cache.discardPartial(pack, file.path);
    have = 0;
  }
  let hasher = (opts.hasher ?? defaultHasher)();
  if (have > 0) await hashPrefix(cache, pack, file.path, have, hasher);
  const headers: Record<string, string> = { ...opts.headers };
  if (have > 0 && have < file.size) headers.Range = `bytes=${have}-`;
  let res: Response | null = null;
  if (have < file.size) {
    try {
      res = await (opts.fetch ?? globalThis.fetch)(url, { headers, signal: opts.signal, cache: "no-store" });
    } catch (e) {
      if (opts.signal?.aborted) throw new CancelledError("The download was cancelled.");
      throw new Interrupted(`request failed: ${(e as Error).message}`);
    }
    const encoded = (res.headers.get("Content-Encoding") ?? "identity").toLowerCase() !== "identity";
    if (res.status === 206 && encoded) {
      // a range of the *encoded* representation cannot be appended to decoded bytes: start over without Range
      await res.body?.cancel().catch(() => undefined);
      await cache.discardPartial(pack, file.path);
      throw new Interrupted("the server compresses this file on the fly, so it cannot resume; restarting it");
    }
    if (res.status === 206) {
      const m = CONTENT_RANGE.exec(res.headers.get("Content-Range") ?? "");
      if (!m || Number(m[1]) !== have || (m[3] !== "*" && Number(m[3]) !== file.size)) {
        await res.body?.cancel().catch(() => undefined);
        throw new HttpStatusError(
          `${file.path}: ${url} answered "${res.headers.get("Content-Range")}" for bytes ${have}-; the file on the mirror differs from the manifest`,
          { file: file.path, url },
        );
      }
    } else if (res.status === 200) {
      // Content-Length counts encoded bytes when the server compresses; fetch hands over decoded ones
      const len = encoded ? null : res.headers.get("Content-Length");
      if (len !== null && Number(len) !== file.size) {
        await res.body?.cancel().catch(() => undefined);
        throw new HttpStatusError(
          `${file.path}: ${url} has ${len} bytes but the manifest says ${file.size}; the mirror holds another version`,
          { file: file.path, url },
        );
      }
      if (have > 0) {
        // the server ignored Range: start over (progress waits until the new stream catches up)
        have = 0;
        hasher = (opts.hasher ?? defaultHasher)();
      }
    } else {
      await res.body?.cancel().catch(() => undefined);
      throw new HttpStatusError(`${file.path}: ${url} answered HTTP ${res.status} ${res.statusText}`.trim(), {
        file: file.path,
        url,
        status: res.status,
      });
    }
  }
  tracker.download(file.path, url, have);
  if (res?.body) {
    const writer = await cache.openPartial(pack, file.path, { truncate: have === 0 });
    const reader = res.body.getReader();
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (opts.signal?.aborted) throw new CancelledError("The download was cancelled.");
          throw new Interrupted(`connection dropped at byte ${have}: ${(e as Error).message}`);
        }
        if (chunk.done) break;
        const b = chunk.value;
        if (have + b.length > file.size) {
          throw new HttpStatusError(`${file.path}: ${url} sent more than the manifest's ${file.size} bytes`, {
            file: file.path,
            url,
          });
        }
        await writer.write(b);
        hasher.update(b);
        have += b.length;
        tracker.progress(file.path, have, b.length);
      }
    } finally {
      reader.releaseLock();
      await writer.close();
    }
  }
  if (have < file.size) throw new Interrupted(`connection ended at byte ${have} of ${file.size}`);
  const got = hasher.digestHex();
  if (got !== file.sha256) {
    await cache.discardPartial(pack, file.path);
    throw new ModelPackError(
      `${file.path}: sha256 mismatch (expected ${file.sha256}, got ${got}); the copy on ${url} is corrupt or was tampered with, so it was not cached`,
      { file: file.path, url, expected: file.sha256, got },
    );
  }
  await cache.commit(pack, file.path);
}

/** Whether the committed copy of `file` is the manifest's: its size matches and so does its sha256. */
export async function isCommittedCurrent(
  cache: PackCache,
  pack: string,
  file: RemoteFile,
  opts: { knownSha256?: string; hasher?: HasherFactory } = {},
): Promise<boolean> {
  if ((await cache.size(pack, file.path)) !== file.size) return false;
  if (opts.knownSha256 === file.sha256) return true; // verified when it was committed
  return (await hashCommitted(cache, pack, file.path, opts.hasher)) === file.sha256;
}

/** sha256 of a committed file, read in 8 MiB chunks. */
export async function hashCommitted(
  cache: PackCache,
  pack: string,
  path: string,
  hasher: HasherFactory = defaultHasher,
  onBytes?: (n: number) => void,
): Promise<string> {
  const src = await cache.open(pack, path);
  const h = hasher();
  const step = 8 * 1024 * 1024;
  try {
    for (let o = 0; o < src.size; o += step) {
      const b = await src.read(o, Math.min(step, src.size - o));
      h.update(b);
      onBytes?.(b.length);
    }
  } finally {
    await (src as { close?: () => Promise<void> }).close?.();
  }
  return h.digestHex();
}

/**
 * Make `file` present and verified in the cache, fetching it from the first mirror URL that works. With
 * `reuse` (the caller checked `isCommittedCurrent`), the committed copy is kept as is.
 */
export async function downloadFile(
  cache: PackCache,
  pack: string,
  file: RemoteFile,
  urls: readonly string[],
  tracker: ProgressTracker,
  opts: DownloadOptions & { reuse?: boolean } = {},
): Promise<{ cached: boolean }> {
  if (opts.reuse) {
    tracker.done(file.path, true);
    return { cached: true };
  }
  tracker.initiate(file.path);
  const retries = opts.retries ?? 5;
  let lastError: unknown = new ModelPackError(`${file.path}: no mirror to download it from`, {
    file: file.path,
  });
  for (const url of urls) {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (opts.signal?.aborted) throw new CancelledError("The download was cancelled.");
      try {
        await transfer(cache, pack, file, url, tracker, opts);
        tracker.done(file.path, false);
        return { cached: false };
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        lastError = e;
        if (!(e instanceof Interrupted)) break; // HTTP error or bad file: next mirror
        await sleep((opts.retryDelayMs ?? 500) * 2 ** attempt, opts.signal);
      }
    }
  }
  if (lastError instanceof Interrupted) {
    throw new ModelPackError(
      `${file.path}: download did not complete (${lastError.message}); the part already fetched is kept and the next attempt resumes from it`,
      { file: file.path },
    );
  }
  throw lastError;
}
