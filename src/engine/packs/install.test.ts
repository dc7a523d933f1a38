/**
 * Installing a pack from a mirror: a local HTTP server with Range support serves a converted pack and can cut
 * a connection mid-file, ignore Range, or serve tampered bytes. Downloads resume from where they stopped (also
 * across calls), progress follows the initiate → download → progress* → done lifecycle with monotonic `loaded`
 * and constant `total`, a bad file is refused naming it, and nothing already cached is damaged.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticAudioLDM } from "../../../test/support/packs.js";
import { ModelPackError } from "../errors.js";
import { memoryCache, type PackCache } from "./cache.js";
import { convertPack } from "./convert.js";
import { installPack, listPacks } from "./install.js";
import { loadComponent } from "./loader.js";
import type { PackProgressEvent } from "./progress.js";
import type { PackManifest } from "./schema.js";
import { sha256Hex } from "./sha256.js";
import { memorySink } from "./sink.js";

interface Behaviour {
  /** Cut the first response of this file after this many bytes. */
  cut?: { path: string; after: number; times: number };
  ignoreRange?: boolean;
  tamper?: string;
  notFound?: boolean;
}

let files: Map<string, Uint8Array>;
let manifest: PackManifest;
let server: Server;
let base: string;
let behaviour: Behaviour = {};
const log: { path: string; range: string | null; sent: number }[] = [];

