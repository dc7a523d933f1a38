/**
 * npm run pack -- <command>
 *
 *   build   --from <folder|file|upstream> [--from …] --model <spec> --quant fp32|fp16|q4 --out <dir>
 *           (--from upstream reads the model's official repository over HTTP Range, or --mirror <URL template>)
 *           [--id <pack id>] [--name <text>] [--version 1.0.0] [--repo <owner/name>] [--revision <rev>]
 *           [--variant fp16] [--components unet,vae] [--shard-mib 256] [--q4-block 32]
 *   random  [--out .cache/packs/random]        the seeded random-weights pack (deterministic; same layout and id
 *                                                as the bundled pack, which is trained: tools/train/build-pack.ts)
 *   verify  <pack dir>                           re-hash every file against manifest.json
 *   info    <pack dir>                           print the manifest's summary
 *   specs                                        list the models `build --model` knows
 *
 * Conversion is `convertPack` (src/engine/packs/convert.ts), the same code the browser's convert job runs.
 */
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StudioError } from "../src/engine/errors.js";
import { type ConvertProgress, convertPack, type QuantChoice } from "../src/engine/packs/convert.js";
import { buildRandomPack } from "../src/engine/packs/default-pack.js";
import { remoteTree } from "../src/engine/packs/remote.js";
import { parseManifest } from "../src/engine/packs/schema.js";
import type { HasherFactory } from "../src/engine/packs/sha256.js";
import { DEFAULT_MAX_SHARD_BYTES, MiB } from "../src/engine/packs/shards.js";
import { folderSink, readInputTree } from "../src/engine/packs/sink-node.js";
import { isModelSpecId, MODEL_SPECS } from "../src/engine/packs/specs.js";

/** node:crypto gives the same digests as the TS Sha256, several times faster. */
const nodeHasher: HasherFactory = () => {
  const h = createHash("sha256");
  return { update: (b: Uint8Array) => h.update(b), digestHex: () => h.digest("hex") };
};

function parseArgs(argv: readonly string[]) {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const v = argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") ? argv[++i] : "true";
      flags.set(a.slice(2), [...(flags.get(a.slice(2)) ?? []), v]);
    } else positional.push(a);
  }
  const one = (k: string, d?: string) => flags.get(k)?.at(-1) ?? d;
  return { positional, flags, one };
}

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}\n`);
  console.error(
    "usage: npm run pack -- build --from <folder|file|upstream> [--mirror <url template>] --model <spec> --quant fp32|fp16|q4 --out <dir>\n" +
      "       npm run pack -- random [--out .cache/packs/random]\n" +
      "       npm run pack -- verify <pack dir> | info <pack dir> | specs",
  );
  process.exit(2);
}

function progress(): (e: ConvertProgress) => void {
  let last = 0;
  return (e) => {
    if (e.type === "check") console.log(`checking ${e.model}/${e.component}`);
    else if (Date.now() - last > 1000 || e.done === e.total) {
      last = Date.now();
      console.log(`writing ${e.model}/${e.component}: ${((100 * e.done) / e.total).toFixed(1)}%`);
    }
  };
}

const mb = (n: number) => `${(n / MiB).toFixed(2)} MiB`;

async function build(args: ReturnType<typeof parseArgs>): Promise<void> {
  const from = args.flags.get("from") ?? usage("--from is required");
  const model = args.one("model") ?? usage("--model is required (see `npm run pack -- specs`)");
  if (!isModelSpecId(model))
    usage(`unknown --model "${model}"; known: ${Object.keys(MODEL_SPECS).join(", ")}`);
  const quant = args.one("quant", "fp16") as QuantChoice;
  if (!["fp32", "fp16", "q4"].includes(quant)) usage(`--quant must be fp32, fp16 or q4`);
  const out = args.one("out") ?? usage("--out is required");
  const local = from.length === 1 && from[0] === "upstream" ? null : await readInputTree(from);
  const tree =
    local ??
    (await remoteTree(model, {
      revision: args.one("revision"),
      fileUrl: args.one("mirror"),
      headers: process.env.HF_TOKEN ? { Authorization: `Bearer ${process.env.HF_TOKEN}` } : undefined,
    }));
  const t0 = performance.now();
  try {
    const manifest = await convertPack(
      [
        {
          spec: model,
          tree,
          repo: args.one("repo"),
          revision: args.one("revision"),
          variant: args.one("variant"),
          components: args.one("components")?.split(","),
        },
      ],
      folderSink(out),
      {
        id: args.one("id", `${model}-${quant}`)!,
        name: args.one("name", `${MODEL_SPECS[model].name} (${quant})`)!,
        version: args.one("version", "1.0.0"),
        quant,
        maxShardBytes: Number(args.one("shard-mib", String(DEFAULT_MAX_SHARD_BYTES / MiB))) * MiB,
        q4BlockSize: Number(args.one("q4-block", "32")),
        hasher: nodeHasher,
        onProgress: progress(),
      },
    );
    const bytes = manifest.files.reduce((a, f) => a + f.size, 0);
    console.log(
      `\nwrote ${manifest.files.length + 1} files (${mb(bytes)}) to ${resolve(out)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    await local?.close();
  }
}

