/**
 * Random-access byte sources: the one way the weight readers touch a file.
 *
 * A checkpoint can be 4.5 GB (imagebind_huge.pth), so readers never hold a whole file: they read the header or
 * directory, then one tensor at a time, through `read(offset, length)`. Implementations here are browser-safe
 * (memory, Blob/File, HTTP Range); the Node file source lives in `source-node.ts` so bundles never import node:fs.
 *
 * Every read is bounds-checked against `size` before any I/O, so a header that points past the end of the file
 * fails with a `ModelPackError` naming the file instead of returning short data.
 */
import { ModelPackError } from "../errors.js";

export interface ByteSource {
  /** A name for messages (file name or URL). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`, or a `ModelPackError`. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Validate a read request against a source's size (shared by every implementation). */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ModelPackError(`${name}: invalid read of ${length} bytes at offset ${offset}`, {
      file: name,
      offset,
      length,
    });
  }
  if (offset + length > size) {
    throw new ModelPackError(
      `${name}: read of ${length} bytes at offset ${offset} runs past the end of the ${size}-byte file (truncated?)`,
      { file: name, offset, length, size },
    );
  }
}

/** An in-memory source. Reads return views into `bytes` (no copy). */
export function bytesSource(bytes: Uint8Array, name = "memory"): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A browser `Blob`/`File` (or Node's `Blob`): each read is `blob.slice().arrayBuffer()`. */
export function blobSource(blob: Blob, name?: string): ByteSource {
  const label = name ?? (typeof File !== "undefined" && blob instanceof File ? blob.name : "blob");
  return {
    name: label,
    size: blob.size,
    async read(offset, length) {
      checkRange(label, blob.size, offset, length);
      if (length === 0) return new Uint8Array(0);
      const buf = await blob.slice(offset, offset + length).arrayBuffer();
      if (buf.byteLength !== length) {
        throw new ModelPackError(`${label}: read ${buf.byteLength} bytes at ${offset}, expected ${length}`, {
          file: label,
        });
      }
      return new Uint8Array(buf);
    },
  };
}

/** A window `[offset, offset + length)` of another source, presented as a source of its own. */
export function sliceSource(src: ByteSource, offset: number, length: number, name = src.name): ByteSource {
  checkRange(src.name, src.size, offset, length);
  return {
    name,
    size: length,
    async read(o, n) {
      checkRange(name, length, o, n);
      return src.read(offset + o, n);
    },
  };
}

/** Read a whole (small) source, refusing anything over `limit` bytes. */
export async function readAll(src: ByteSource, limit = 64 * 1024 * 1024): Promise<Uint8Array> {
  if (src.size > limit) {
    throw new ModelPackError(
      `${src.name}: ${src.size} bytes is over the ${limit}-byte limit for this kind of file`,
      {
        file: src.name,
        size: src.size,
      },
    );
  }
  return src.read(0, src.size);
}

export interface UrlSourceOptions {
  /** The fetch to use (defaults to the global one; tests inject a fake). */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. an auth token the user supplied). */
  headers?: Record<string, string>;
  /** Aborts the probe and every later read. */
  signal?: AbortSignal;
  /** Name for messages; defaults to the URL. */
  name?: string;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

function parseContentRange(v: string | null): { start: number; end: number; total: number } | null {
  const m = v ? CONTENT_RANGE.exec(v.trim()) : null;
  if (!m) return null;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![start, end, total].every(Number.isSafeInteger) || end < start || end >= total) return null;
  return { start, end, total };
}

/**
 * A remote file read with HTTP Range requests. A first `Range: bytes=0-0` request learns the size (from
 * `Content-Range`) and the validator (`ETag`/`Last-Modified`); later reads send `If-Range` so a file replaced on
 * the server mid-load fails instead of mixing two versions. A server that ignores Range (200) is refused with a
 * message saying what to do instead: streaming a multi-GB checkpoint through memory is not an option.
 */
export async function openUrlSource(url: string, opts: UrlSourceOptions = {}): Promise<ByteSource> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const name = opts.name ?? url;
  const fail = (msg: string, details: Record<string, string | number> = {}): never => {
    throw new ModelPackError(`${name}: ${msg}`, { file: name, url, ...details });
  };
  const request = async (start: number, end: number, validator: string | null): Promise<Response> => {
    const headers: Record<string, string> = { ...opts.headers, Range: `bytes=${start}-${end}` };
    if (validator) headers["If-Range"] = validator;
    try {
      return await doFetch(url, { headers, signal: opts.signal, cache: "no-store" });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      return fail(`request failed (${(e as Error).message}); check the URL and your connection`);
    }
  };
  const refuseNonRange = async (res: Response, what: string): Promise<never> => {
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 200) {
      return fail(
        `${what}: the server ignores HTTP Range requests (answered 200 with the whole file); ` +
          "host the checkpoint on a server that supports Range, or download it and open it as a local file",
        { status: res.status },
      );
    }
    if (res.status === 416) return fail(`${what}: the server refused the byte range (416)`, { status: 416 });
    return fail(`${what}: HTTP ${res.status} ${res.statusText}`.trim(), { status: res.status });
  };

  const probe = await request(0, 0, null);
  if (probe.status !== 206) return refuseNonRange(probe, "size probe");
  const range = parseContentRange(probe.headers.get("Content-Range"));
  await probe.body?.cancel().catch(() => undefined);
  if (range?.start !== 0) {
    return fail(`size probe: missing or malformed Content-Range "${probe.headers.get("Content-Range")}"`);
  }
  const size = range.total;
  const etag = probe.headers.get("ETag");
  const validator = etag && !etag.startsWith("W/") ? etag : probe.headers.get("Last-Modified");

  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      const end = offset + length - 1;
      const res = await request(offset, end, validator);
      if (res.status !== 206) {
        return refuseNonRange(
          res,
          res.status === 200 && validator
            ? `bytes ${offset}-${end} (the file changed on the server?)`
            : `bytes ${offset}-${end}`,
        );
      }
      const got = parseContentRange(res.headers.get("Content-Range"));
      if (!got || got.start !== offset || got.end !== end || got.total !== size) {
        await res.body?.cancel().catch(() => undefined);
        return fail(
          `asked for bytes ${offset}-${end}/${size} but the server sent "${res.headers.get("Content-Range")}" (file changed on the server?)`,
        );
      }
      const buf = new Uint8Array(await res.arrayBuffer());
      if (buf.length !== length)
        fail(`bytes ${offset}-${end}: received ${buf.length} bytes, expected ${length}`);
      return buf;
    },
  };
}
