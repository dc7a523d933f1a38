/**
 * The converter (one implementation: the Node CLI `npm run pack -- build` and the browser's convert job both
 * call `convertPack`). For every component of every model it
 *   1. reads the upstream config (verbatim) and builds the expected module tree (models/registry.ts);
 *   2. opens the upstream weights (safetensors, sharded index, torch .pth) and checks every key, shape and dtype
 *      class against the tree, reporting everything missing, extra or mis-shaped in one ModelPackError;
 * and only when all components pass, 3. writes each component as safetensors shards (fp32 / fp16 / q4 blocks,
 * encode.ts), copies the tokenizer files, and 4. writes `manifest.json` last, with the sha256 of every file.
 */
import { describeValue, ModelPackError } from "../errors.js";
import { componentClass } from "../models/registry.js";
import { checkKeys, describeKeyCheck, isCleanKeyCheck, namedParams, type Param } from "../ops/param.js";
import { gunzip } from "../preprocess/tokenizers/load.js";
import { type Checkpoint, specMap } from "../weights/checkpoint.js";
import { openCheckpoint } from "../weights/load.js";
import { type ByteSource, readAll } from "../weights/source.js";
import { weightFiles } from "./discover.js";
import { linearWeightKeys, planStorage } from "./encode.js";
import { checkPackPath, safeSegment } from "./paths.js";
import {
  type ComponentManifest,
  type FileEntry,
  type ModelManifest,
  PACK_FORMAT,
  PACK_FORMAT_VERSION,
  type PackManifest,
  parseManifest,
  serializeManifest,
  type TensorEntry,
} from "./schema.js";
import { defaultHasher, type HasherFactory } from "./sha256.js";
import {
  DEFAULT_MAX_SHARD_BYTES,
  indexEntries,
  type PlannedShard,
  planShards,
  writeShard,
} from "./shards.js";
import { type PackSink, writeHashed } from "./sink.js";
import { FAMILIES, type FamilyLayout, MODEL_SPECS, type ModelSpecId } from "./specs.js";
import { findFile, type InputTree, readJson, stripCommonRoot } from "./tree.js";

export const CONVERTER = Object.freeze({ tool: "seeing-hearing-studio/packs", version: "1.0.0" });

export type QuantChoice = "fp32" | "fp16" | "q4";

export interface ConvertModelInput {
  spec: ModelSpecId;
  tree: InputTree;
  /** Model id inside the pack (default: the spec id). */
  id?: string;
  /** Display name (default: the spec's). */
  name?: string;
  repo?: string;
  revision?: string;
  /** Convert only these components (default: all of the family). */
  components?: readonly string[];
  /** Weight file variant to read ("fp16", "non_ema", …); default: the plain files. */
  variant?: string;
}

export type ConvertProgress =
  | { type: "check"; model: string; component: string }
  | { type: "write"; model: string; component: string; done: number; total: number };

export interface ConvertOptions {
  id: string;
  name: string;
  version?: string;
  description?: string;
  quant: QuantChoice;
  /** Shard size limit in bytes (default 256 MiB; keep it under the GPU's maxBufferSize). */
  maxShardBytes?: number;
  /** q4 block size along K (default 32). */
  q4BlockSize?: number;
  hasher?: HasherFactory;
  signal?: AbortSignal;
  onProgress?: (e: ConvertProgress) => void;
}

interface PreparedComponent {
  model: string;
  name: string;
  manifest: Omit<ComponentManifest, "tensors" | "q4" | "bytes">;
  shards: PlannedShard[];
  q4: ComponentManifest["q4"];
}

/**
 * Check every key, shape and dtype class of `module` (within `prefixes`) against the checkpoint; all problems in
 * one ModelPackError. Returns the parameters to store. Checkpoint keys outside the prefixes are dropped, but a
 * present one with the wrong shape still means a wrong config and is reported.
 */
function checkComponentKeys(
  module: object,
  ck: Checkpoint,
  prefixes: readonly string[] | undefined,
  where: string,
  className: string,
): [string, Param][] {
  const inScope = (k: string) => !prefixes || prefixes.some((p) => k.startsWith(p));
  const all = namedParams(module);
  const params = all.filter(([k]) => inScope(k));
  const available = new Map([...specMap(ck)].filter(([k]) => inScope(k)));
  const check = checkKeys(Object.fromEntries(params), available);
  const outOfScope = new Map(all.filter(([k]) => !inScope(k)));
  for (const k of ck.keys()) {
    const p = outOfScope.get(k);
    if (p && ck.spec(k).shape.join() !== p.shape.join())
      check.mismatched.push({ key: k, expected: p.shape, got: ck.spec(k).shape });
  }
  const wrongDType = params
    .filter(
      ([k, p]) => available.has(k) && (available.get(k)!.dtype === "float32") !== (p.dtype === "float32"),
    )
    .map(([k, p]) => `${k} (${available.get(k)!.stored}, expected ${p.dtype})`);
  if (!isCleanKeyCheck(check) || wrongDType.length) {
    const parts = [describeKeyCheck(check)].filter(Boolean);
    if (wrongDType.length)
      parts.push(`wrong dtype ${wrongDType.length}: ${wrongDType.slice(0, 20).join(", ")}`);
    throw new ModelPackError(`${where} does not match ${className}: ${parts.join("; ")}`, {
      file: where,
      missing: check.missing.slice(0, 200),
      unexpected: check.unexpected.slice(0, 200),
      mismatched: check.mismatched.map((m) => m.key).slice(0, 200),
    });
  }
  return params.filter(([k]) => available.has(k));
}

