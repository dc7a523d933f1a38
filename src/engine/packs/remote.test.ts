/**
 * Converting straight from a model repository: a local server plays the Hugging Face Hub (the tree API with
 * paginated listings, and `/<repo>/resolve/<revision>/<file>` with Range + ETag) over a synthetic AudioLDM
 * written in the diffusers layout. The pack converted from the remote tree is byte-identical to the one
 * converted from the same files on disk; only the files the converter needs are read, and only in ranges;
 * a dropped connection is retried; a missing repository, a wrong size or a server without Range are refused.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticAudioLDM } from "../../../test/support/packs.js";
import { parseParams } from "../../workers/protocol.js";
import { ModelPackError } from "../errors.js";
import { type JobEvent, JobEventSchema } from "../runtime/job.js";
import { memoryCache } from "./cache.js";
import { convertPack } from "./convert.js";
import { packJobHandlers } from "./jobs.js";
import { listingUrl, listRemoteFiles, remoteTree } from "./remote.js";
import { memorySink } from "./sink.js";
import { MODEL_SPECS } from "./specs.js";

const REPO = MODEL_SPECS["audioldm-m-full"].repo;
const src = syntheticAudioLDM({ unetShards: 2 });
const files = new Map<string, Uint8Array>();
for (const [path, v] of Object.entries(src.files))
  files.set(path, typeof v === "string" ? new TextEncoder().encode(v) : v);
// what a real repository also holds: a whole-model checkpoint at the root, a README, an image
files.set("audioldm-m-full.ckpt", new Uint8Array(4096));
files.set("README.md", new TextEncoder().encode("# AudioLDM"));
files.set("assets/figure.png", new Uint8Array(64));

interface Behaviour {
  pageSize: number;
  /** Drop the connection of this many Range reads (after the size probes). */
  drops: number;
  ignoreRange: boolean;
  lie: number;
}
let behaviour: Behaviour;
const log: { path: string; range: string | null }[] = [];
let server: Server;
let local: Awaited<ReturnType<typeof convert>> | undefined;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const tree = new RegExp(`^/api/models/${REPO}/tree/main$`).exec(url.pathname);
    if (tree) {
      const all = [...files.keys()].sort();
      const page = Number(url.searchParams.get("cursor") ?? 0);
      const slice = all.slice(page, page + behaviour.pageSize);
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (page + behaviour.pageSize < all.length)
        headers.Link = `<${url.pathname}?recursive=true&cursor=${page + behaviour.pageSize}>; rel="next"`;
      res.writeHead(200, headers);
      res.end(
        JSON.stringify([
          { type: "directory", path: "unet", oid: "x" },
          ...slice.map((p) => {
            const size = files.get(p)!.length + (p === "vocoder/config.json" ? behaviour.lie : 0);
            return p.endsWith(".safetensors")
              ? { type: "file", path: p, size: 134, lfs: { size } }
              : { type: "file", path: p, size };
          }),
        ]),
      );
      return;
    }
    const prefix = `/${REPO}/resolve/main/`;
    const path = decodeURIComponent(url.pathname.slice(prefix.length));
    const body = url.pathname.startsWith(prefix) ? files.get(path) : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = req.headers.range ?? null;
    log.push({ path, range });
    const m = range && !behaviour.ignoreRange ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
    if (!m) {
      res.writeHead(200, { "Content-Length": String(body.length) }).end(body);
      return;
    }
    const [start, end] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
    if (!(start === 0 && end === 0) && behaviour.drops > 0) {
      behaviour.drops--;
      res.socket?.destroy();
      return;
    }
    res.writeHead(206, {
      "Content-Range": `bytes ${start}-${end}/${body.length}`,
      "Content-Length": String(end - start + 1),
      ETag: `"${path}-v1"`,
    });
    res.end(body.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const template = () => `${origin}/${REPO}/resolve/{revision}/{file}`;
const reset = (over: Partial<Behaviour> = {}) => {
  behaviour = { pageSize: 1000, drops: 0, ignoreRange: false, lie: 0, ...over };
  log.length = 0;
};

/** The vocoder and VAE only: the UNet adds conversion time, not coverage (its shards are listed and probed). */
async function convert(tree: Awaited<ReturnType<typeof remoteTree>>) {
  const sink = memorySink();
  const model = { spec: "audioldm-m-full", id: "audioldm", tree, components: ["vocoder", "vae"] } as const;
  const manifest = await convertPack([model], sink, {
    id: "remote",
    name: "remote",
    quant: "fp16",
    maxShardBytes: 256 * 1024,
  });
  return { manifest, files: sink.files };
}

describe("converting from a model repository over HTTP", () => {
  it("lists with the Hub's tree API on the mirror's origin, following every page", async () => {
    reset({ pageSize: 3 });
    expect(listingUrl(MODEL_SPECS["audioldm-m-full"].fileUrl, REPO, "main")).toBe(
      `https://huggingface.co/api/models/${REPO}/tree/main?recursive=true`,
    );
    const listed = await listRemoteFiles("audioldm-m-full", { fileUrl: template() });
    expect(listed.map((f) => f.path).sort()).toEqual([...files.keys()].sort());
    // LFS entries report the real size (lfs.size), not the pointer's
    const shard = listed.find((f) => f.path.endsWith(".safetensors"))!;
    expect(shard.size).toBe(files.get(shard.path)!.length);
  });

  it("converts the same pack as from local files, reading only what it needs, in ranges", async () => {
    reset({ pageSize: 4 });
    const remote = await convert(await remoteTree("audioldm-m-full", { fileUrl: template() }));
    local ??= await convert(src.tree);
    expect(remote.manifest.files).toEqual(local.manifest.files);
    for (const [path, bytes] of local.files) expect(remote.files.get(path), path).toEqual(bytes);
    const read = new Set(log.map((l) => l.path));
    expect(read.has("vocoder/config.json")).toBe(true);
    expect(read.has("audioldm-m-full.ckpt")).toBe(false);
    expect(read.has("README.md")).toBe(false);
    expect(read.has("assets/figure.png")).toBe(false);
    expect(log.every((l) => l.range !== null)).toBe(true);
  });

  it("retries a dropped connection from the same offset", async () => {
    reset({ drops: 2 });
    const tree = await remoteTree("audioldm-m-full", { fileUrl: template() });
    const remote = await convert(tree);
    local ??= await convert(src.tree);
    expect(remote.manifest.files).toEqual(local.manifest.files);
    expect(behaviour.drops).toBe(0);
  });

  it("refuses, naming the problem: a missing repository, a size that disagrees, a server without Range", async () => {
    reset();
    const missing = `${origin}/nobody/nothing/resolve/{revision}/{file}`;
    await expect(listRemoteFiles("audioldm-m-full", { fileUrl: missing })).rejects.toThrow(ModelPackError);
    await expect(listRemoteFiles("audioldm-m-full", { fileUrl: template(), revision: "v9" })).rejects.toThrow(
      /HTTP 404/,
    );

    reset({ lie: 5 });
    const tree = await remoteTree("audioldm-m-full", { fileUrl: template() });
    const cfg = tree.find((f) => f.path === "vocoder/config.json")!;
    await expect(cfg.source.read(0, 1)).rejects.toThrow(
      /vocoder\/config\.json: the server has \d+ bytes, the listing said \d+/,
    );

    reset({ ignoreRange: true });
    const tree2 = await remoteTree("audioldm-m-full", { fileUrl: template() });
    await expect(tree2[0].source.read(0, 1)).rejects.toThrow(/ignores HTTP Range/);
  });

  it("runs as the packs-convert-remote job: validated params, phases, a cached pack that loads", async () => {
    reset();
    const cache = memoryCache();
    const jobs = packJobHandlers({
      cache: async () => cache,
      limits: async () => ({ budgetBytes: 2 ** 30, maxBufferSize: 2 ** 30 }),
    });
    const bad = parseParams("packs-convert-remote", {
      model: "audioldm-m-full",
      quant: "fp16",
      id: "r",
      name: "r",
      fileUrl: "ftp://x/{file}",
    });
    expect(bad.ok).toBe(false);
    const params = parseParams("packs-convert-remote", {
      model: "audioldm-m-full",
      quant: "fp16",
      id: "from-hub",
      name: "From the hub",
      fileUrl: template(),
      components: ["vocoder"],
    });
    if (!params.ok) throw new Error(params.reason);
    const events: JobEvent[] = [];
    const ctx = {
      signal: new AbortController().signal,
      emit: (e: JobEvent) => events.push(JobEventSchema.parse(e)),
    };
    const r = await jobs["packs-convert-remote"](params.value, ctx);
    expect(r.id).toBe("from-hub");
    expect(events.filter((e) => e.type === "phase").map((e) => (e as { phase: string }).phase)).toEqual([
      "listing",
      "checking",
    ]);
    const loaded = await jobs["packs-load"]({ id: "from-hub" }, ctx);
    expect(loaded.components.map((c) => c.component)).toEqual(["vocoder"]);
  });

  it("uses the known file list where the mirror has no listing (ImageBind's file server)", async () => {
    const listed = await listRemoteFiles("imagebind-huge");
    expect(listed.map((f) => f.path)).toEqual(["imagebind_huge.pth"]);
  });
});
