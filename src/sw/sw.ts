/**
 * The studio's service worker: after the first load, the app and its bundled pack work with the network off.
 *
 * Built by `serviceWorkerPlugin` (build.ts) to `/sw.js` — not from public/, because its precache list (every
 * built file and the content hash that names the caches) only exists once vite has written the bundle; esbuild
 * bundles this file with that list defined as `__STUDIO_SW_BUILD__`. Registered by ui/offline.ts, production
 * builds only.
 *
 * - install: precache the shell (plan.ts), bypassing the HTTP cache; any failure fails the install, so an
 *   active worker always has the complete shell of its build.
 * - activate: delete caches of other builds, take control of open pages (the first load is controlled too).
 * - after activation (asked by the page): cache the bundled pack — manifest.json and every file it lists, each
 *   checked against the manifest's size and sha256 before it is stored.
 * - fetch: navigations go to the network first and fall back to the cached index.html; shell and pack files
 *   come from the cache (with Range/If-Range answered as the server would, range.ts) or else the network;
 *   cross-origin and non-GET requests are never touched. Cached responses keep the headers the server sent,
 *   so COOP/COEP/CORP/CSP — and with them `crossOriginIsolated` — are the same offline.
 */
import { type FromWorker, isToWorker, type PackCacheState, type SwStatus } from "./messages.js";
import { cacheNames, type PackFile, routeRequest, type SwBuild, staleCaches } from "./plan.js";
import { respondFromCache } from "./range.js";

declare const self: ServiceWorkerGlobalScope;
declare const __STUDIO_SW_BUILD__: SwBuild;

const build = __STUDIO_SW_BUILD__;
const names = cacheNames(build);
const scope = () => self.registration.scope;
const abs = (path: string) => new URL(path, scope()).href;

/** Headers to store with a body we read whole: the server's, with the decoded length. */
function storedHeaders(from: Headers, length: number): Headers {
  const h = new Headers(from);
  h.delete("Content-Encoding");
  h.delete("Transfer-Encoding");
  h.set("Content-Length", String(length));
  return h;
}

async function fetchWhole(path: string): Promise<{ res: Response; body: ArrayBuffer }> {
  const res = await fetch(abs(path), { cache: "no-store", credentials: "same-origin" });
  if (res.status !== 200 || res.redirected) {
    throw new Error(`${path}: HTTP ${res.status}${res.redirected ? " (redirected)" : ""}`);
  }
  return { res, body: await res.arrayBuffer() };
}

async function precacheShell(): Promise<void> {
  const cache = await caches.open(names.shell);
  const queue = [...build.shell];
  const worker = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      const { res, body } = await fetchWhole(path);
      await cache.put(
        abs(path),
        new Response(body, {
          status: 200,
          statusText: "OK",
          headers: storedHeaders(res.headers, body.byteLength),
        }),
      );
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

let packState: PackCacheState = build.pack ? { state: "missing", files: 0, total: 0 } : { state: "none" };
let packJob: Promise<void> | null = null;

async function isCached(cache: Cache, file: PackFile): Promise<boolean> {
  const hit = await cache.match(abs(`${build.pack!.dir}${file.path}`));
  return hit !== undefined && Number(hit.headers.get("Content-Length")) === file.size;
}

/** Counts the pack's files already cached (the worker may have been restarted since it cached them). */
async function readPackState(): Promise<PackCacheState> {
  if (!build.pack || !names.pack) return { state: "none" };
  if (packJob || packState.state === "error") return packState;
  const cache = await caches.open(names.pack);
  const total = build.pack.files.length;
  let files = 0;
  for (const f of build.pack.files) if (await isCached(cache, f)) files++;
  packState = files === total ? { state: "cached", files, total } : { state: "missing", files, total };
  return packState;
}

async function status(): Promise<SwStatus> {
  const shell = (await caches.has(names.shell)) && self.registration.active !== null;
  return { version: build.version, shell, pack: await readPackState() };
}

async function broadcast(): Promise<void> {
  const message: FromWorker = { type: "status", status: await status() };
  for (const c of await self.clients.matchAll({ includeUncontrolled: true })) c.postMessage(message);
}

async function cachePack(): Promise<void> {
  const pack = build.pack;
  if (!pack || !names.pack) return;
  const cache = await caches.open(names.pack);
  const total = pack.files.length;
  let files = 0;
  let bytes = 0;
  try {
    for (const f of pack.files) {
      if (!(await isCached(cache, f))) {
        packState = { state: "caching", files, total, bytes };
        await broadcast();
        const path = `${pack.dir}${f.path}`;
        const { res, body } = await fetchWhole(path);
        if (body.byteLength !== f.size)
          throw new Error(`${path}: ${body.byteLength} bytes, the manifest says ${f.size}`);
        const sha = hex(await crypto.subtle.digest("SHA-256", body));
        if (sha !== f.sha256) throw new Error(`${path}: sha256 ${sha}, the manifest says ${f.sha256}`);
        await cache.put(
          abs(path),
          new Response(body, { status: 200, statusText: "OK", headers: storedHeaders(res.headers, f.size) }),
        );
        bytes += f.size;
      }
      files++;
    }
    packState = { state: "cached", files, total };
  } catch (e) {
    packState = { state: "error", files, total, error: e instanceof Error ? e.message : String(e) };
  }
  await broadcast();
}

self.addEventListener("install", (event) => {
  event.waitUntil(precacheShell());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of staleCaches(await caches.keys(), build)) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const msg: unknown = event.data;
  if (!isToWorker(msg)) return;
  if (msg.type === "skip-waiting") {
    event.waitUntil(self.skipWaiting());
  } else if (msg.type === "cache-pack") {
    if (!packJob && packState.state !== "cached") {
      // an earlier error is retried: the page asks again on its next load
      packState = { state: "missing", files: 0, total: 0 };
      packJob = cachePack().finally(() => {
        packJob = null;
      });
    }
    event.waitUntil(packJob ?? broadcast());
  } else {
    event.waitUntil(
      status().then((s) => {
        const reply: FromWorker = { type: "status", status: s };
        (event.source as Client | null)?.postMessage(reply);
      }),
    );
  }
});

async function fromCache(cacheName: string, key: string, request: Request): Promise<Response> {
  const hit = await (await caches.open(cacheName)).match(key);
  return hit ? respondFromCache(request, hit) : fetch(request);
}

self.addEventListener("fetch", (event) => {
  const route = routeRequest(event.request, scope(), build);
  if (route.kind === "pass") return;
  if (route.kind === "navigate") {
    event.respondWith(
      fetch(event.request).catch(async (e: unknown) => {
        const hit = await (await caches.open(names.shell)).match(route.key);
        if (!hit) throw e;
        return hit;
      }),
    );
  } else if (route.kind === "shell") {
    event.respondWith(fromCache(names.shell, route.key, event.request));
  } else if (names.pack) {
    event.respondWith(fromCache(names.pack, route.key, event.request));
  }
});
