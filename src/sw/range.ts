/**
 * Answering a request from a cached full (200) response, as an HTTP server would: a `Range: bytes=…` request
 * gets 206 with `Content-Range` (416 when unsatisfiable), `If-Range` is honoured (a validator that no longer
 * matches gets the whole file, as RFC 9110 §13.1.5 says), and every header the server sent — COOP, COEP, CORP,
 * CSP, ETag, Last-Modified — is kept, so a page served from the cache stays cross-origin isolated.
 *
 * The pack loader reads the bundled pack in place with `Range: bytes=0-0` (size probe) and then
 * `Range: bytes=a-b` + `If-Range` (weights/source.ts); installs resume with `Range: bytes=a-` (packs/download.ts).
 * Both only work offline if the cache answers ranges exactly like the server did.
 */

/** A byte range resolved against a file's size: inclusive `start`..`end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against `size`. Returns `null` when the header is not a single `bytes` range this
 * code understands (the caller then serves the whole file, which RFC 9110 allows), `"unsatisfiable"` when it is
 * syntactically fine but outside the file.
 */
export function parseRange(header: string, size: number): ByteRange | "unsatisfiable" | null {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null; // multi-range, other units or garbage
  if (m[1] === "") {
    // suffix range: the last N bytes
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) return null;
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === "" ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(last, size - 1) };
}

/** Whether an `If-Range` value still names the cached representation (strong ETag or exact Last-Modified). */
export function ifRangeMatches(ifRange: string, cached: Headers): boolean {
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith("W/")) {
    const etag = cached.get("ETag");
    return !v.startsWith("W/") && etag !== null && !etag.startsWith("W/") && etag === v;
  }
  const lastModified = cached.get("Last-Modified");
  return lastModified !== null && lastModified === v;
}

function copyHeaders(from: Headers): Headers {
  const h = new Headers(from);
  // a cached body is stored decoded; its length is what the blob says, not what the server sent
  h.delete("Content-Encoding");
  h.delete("Content-Length");
  h.delete("Content-Range");
  h.delete("Transfer-Encoding");
  return h;
}

/**
 * The answer to `request` (its `Range` and `If-Range` headers) from `cached`, a full 200 response. Without a
 * Range header, or with an `If-Range` that no longer matches, `cached` itself (the whole file); a Range this code
 * does not parse (several ranges, other units) also gets the whole file, as RFC 9110 allows.
 */
export async function respondFromCache(request: Request, cached: Response): Promise<Response> {
  const range = request.headers.get("Range");
  const ifRange = request.headers.get("If-Range");
  if (range === null || (ifRange !== null && !ifRangeMatches(ifRange, cached.headers))) return cached;
  const body = await cached.blob();
  const headers = copyHeaders(cached.headers);
  headers.set("Accept-Ranges", "bytes");
  const whole = () => {
    headers.set("Content-Length", String(body.size));
    return new Response(body, { status: 200, statusText: "OK", headers });
  };
  const r = parseRange(range, body.size);
  if (r === null) return whole();
  if (r === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${body.size}`);
    headers.set("Content-Length", "0");
    return new Response(null, { status: 416, statusText: "Range Not Satisfiable", headers });
  }
  headers.set("Content-Range", `bytes ${r.start}-${r.end}/${body.size}`);
  headers.set("Content-Length", String(r.end - r.start + 1));
  return new Response(body.slice(r.start, r.end + 1), {
    status: 206,
    statusText: "Partial Content",
    headers,
  });
}