beforeAll(async () => {
  const src = syntheticAudioLDM({ unetShards: 1 });
  const sink = memorySink();
  manifest = await convertPack(
    [{ spec: "audioldm-m-full", id: "audioldm", tree: src.tree, components: ["vocoder", "vae"] }],
    sink,
    { id: "tiny", name: "tiny", quant: "fp32", maxShardBytes: 256 * 1024 },
  );
  files = sink.files;
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/pack\//, "");
    let body = files.get(path);
    if (!body || behaviour.notFound) {
      res.writeHead(404).end();
      return;
    }
    if (behaviour.tamper === path) {
      body = body.slice();
      body[body.length >> 1] ^= 0x55;
    }
    const range = req.headers.range ?? null;
    const m = range && !behaviour.ignoreRange ? /^bytes=(\d+)-$/.exec(range) : null;
    const start = m ? Number(m[1]) : 0;
    const chunk = body.subarray(start);
    const headers: Record<string, string> = { "Content-Length": String(chunk.length), ETag: `"${path}"` };
    if (m) headers["Content-Range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(m ? 206 : 200, headers);
    const entry = { path, range, sent: 0 };
    log.push(entry);
    const cut = behaviour.cut;
    if (cut?.path === path && cut.times > 0) {
      cut.times--;
      const n = Math.max(0, cut.after - start);
      entry.sent = n;
      res.write(chunk.subarray(0, n), () => res.socket?.destroy());
      return;
    }
    entry.sent = chunk.length;
    res.end(chunk);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pack/`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function checkLifecycle(events: PackProgressEvent[]) {
  const perFile = new Map<string, PackProgressEvent[]>();
  for (const e of events) if ("file" in e) perFile.set(e.file, [...(perFile.get(e.file) ?? []), e]);
  for (const [file, evs] of perFile) {
    const size = manifest.files.find((f) => f.path === file)!.size;
    const kinds = evs.map((e) => e.status);
    if (kinds[0] === "done")
      expect(kinds, file).toEqual(["done"]); // already cached
    else {
      expect(kinds[0], file).toBe("initiate");
      expect(kinds.at(-1), file).toBe("done");
      expect(kinds.includes("download"), file).toBe(true);
    }
    let last = 0;
    for (const e of evs) {
      if ("total" in e) expect(e.total, file).toBe(size);
      if (e.status === "progress") {
        expect(e.loaded, file).toBeGreaterThanOrEqual(last);
        last = e.loaded;
        expect(e.progress).toBeCloseTo((100 * e.loaded) / size, 6);
      }
    }
  }
  const totals = events.filter((e) => e.status === "progress_total");
  for (let i = 1; i < totals.length; i++)
    expect(totals[i].loaded).toBeGreaterThanOrEqual(totals[i - 1].loaded);
  expect(totals.at(-1)).toMatchObject({ progress: 100 });
  expect(events.at(-1)?.status).toBe("ready");
  for (const e of events) expect(structuredClone(e)).toEqual(e); // postMessage-safe
}

const install = (cache: PackCache, events: PackProgressEvent[], extra = {}) =>
  installPack(cache, {
    mirrors: [base],
    onProgress: (e) => events.push(e),
    throttleMs: 0,
    retryDelayMs: 1,
    ...extra,
  });

describe("installPack over HTTP", () => {
  it("resumes a connection cut mid-file with a Range request; progress is monotonic; pack loads offline", async () => {
    const big = manifest.files.reduce((a, f) => (f.size > a.size ? f : a));
    behaviour = { cut: { path: big.path, after: Math.floor(big.size / 3), times: 2 } };
    log.length = 0;
    const cache = memoryCache();
    const events: PackProgressEvent[] = [];
    const res = await install(cache, events);
    checkLifecycle(events);
    const requests = log.filter((l) => l.path === big.path);
    expect(requests.map((r) => r.range)).toEqual([
      null,
      `bytes=${Math.floor(big.size / 3)}-`,
      `bytes=${Math.floor(big.size / 3)}-`,
    ]);
    // every byte crossed the wire once
    const total = manifest.files.reduce((a, f) => a + f.size, 0);
    expect(log.filter((l) => l.path !== "manifest.json").reduce((a, l) => a + l.sent, 0)).toBe(total);
    expect(res.downloaded).toBe(total);
    for (const f of manifest.files) expect(sha256Hex(cache.committed.get(`tiny/${f.path}`)!)).toBe(f.sha256);
    // offline: the server is no longer asked for anything
    behaviour = { notFound: true };
    const vocoder = await loadComponent(res.pack, "audioldm", "vocoder");
    expect(vocoder.manifest.kind).toBe("audioldm.vocoder");
    const again: PackProgressEvent[] = [];
    behaviour = {};
    log.length = 0;
    const second = await install(cache, again);
    expect(second.downloaded).toBe(0);
    expect(log.map((l) => l.path)).toEqual(["manifest.json"]);
    expect(again.filter((e) => e.status === "done").every((e) => e.status === "done" && e.cached)).toBe(true);
  });

  it("keeps the part fetched when retries run out, and the next install resumes from it", async () => {
    const big = manifest.files.reduce((a, f) => (f.size > a.size ? f : a));
    const after = Math.floor(big.size / 2);
    behaviour = { cut: { path: big.path, after, times: 1 } };
    const cache = memoryCache();
    const err = await install(cache, [], { retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as Error).message).toMatch(new RegExp(`${big.path}: download did not complete.*resumes`));
    expect(await cache.partialSize("tiny", big.path)).toBe(after);
    log.length = 0;
    const events: PackProgressEvent[] = [];
    await install(cache, events);
    checkLifecycle(events);
    expect(log.find((l) => l.path === big.path)?.range).toBe(`bytes=${after}-`);
    expect(sha256Hex(cache.committed.get(`tiny/${big.path}`)!)).toBe(big.sha256);
  });

  it("restarts from 0 when the server ignores Range, without progress going backwards", async () => {
    const big = manifest.files.reduce((a, f) => (f.size > a.size ? f : a));
    behaviour = { ignoreRange: true, cut: { path: big.path, after: Math.floor(big.size / 2), times: 1 } };
    const cache = memoryCache();
    const events: PackProgressEvent[] = [];
    await install(cache, events);
    checkLifecycle(events);
    expect(sha256Hex(cache.committed.get(`tiny/${big.path}`)!)).toBe(big.sha256);
  });

  it("refuses a tampered file naming it, leaves what is cached intact, and repairs from a good mirror", async () => {
    behaviour = {};
    const cache = memoryCache();
    await install(cache, []);
    const victim = manifest.files[0];
    await cache.remove("tiny", victim.path); // e.g. deleted by verifyPack
    const digests = () => new Map([...cache.committed].map(([k, v]) => [k, sha256Hex(v)]));
    const before = digests();
    behaviour = { tamper: victim.path };
    const err = await install(cache, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as Error).message).toMatch(new RegExp(`^${victim.path}: sha256 mismatch`));
    expect(digests()).toEqual(before); // nothing replaced, nothing removed
    expect(await cache.partialSize("tiny", victim.path)).toBe(0);
    expect((await listPacks(cache))[0]).toMatchObject({ id: "tiny", complete: false });
    behaviour = {};
    await install(cache, []);
    expect((await listPacks(cache))[0].complete).toBe(true);
  });

  it("falls back to the next mirror, and refuses when the quota cannot hold the pack", async () => {
    behaviour = {};
    const cache = memoryCache();
    const r = await install(cache, [], { mirrors: ["http://127.0.0.1:9/nothing-here/", base] });
    expect(r.pack.id).toBe("tiny");
    const small: PackCache = { ...memoryCache(), estimate: async () => ({ usage: 1000, quota: 2000 }) };
    const err = await install(small, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as Error).message).toMatch(/Not enough storage for pack "tiny".*Delete packs you do not use/);
  });
});