async function prepareComponent(
  modelId: string,
  name: string,
  family: FamilyLayout,
  tree: InputTree,
  input: ConvertModelInput,
  opts: ConvertOptions,
): Promise<PreparedComponent> {
  const layout = family.components[name];
  const where = `${input.spec}/${name}`;
  const cls = componentClass(layout.kind, where);
  const configPath = layout.folder ? `${layout.folder}/config.json` : "config.json";
  // config.json when the input has one; otherwise the family's fixed constructor arguments (ImageBind huge)
  const configFile = findFile(tree, configPath);
  let config: Record<string, unknown>;
  if (configFile) config = await readJson(configFile);
  else if (layout.fixedConfig) config = { ...layout.fixedConfig };
  else throw new ModelPackError(`${where}: ${configPath} is missing from the input`, { file: configPath });
  const module = cls.build(config, where);
  const files = await weightFiles(tree, layout.folder, input.variant ?? null);
  const ck: Checkpoint = await openCheckpoint(files.map((f) => f.source));
  const prefixes = cls.defaultKeyPrefixes;
  const keep = checkComponentKeys(
    module,
    ck,
    prefixes,
    `${where} (${files.map((f) => f.path).join(", ")})`,
    cls.class,
  );
  const q4 = opts.quant === "q4" && layout.forwardOnly;
  const plan = planStorage(keep, (k) => ck.read(k), {
    storage: opts.quant === "fp32" ? "fp32" : "fp16",
    q4: q4
      ? { keys: linearWeightKeys(module, cls.extraLinearKeys), blockSize: opts.q4BlockSize ?? 32 }
      : undefined,
  });
  const dir = `${modelId}/${safeSegment(name)}`;
  const shards = planShards(plan.tensors, opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES, (i, n) =>
    n === 1
      ? `${dir}/model.safetensors`
      : `${dir}/model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`,
  );
  const spec = MODEL_SPECS[input.spec];
  return {
    model: modelId,
    name,
    manifest: {
      kind: layout.kind,
      class: cls.class,
      config,
      source: {
        repo: input.repo ?? spec.repo,
        revision: input.revision ?? "unknown",
        files: [...(configFile ? [configPath] : []), ...files.map((f) => f.path)],
      },
      dtype: opts.quant === "fp32" ? "fp32" : "fp16",
      quantization: plan.q4.size ? "q4" : "none",
      ...(prefixes ? { keyPrefixes: [...prefixes] } : {}),
      parameters: keep.reduce((a, [, p]) => a + p.size, 0),
    },
    shards,
    q4: Object.fromEntries(plan.q4),
  };
}

async function* chunksOf(src: ByteSource, chunk = 8 * 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < src.size; o += chunk) yield await src.read(o, Math.min(chunk, src.size - o));
}

/**
 * Copy the tokenizer files and read the scheduler config of one model. With `required` false (a conversion of
 * some components only), a tokenizer or scheduler that is not in the input is left out instead of refused.
 */
async function auxiliaries(
  modelId: string,
  family: FamilyLayout,
  tree: InputTree,
  sink: PackSink,
  hasher: HasherFactory,
  required: boolean,
): Promise<{
  tokenizers: ModelManifest["tokenizers"];
  scheduler: ModelManifest["scheduler"];
  files: FileEntry[];
}> {
  const files: FileEntry[] = [];
  const tokenizers: ModelManifest["tokenizers"] = {};
  const pathOf = (folder: string, name: string) => (folder ? `${folder}/${name}` : name);
  for (const [tid, t] of Object.entries(family.tokenizers)) {
    const complete = Object.values(t.files).every(
      (f) => f.optional || findFile(tree, pathOf(t.folder, f.name)),
    );
    if (!required && !complete) continue;
    const out: Record<string, string> = {};
    for (const [role, spec] of Object.entries(t.files)) {
      const p = pathOf(t.folder, spec.name);
      const f = findFile(tree, p);
      if (!f) {
        if (spec.optional) continue;
        throw new ModelPackError(`${modelId}: tokenizer file ${p} is missing from the input`, { file: p });
      }
      // Packs hold no compressed files (paths.ts): a gzip tokenizer (ImageBind's bpe .txt.gz) is stored inflated.
      const head = await f.source.read(0, Math.min(2, f.source.size));
      const gz = head[0] === 0x1f && head[1] === 0x8b;
      const name = safeSegment(spec.name.replace(/\.gz$/i, ""));
      const dest = checkPackPath(`${modelId}/${safeSegment(tid)}/${name}`);
      const body = gz ? [await gunzip(await readAll(f.source, 256 * 1024 * 1024))] : chunksOf(f.source);
      files.push(await writeHashed(sink, dest, body, "tokenizer", hasher));
      out[role] = dest;
    }
    tokenizers[tid] = { kind: t.kind, files: out };
  }
  let scheduler: ModelManifest["scheduler"] = null;
  if (family.scheduler) {
    const p = `${family.scheduler.folder}/${family.scheduler.file}`;
    const f = findFile(tree, p);
    if (!f && required) throw new ModelPackError(`${modelId}: ${p} is missing from the input`, { file: p });
    if (f) {
      const config = await readJson(f);
      const cls = config._class_name ?? "DDIMScheduler";
      if (typeof cls !== "string")
        throw new ModelPackError(
          `${modelId}: ${p} has a _class_name that is not a string (${describeValue(cls)})`,
          {
            file: p,
          },
        );
      scheduler = { class: cls, config };
    }
  }
  return { tokenizers, scheduler, files };
}

