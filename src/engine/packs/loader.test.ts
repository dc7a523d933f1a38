/**
 * Packs in a cache (memory and a Node folder): convert straight into the cache, load from it offline, and
 * reject corrupted, truncated and tampered files with a ModelPackError naming the file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticAudioLDM } from "../../../test/support/packs.js";
import { ModelPackError } from "../errors.js";
import { namedParams } from "../ops/param.js";
import { cacheSink, memoryCache, type PackCache } from "./cache.js";
import { nodeCache } from "./cache-node.js";
import { convertPack } from "./convert.js";
import { listPacks, removePack, verifyPack } from "./install.js";
import { loadComponent, packFromCache } from "./loader.js";
import type { PackManifest } from "./schema.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "packs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function install(cache: PackCache, id = "tiny"): Promise<PackManifest> {
  const src = syntheticAudioLDM({ unetShards: 1 });
  return convertPack(
    [{ spec: "audioldm-m-full", id: "audioldm", tree: src.tree, components: ["vocoder", "vae"] }],
    cacheSink(cache, id),
    { id, name: "tiny", quant: "fp32", maxShardBytes: 256 * 1024 },
  );
}

const caches: [string, () => PackCache][] = [
  ["memory", () => memoryCache()],
  ["node folder", () => nodeCache(join(dir, String(Math.random()).slice(2)))],
];

describe.each(caches)("packs in a %s cache", (_name, make) => {
  it("converts into the cache, lists, loads offline, verifies and deletes", async () => {
    const cache = make();
    const manifest = await install(cache);
    const [listed] = await listPacks(cache);
    expect(listed).toMatchObject({ id: "tiny", complete: true, version: "1.0.0" });
    expect(listed.bytes).toBe(manifest.files.reduce((a, f) => a + f.size, 0));
    const pack = await packFromCache(cache, "tiny");
    const vocoder = await loadComponent(pack, "audioldm", "vocoder");
    expect(namedParams(vocoder.module).every(([, p]) => p.data !== null)).toBe(true);
    expect((await verifyPack(cache, "tiny")).bad).toEqual([]);
    await removePack(cache, "tiny");
    expect(await listPacks(cache)).toEqual([]);
    await expect(packFromCache(cache, "tiny")).rejects.toThrow(/not installed/);
  });

  it("re-verify names a corrupted file and deletes only it; loading then names it as missing", async () => {
    const cache = make();
    const manifest = await install(cache);
    const victim = manifest.files.find((f) => f.path.includes("/vae/"))!;
    const other = manifest.files.find((f) => f.path.includes("/vocoder/"))!;
    const src = await cache.open("tiny", victim.path);
    const bytes = (await src.read(0, src.size)).slice();
    bytes[bytes.length - 3] ^= 0xff; // one bit pattern in the tensor data: the header still parses
    const w = await cache.openPartial("tiny", victim.path, { truncate: true });
    await w.write(bytes);
    await w.close();
    await cache.commit("tiny", victim.path);
    const report = await verifyPack(cache, "tiny");
    expect(report.bad.map((b) => b.path)).toEqual([victim.path]);
    expect(report.bad[0].reason).toMatch(/sha256/);
    expect(await cache.size("tiny", victim.path)).toBeNull();
    expect(await cache.size("tiny", other.path)).toBe(other.size); // intact
    const [listed] = await listPacks(cache);
    expect(listed.complete).toBe(false);
    const err = await packFromCache(cache, "tiny").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as Error).message).toContain(`${victim.path} (missing)`);
  });

  it("a truncated file or a swapped shard is refused before any weight is used, naming the file", async () => {
    const cache = make();
    const manifest = await install(cache);
    const vae = manifest.files.find((f) => f.path.includes("/vae/"))!;
    const put = async (path: string, b: Uint8Array) => {
      const w = await cache.openPartial("tiny", path, { truncate: true });
      await w.write(b);
      await w.close();
      await cache.commit("tiny", path);
    };
    const orig = await (await cache.open("tiny", vae.path)).read(0, vae.size);
    await put(vae.path, orig.slice(0, vae.size - 10));
    await expect(packFromCache(cache, "tiny")).rejects.toThrow(
      new RegExp(`${vae.path} \\(${vae.size - 10} bytes, expected ${vae.size}\\)`),
    );
    // same size, but the header says another dtype: the header check against the manifest names the file
    const text = new TextDecoder("latin1").decode(orig);
    const at = text.indexOf('"dtype":"F32"');
    const swapped = orig.slice();
    swapped.set(new TextEncoder().encode('"dtype":"I32"'), at);
    await put(vae.path, swapped);
    const pack = await packFromCache(cache, "tiny");
    const err = await loadComponent(pack, "audioldm", "vae").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as Error).message).toMatch(new RegExp(`${vae.path} .*does not match the manifest`));
  });
});
