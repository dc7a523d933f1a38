import { describe, expect, it } from "vitest";
import { openUrlSource } from "../engine/weights/source.js";
import { ifRangeMatches, parseRange, respondFromCache } from "./range.js";

const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 255);
const serverHeaders = {
  "Content-Type": "application/octet-stream",
  "Content-Length": "1000",
  ETag: '"v1-1000"',
  "Last-Modified": "Tue, 24 Nov 2026 10:00:00 GMT",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": "default-src 'self'",
};
const cached = () => new Response(bytes.slice(), { status: 200, headers: serverHeaders });
const req = (headers: Record<string, string> = {}) =>
  new Request("http://app.test/models/default/x", { headers });

describe("parseRange", () => {
  it("resolves start-end, open-ended and suffix ranges against the size", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange("bytes=4-", 10)).toEqual({ start: 4, end: 9 });
    expect(parseRange("bytes=2-99", 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=-30", 10)).toEqual({ start: 0, end: 9 });
  });
  it("says unsatisfiable past the end, and null (serve it all) for what it does not parse", () => {
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-2", 10)).toBeNull();
    expect(parseRange("bytes=0-1,4-5", 10)).toBeNull();
    expect(parseRange("items=0-1", 10)).toBeNull();
    expect(parseRange("bytes=-", 10)).toBeNull();
  });
});

describe("ifRangeMatches", () => {
  const h = new Headers(serverHeaders);
  it("accepts the strong ETag or the exact Last-Modified, and nothing else", () => {
    expect(ifRangeMatches('"v1-1000"', h)).toBe(true);
    expect(ifRangeMatches("Tue, 24 Nov 2026 10:00:00 GMT", h)).toBe(true);
    expect(ifRangeMatches('"v2-1000"', h)).toBe(false);
    expect(ifRangeMatches('W/"v1-1000"', h)).toBe(false);
    expect(ifRangeMatches("Wed, 25 Nov 2026 10:00:00 GMT", h)).toBe(false);
    expect(ifRangeMatches('W/"x"', new Headers({ ETag: 'W/"x"' }))).toBe(false);
  });
});

describe("respondFromCache", () => {
  it("serves the whole cached response when there is no Range", async () => {
    const res = await respondFromCache(req(), cached());
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("answers a range with 206, Content-Range, the slice, and every header the server sent", async () => {
    const res = await respondFromCache(req({ Range: "bytes=100-199" }), cached());
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe("bytes 100-199/1000");
    expect(res.headers.get("Content-Length")).toBe("100");
    for (const [k, v] of Object.entries(serverHeaders))
      if (k !== "Content-Length") expect(res.headers.get(k)).toBe(v);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(100, 200));
  });

  it("resumes an open-ended range (downloads) and refuses one past the end with 416", async () => {
    const tail = await respondFromCache(req({ Range: "bytes=990-" }), cached());
    expect(tail.headers.get("Content-Range")).toBe("bytes 990-999/1000");
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(990));
    const past = await respondFromCache(req({ Range: "bytes=1000-" }), cached());
    expect(past.status).toBe(416);
    expect(past.headers.get("Content-Range")).toBe("bytes */1000");
  });

  it("sends the whole file when If-Range names another version, and the range when it matches", async () => {
    const stale = await respondFromCache(req({ Range: "bytes=0-9", "If-Range": '"v0-1000"' }), cached());
    expect(stale.status).toBe(200);
    const same = await respondFromCache(
      req({ Range: "bytes=0-9", "If-Range": "Tue, 24 Nov 2026 10:00:00 GMT" }),
      cached(),
    );
    expect(same.status).toBe(206);
  });

  it("satisfies the pack loader's HTTP Range reader (size probe, then If-Range reads)", async () => {
    const seen: string[] = [];
    const fetchFromCache = (async (url: string, init?: RequestInit) => {
      const r = new Request(url, init);
      seen.push(`${r.headers.get("Range")} ${r.headers.get("If-Range")}`);
      return respondFromCache(r, cached());
    }) as typeof fetch;
    const src = await openUrlSource("http://app.test/models/default/x", { fetch: fetchFromCache });
    expect(src.size).toBe(1000);
    expect(await src.read(500, 250)).toEqual(bytes.slice(500, 750));
    expect(seen).toEqual(["bytes=0-0 null", 'bytes=500-749 "v1-1000"']);
  });
});
