/**
 * The pack manifest (`manifest.json`), validated with zod. docs/pack-format.md describes every field.
 *
 * A pack holds one or more models; a model holds components (one upstream module each, e.g. AudioLDM's unet),
 * its tokenizers and its scheduler config. Each component keeps its upstream config verbatim, where it came
 * from, how its weights are stored, and an index of every tensor (file, dtype, shape, byte offsets). `files`
 * lists every file of the pack with its size and sha256. `parseManifest` also checks what zod cannot: every
 * path is safe (paths.ts), every file a component or tokenizer names is listed, tensor extents lie inside
 * their file, and no shard exceeds the declared shard limit.
 */
import { z } from "zod";
import { ModelPackError } from "../errors.js";
import { pathProblem } from "./paths.js";

export const PACK_FORMAT = "seeing-hearing-pack";
export const PACK_FORMAT_VERSION = 1;

/** Component kinds: which module class a component instantiates (models/registry.ts maps them). */
export const COMPONENT_KINDS = [
  "imagebind",
  "audioldm.unet",
  "audioldm.vae",
  "audioldm.vocoder",
  "audioldm.text_encoder",
  "sd.unet",
  "sd.vae",
  "sd.text_encoder",
  "animatediff.motion_adapter",
] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

export const STORED_DTYPES = ["F32", "F16", "BF16", "I64", "I32", "U8"] as const;
export type StoredDType = (typeof STORED_DTYPES)[number];
export const TOKENIZER_KINDS = ["clip-bpe", "clip-hf", "roberta-bpe"] as const;

const path = z.string().superRefine((p, ctx) => {
  const why = pathProblem(p);
  if (why) ctx.addIssue({ code: "custom", message: `path "${p}" ${why}` });
});
const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "ids are lowercase letters, digits, '.', '_', '-'");
const count = z.number().int().nonnegative();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 is 64 lowercase hex digits");
const json = z.record(z.string(), z.unknown());

export const SourceSchema = z.strictObject({
  /** Upstream repository (e.g. "cvssp/audioldm-m-full", "facebookresearch/ImageBind"). */
  repo: z.string().min(1).max(200),
  /** Upstream revision (a commit, tag, or "unknown" when the files came without one). */
  revision: z.string().min(1).max(100),
  /** The upstream files this was converted from (names as upstream has them; informational). */
  files: z.array(z.string().max(300)).max(1000).default([]),
  /** Where the upstream files are published (informational; never fetched by the loader). */
  url: z.string().url().max(500).optional(),
});

export const TensorEntrySchema = z.strictObject({
  file: path,
  dtype: z.enum(STORED_DTYPES),
  shape: z.array(count).max(8),
  /** Absolute byte range [begin, end) of the tensor's data in `file`. */
  offsets: z.tuple([count, count]),
});

export const Q4EntrySchema = z.strictObject({
  /** [N, ceil(K / blockSize), blockSize / 2] uint8 tensor key (MatMulNBits layout, quant.ts). */
  codes: z.string().min(1),
  /** [N · ceil(K / blockSize)] float32 tensor key. */
  scales: z.string().min(1),
  /** The parameter's shape [N, K] (torch Linear [out, in]). */
  shape: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  blockSize: z.number().int().min(16).max(1024),
});

export const ComponentSchema = z.strictObject({
  kind: z.enum(COMPONENT_KINDS),
  /** Upstream class name, e.g. "UNet2DConditionModel". */
  class: z.string().min(1).max(100),
  /** The upstream config.json (or constructor arguments), verbatim. */
  config: json,
  source: SourceSchema,
  /** Storage of rank ≥ 2 float tensors (rank ≤ 1 stay F32). */
  dtype: z.enum(["fp32", "fp16"]),
  /** "q4": Linear weights are stored only as MatMulNBits 4-bit blocks (see `q4`). */
  quantization: z.enum(["none", "q4"]),
  /** Only keys under these prefixes are in the pack (ImageBind: the modalities the studio uses). */
  keyPrefixes: z.array(z.string().min(1)).optional(),
  /** Parameter elements and stored bytes, for the memory planner and the UI. */
  parameters: count,
  bytes: count,
  tensors: z.record(z.string().min(1), TensorEntrySchema),
  /** Parameters stored as q4 blocks instead of a tensor of their own (keyed by the parameter's key). */
  q4: z.record(z.string().min(1), Q4EntrySchema).default({}),
});

export const TokenizerSchema = z.strictObject({
  kind: z.enum(TOKENIZER_KINDS),
  /** Role → path, e.g. {vocab: ".../vocab.json", merges: ".../merges.txt"} or {bpe: ".../bpe.txt.gz"}. */
  files: z.record(z.string().min(1), path),
  /** tokenizer_config.json / special tokens, verbatim (optional). */
  config: json.optional(),
  /** A note a user should read (e.g. "generated vocabulary, not the real RoBERTa one"). */
  note: z.string().max(500).optional(),
});

export const SchedulerSchema = z.strictObject({
  class: z.string().min(1).max(100),
  config: json,
});

export const ModelSchema = z.strictObject({
  /** Which model table entry this is (convert.ts MODEL_SPECS), e.g. "audioldm-m-full". */
  spec: z.string().min(1).max(100),
  name: z.string().min(1).max(200),
  source: SourceSchema,
  license: z.string().max(100).optional(),
  components: z.record(id, ComponentSchema),
  tokenizers: z.record(id, TokenizerSchema).default({}),
  scheduler: SchedulerSchema.nullable().default(null),
});

