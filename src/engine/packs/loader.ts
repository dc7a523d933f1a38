/**
 * Loading a pack's models: `PackSource` (a manifest plus a way to open its files — the cache, a folder, a
 * mirror over HTTP Range) → instantiated, weight-loaded module trees.
 *
 * Each component's module tree is built from the manifest's verbatim config (models/registry.ts). Its shards'
 * safetensors headers are checked against the manifest's tensor index (dtype, shape, absolute offsets: a
 * tampered or swapped shard fails here, naming the file), then `loadInto` fills every parameter strictly, and
 * q4 parameters receive their 4-bit blocks (`Param.setQ4`), which the ONNX emitter uses without a float copy.
 */
import { CancelledError, ModelPackError } from "../errors.js";
import { componentClass } from "../models/registry.js";
import { namedParams, type Param } from "../ops/param.js";
import { type Checkpoint, mergeCheckpoints } from "../weights/checkpoint.js";
import { type LoadOptions, loadInto } from "../weights/load.js";
import { decodeTensor } from "../weights/safetensors.js";
import { openSafetensors, type SafetensorsCheckpoint } from "../weights/safetensors-stream.js";
import { type ByteSource, openUrlSource, type UrlSourceOptions } from "../weights/source.js";
import { type PackCache, readCached } from "./cache.js";
import { joinUrl } from "./paths.js";
import { type ComponentManifest, type PackManifest, parseManifest, type TensorEntry } from "./schema.js";

export interface PackSource {
  readonly id: string;
  readonly manifest: PackManifest;
  /** Random access to one of the pack's files (a path listed in `manifest.files`). */
  open(path: string): Promise<ByteSource>;
}

/** A pack whose files all sit in the cache with the manifest's sizes (a cheap check; `verifyPack` re-hashes). */
export async function packFromCache(cache: PackCache, id: string): Promise<PackSource> {
  if ((await cache.size(id, "manifest.json")) === null)
    throw new ModelPackError(`pack "${id}" is not installed (no manifest.json in the cache)`, { pack: id });
  const manifest = parseManifest(await readCached(cache, id, "manifest.json"), `${id}/manifest.json`);
  const bad: string[] = [];
  for (const f of manifest.files) {
    const n = await cache.size(id, f.path);
    if (n !== f.size)
      bad.push(n === null ? `${f.path} (missing)` : `${f.path} (${n} bytes, expected ${f.size})`);
  }
  if (bad.length) {
    throw new ModelPackError(
      `pack "${id}" is incomplete in the cache: ${bad.slice(0, 10).join(", ")}; install it again`,
      {
        pack: id,
        files: bad.slice(0, 50),
      },
    );
  }
  return { id, manifest, open: (path) => cache.open(id, path) };
}

/** A pack read in place from a mirror over HTTP Range (no cache): `base` is the folder of manifest.json. */
export async function packFromUrl(base: string, opts: UrlSourceOptions = {}): Promise<PackSource> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const url = joinUrl(base, "manifest.json");
  const res = await doFetch(url, { signal: opts.signal, headers: opts.headers });
  if (!res.ok) throw new ModelPackError(`${url}: HTTP ${res.status}`, { file: url, status: res.status });
  const manifest = parseManifest(new Uint8Array(await res.arrayBuffer()), url);
  return {
    id: manifest.id,
    manifest,
    open: (path) => openUrlSource(joinUrl(base, path), { ...opts, name: path }),
  };
}

export interface LoadedComponent {
  model: string;
  component: string;
  manifest: ComponentManifest;
  /** The module tree with its weights (cast it to the class of `manifest.kind`, see models/registry.ts). */
  module: object;
}

export interface LoadComponentOptions {
  signal?: AbortSignal;
  onProgress?: LoadOptions["onProgress"];
}