/** Convert upstream models into one pack written to `sink`; returns the validated manifest. */
export async function convertPack(
  models: readonly ConvertModelInput[],
  sink: PackSink,
  opts: ConvertOptions,
): Promise<PackManifest> {
  const hasher = opts.hasher ?? defaultHasher;
  const prepared: PreparedComponent[] = [];
  const trees = new Map<string, InputTree>();
  // 1–2: check everything first
  for (const input of models) {
    const modelId = input.id ?? input.spec;
    if (trees.has(modelId)) throw new ModelPackError(`model id "${modelId}" is used twice in one pack`);
    const family: FamilyLayout = FAMILIES[MODEL_SPECS[input.spec].family];
    const tree = stripCommonRoot(input.tree, family.rootMarker ?? undefined);
    trees.set(modelId, tree);
    const names = input.components ?? Object.keys(family.components);
    for (const name of names) {
      if (!family.components[name])
        throw new ModelPackError(
          `${input.spec} has no component "${name}" (it has: ${Object.keys(family.components).join(", ")})`,
        );
      opts.onProgress?.({ type: "check", model: modelId, component: name });
      prepared.push(await prepareComponent(modelId, name, family, tree, input, opts));
    }
  }
  // 3: write shards and auxiliary files
  const files: FileEntry[] = [];
  const total = prepared.reduce((a, c) => a + c.shards.reduce((b, s) => b + s.size, 0), 0);
  let done = 0;
  const components = new Map<string, ComponentManifest>();
  for (const c of prepared) {
    const tensors: Record<string, TensorEntry> = {};
    let bytes = 0;
    for (const shard of c.shards) {
      const start = done;
      files.push(
        await writeShard(sink, shard, {
          hasher,
          signal: opts.signal,
          onTensor: (n) => {
            done += n;
            opts.onProgress?.({ type: "write", model: c.model, component: c.name, done, total });
          },
        }),
      );
      done = start + shard.size; // headers count too, so the last event reaches the total
      opts.onProgress?.({ type: "write", model: c.model, component: c.name, done, total });
      for (const [k, e] of indexEntries(shard)) {
        tensors[k] = e;
        bytes += e.offsets[1] - e.offsets[0];
      }
    }
    components.set(`${c.model}/${c.name}`, { ...c.manifest, bytes, tensors, q4: c.q4 });
  }
  const manifestModels: Record<string, ModelManifest> = {};
  for (const input of models) {
    const modelId = input.id ?? input.spec;
    const spec = MODEL_SPECS[input.spec];
    const family: FamilyLayout = FAMILIES[spec.family];
    const aux = await auxiliaries(modelId, family, trees.get(modelId)!, sink, hasher, !input.components);
    files.push(...aux.files);
    const comps: Record<string, ComponentManifest> = {};
    for (const c of prepared)
      if (c.model === modelId) comps[c.name] = components.get(`${c.model}/${c.name}`)!;
    manifestModels[modelId] = {
      spec: input.spec,
      name: spec.name,
      source: { repo: input.repo ?? spec.repo, revision: input.revision ?? "unknown", files: [] },
      license: spec.license,
      components: comps,
      tokenizers: aux.tokenizers,
      scheduler: aux.scheduler,
    };
  }
  // 4: the manifest, validated exactly as a loader will validate it, written last
  const manifest = parseManifest({
    format: PACK_FORMAT,
    formatVersion: PACK_FORMAT_VERSION,
    id: opts.id,
    name: opts.name,
    version: opts.version ?? "1.0.0",
    ...(opts.description ? { description: opts.description } : {}),
    generator: { ...CONVERTER },
    maxShardBytes: opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
    models: manifestModels,
    files,
  });
  await writeHashed(sink, "manifest.json", [serializeManifest(manifest)], "config", hasher);
  return manifest;
}