export const FileEntrySchema = z.strictObject({
  path,
  size: count,
  sha256,
  role: z.enum(["weights", "tokenizer", "config"]),
});

export const ManifestSchema = z.strictObject({
  format: z.literal(PACK_FORMAT),
  formatVersion: z.literal(PACK_FORMAT_VERSION),
  id,
  name: z.string().min(1).max(200),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, "a semantic version, e.g. 1.0.0"),
  description: z.string().max(2000).optional(),
  generator: z.strictObject({ tool: z.string().max(100), version: z.string().max(50) }),
  /** The shard size limit the pack was written with; no weights file is larger. */
  maxShardBytes: z.number().int().positive(),
  models: z.record(id, ModelSchema),
  files: z.array(FileEntrySchema).min(1),
});

export type PackManifest = z.output<typeof ManifestSchema>;
export type PackManifestInput = z.input<typeof ManifestSchema>;
export type ComponentManifest = z.output<typeof ComponentSchema>;
export type TensorEntry = z.output<typeof TensorEntrySchema>;
export type Q4Entry = z.output<typeof Q4EntrySchema>;
export type TokenizerManifest = z.output<typeof TokenizerSchema>;
export type ModelManifest = z.output<typeof ModelSchema>;
export type FileEntry = z.output<typeof FileEntrySchema>;
export type SourceInfo = z.output<typeof SourceSchema>;

/** Checks across fields that a schema cannot express; returns every problem. */
export function crossCheck(m: PackManifest): string[] {
  const bad: string[] = [];
  const files = new Map<string, FileEntry>();
  for (const f of m.files) {
    if (files.has(f.path)) bad.push(`file "${f.path}" is listed twice`);
    files.set(f.path, f);
    if (f.role === "weights" && f.size > m.maxShardBytes)
      bad.push(`weights file "${f.path}" (${f.size} bytes) exceeds maxShardBytes ${m.maxShardBytes}`);
  }
  const used = new Set<string>();
  for (const [mid, model] of Object.entries(m.models)) {
    for (const [cid, c] of Object.entries(model.components)) {
      const where = `models.${mid}.components.${cid}`;
      for (const [key, t] of Object.entries(c.tensors)) {
        const f = files.get(t.file);
        used.add(t.file);
        if (!f) bad.push(`${where}: tensor "${key}" is in "${t.file}", which is not in files`);
        else if (f.role !== "weights")
          bad.push(`${where}: tensor "${key}" is in non-weights file "${t.file}"`);
        else if (t.offsets[1] < t.offsets[0] || t.offsets[1] > f.size)
          bad.push(`${where}: tensor "${key}" spans [${t.offsets}] outside "${t.file}" (${f.size} bytes)`);
      }
      if (c.quantization === "q4" && Object.keys(c.q4).length === 0)
        bad.push(`${where}: quantization is q4 but no q4 entries are listed`);
      if (c.quantization === "none" && Object.keys(c.q4).length > 0)
        bad.push(`${where}: q4 entries are listed but quantization is "none"`);
      for (const [key, q] of Object.entries(c.q4)) {
        if (!c.tensors[q.codes] || !c.tensors[q.scales])
          bad.push(`${where}: q4 parameter "${key}" names tensors that are not in the index`);
        if (c.tensors[key]) bad.push(`${where}: "${key}" is stored both as a tensor and as q4 blocks`);
      }
    }
    for (const [tid, t] of Object.entries(model.tokenizers)) {
      for (const p of Object.values(t.files)) {
        used.add(p);
        if (!files.has(p)) bad.push(`models.${mid}.tokenizers.${tid}: "${p}" is not in files`);
      }
    }
  }
  for (const f of m.files) if (!used.has(f.path)) bad.push(`file "${f.path}" is listed but nothing uses it`);
  return bad;
}

/** Parse and validate a manifest (bytes, text or an object). Every problem in one ModelPackError. */
export function parseManifest(input: Uint8Array | string | unknown, where = "manifest.json"): PackManifest {
  let raw: unknown = input;
  if (input instanceof Uint8Array || typeof input === "string") {
    try {
      const text =
        typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input);
      raw = JSON.parse(text);
    } catch (e) {
      throw new ModelPackError(`${where}: not valid UTF-8 JSON (${(e as Error).message})`, { file: where });
    }
  }
  const r = ManifestSchema.safeParse(raw);
  if (!r.success) {
    throw new ModelPackError(`${where}: invalid pack manifest:\n${z.prettifyError(r.error)}`, {
      file: where,
      issues: r.error.issues.slice(0, 50).map((i) => `${i.path.join(".")}: ${i.message}`),
    });
  }
  const problems = crossCheck(r.data);
  if (problems.length) {
    throw new ModelPackError(`${where}: inconsistent pack manifest: ${problems.slice(0, 20).join("; ")}`, {
      file: where,
      issues: problems.slice(0, 50),
    });
  }
  return r.data;
}

/**
 * Deterministic JSON for a manifest (key order as built): one-space indentation keeps diffs readable, and arrays
 * of numbers (shapes, offsets) stay on one line so the tensor index stays compact.
 */
export function serializeManifest(m: PackManifest): Uint8Array {
  const text = JSON.stringify(m, null, 1).replace(
    /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
    (_, inner: string) => `[${inner.replace(/\s+/g, "")}]`,
  );
  return new TextEncoder().encode(`${text}\n`);
}