/** Open the shards of one component and check their headers against the manifest's tensor index. */
async function openShards(pack: PackSource, c: ComponentManifest, where: string) {
  const byFile = new Map<string, string[]>();
  for (const [k, t] of Object.entries(c.tensors)) byFile.set(t.file, [...(byFile.get(t.file) ?? []), k]);
  const shards = new Map<string, SafetensorsCheckpoint>();
  for (const [file, keys] of byFile) {
    const entry = pack.manifest.files.find((f) => f.path === file)!;
    const src = await pack.open(file);
    if (src.size !== entry.size)
      throw new ModelPackError(`${file}: ${src.size} bytes, the manifest says ${entry.size} (truncated?)`, {
        file,
      });
    const ck = await openSafetensors(src);
    const problems: string[] = [];
    for (const k of keys) {
      const t = c.tensors[k];
      const e = ck.header.entries.get(k);
      if (!e) problems.push(`"${k}" is missing`);
      else if (
        e.dtype !== t.dtype ||
        e.shape.join() !== t.shape.join() ||
        ck.header.dataOffset + e.begin !== t.offsets[0] ||
        ck.header.dataOffset + e.end !== t.offsets[1]
      )
        problems.push(`"${k}" differs from the manifest`);
    }
    for (const k of ck.keys()) if (!c.tensors[k]) problems.push(`"${k}" is not in the manifest`);
    if (problems.length)
      throw new ModelPackError(
        `${file} (${where}) does not match the manifest: ${problems.slice(0, 10).join(", ")}`,
        {
          file,
        },
      );
    shards.set(file, ck);
  }
  return shards;
}

function withoutKeys(ck: Checkpoint, drop: ReadonlySet<string>): Checkpoint {
  const keys = ck.keys().filter((k) => !drop.has(k));
  return { ...ck, keys: () => keys, has: (k) => !drop.has(k) && ck.has(k) };
}

/** Instantiate one component and load its weights. */
export async function loadComponent(
  pack: PackSource,
  model: string,
  component: string,
  opts: LoadComponentOptions = {},
): Promise<LoadedComponent> {
  const m = pack.manifest.models[model];
  const c = m?.components[component];
  const where = `${pack.id}: ${model}/${component}`;
  if (!c) throw new ModelPackError(`${where} is not in the pack`, { pack: pack.id });
  const module = componentClass(c.kind, where).build(c.config, where);
  const shards = await openShards(pack, c, where);
  try {
    const q4Side = new Set(Object.values(c.q4).flatMap((q) => [q.codes, q.scales]));
    const ck = withoutKeys(
      mergeCheckpoints([...shards.values()], `${pack.id}/${model}/${component}`),
      q4Side,
    );
    const prefixes = c.keyPrefixes;
    const params = namedParams(module).filter(([k]) => !prefixes || prefixes.some((p) => k.startsWith(p)));
    const byKey = new Map(params);
    const dense = Object.fromEntries(params.filter(([k]) => !c.q4[k]));
    await loadInto(dense, ck, { strict: true, signal: opts.signal, onProgress: opts.onProgress });
    const raw = (t: TensorEntry) =>
      shards.get(t.file)!.source.read(t.offsets[0], t.offsets[1] - t.offsets[0]);
    for (const [key, q] of Object.entries(c.q4)) {
      if (opts.signal?.aborted) throw new CancelledError("Loading weights was cancelled.");
      const p: Param | undefined = byKey.get(key);
      if (!p || p.shape.join() !== q.shape.join())
        throw new ModelPackError(`${where}: q4 parameter "${key}" [${q.shape}] does not match the model`, {
          key,
        });
      const scales = c.tensors[q.scales];
      const s = decodeTensor(
        {
          name: q.scales,
          dtype: "F32",
          shape: scales.shape,
          begin: 0,
          end: scales.offsets[1] - scales.offsets[0],
        },
        await raw(scales),
        scales.file,
      );
      p.setQ4({
        codes: (await raw(c.tensors[q.codes])).slice(),
        scales: s as Float32Array,
        blockSize: q.blockSize,
      });
    }
  } finally {
    for (const sh of shards.values()) await (sh.source as { close?: () => Promise<void> }).close?.();
  }
  return { model, component, manifest: c, module };
}

export interface LoadPackModelsOptions extends LoadComponentOptions {
  /** "model/component" (or a bare component name, matched in every model); default: every component. */
  components?: readonly string[];
}

/** Load several components: result[model][component] = module tree with weights. */
export async function loadPackModels(
  pack: PackSource,
  opts: LoadPackModelsOptions = {},
): Promise<Record<string, Record<string, LoadedComponent>>> {
  const wanted = (model: string, comp: string) =>
    !opts.components || opts.components.some((w) => w === `${model}/${comp}` || w === comp);
  const out: Record<string, Record<string, LoadedComponent>> = {};
  let any = false;
  for (const [model, m] of Object.entries(pack.manifest.models)) {
    for (const comp of Object.keys(m.components)) {
      if (!wanted(model, comp)) continue;
      any = true;
      out[model] ??= {};
      out[model][comp] = await loadComponent(pack, model, comp, opts);
    }
  }
  if (!any && opts.components?.length)
    throw new ModelPackError(`${pack.id}: none of ${opts.components.join(", ")} is in the pack`, {
      pack: pack.id,
    });
  return out;
}