async function buildRandom(args: ReturnType<typeof parseArgs>): Promise<void> {
  const out = resolve(args.one("out", join(".cache", "packs", "random"))!);
  const gz = new Uint8Array(
    await readFile(resolve("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz")),
  );
  await rm(out, { recursive: true, force: true });
  const manifest = await buildRandomPack(folderSink(out), gz, {
    hasher: nodeHasher,
    onProgress: progress(),
  });
  for (const f of manifest.files)
    console.log(`${f.sha256.slice(0, 16)}  ${mb(f.size).padStart(11)}  ${f.path}`);
  console.log(
    `\n${manifest.files.length} files, ${mb(manifest.files.reduce((a, f) => a + f.size, 0))} → ${out}`,
  );
}

async function verify(dir: string): Promise<number> {
  const manifest = parseManifest(
    new Uint8Array(await readFile(join(dir, "manifest.json"))),
    join(dir, "manifest.json"),
  );
  let bad = 0;
  for (const f of manifest.files) {
    let status = "ok";
    try {
      const bytes = await readFile(join(dir, ...f.path.split("/")));
      const h = nodeHasher();
      h.update(bytes);
      if (bytes.length !== f.size) status = `size ${bytes.length}, expected ${f.size}`;
      else if (h.digestHex() !== f.sha256) status = "sha256 mismatch";
    } catch (e) {
      status = (e as Error).message;
    }
    if (status !== "ok") bad++;
    console.log(`${status === "ok" ? "ok  " : "BAD "} ${f.path}${status === "ok" ? "" : `: ${status}`}`);
  }
  return bad ? 1 : 0;
}

async function info(dir: string): Promise<void> {
  const m = parseManifest(new Uint8Array(await readFile(join(dir, "manifest.json"))));
  console.log(`${m.id} ${m.version}: ${m.name}`);
  for (const [mid, model] of Object.entries(m.models)) {
    console.log(`  ${mid} (${model.spec}, ${model.source.repo}@${model.source.revision})`);
    for (const [cid, c] of Object.entries(model.components))
      console.log(
        `    ${cid.padEnd(16)} ${c.kind.padEnd(28)} ${c.dtype}/${c.quantization}  ${c.parameters} params, ${mb(c.bytes)}`,
      );
  }
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const args = parseArgs(rest);
  switch (cmd) {
    case "build":
      await build(args);
      return 0;
    case "random":
      await buildRandom(args);
      return 0;
    case "default":
      return usage(
        "the bundled default pack is trained: `npm run train -- --install` runs the training and rebuilds it, or `node tools/run.mjs tools/train/build-pack.ts --runs <run folder> --out public/models/default` rebuilds it from a finished run (docs/training.md); `npm run pack -- random` writes the seeded random-weights pack",
      );
    case "verify":
      return verify(args.positional[0] ?? usage("verify needs a pack folder"));
    case "info":
      await info(args.positional[0] ?? usage("info needs a pack folder"));
      return 0;
    case "specs":
      for (const [id, s] of Object.entries(MODEL_SPECS))
        console.log(`${id.padEnd(36)} ${s.family.padEnd(18)} ${s.repo}`);
      return 0;
    default:
      return usage(cmd ? `unknown command "${cmd}"` : undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof StudioError ? `${e.name}: ${e.message}` : e);
    process.exit(1);
  },
);
