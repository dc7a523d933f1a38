/**
 * Finding a component's weights in an upstream folder: a sharded `*.safetensors.index.json` with its shards,
 * single `.safetensors` files, or torch `.bin`/`.pth`/`.ckpt` — choosing a variant (`fp16`, `non_ema`, …) only
 * when asked, or when it is the only one there.
 */
import { ModelPackError } from "../errors.js";
import { parseShardIndex } from "../weights/safetensors-stream.js";
import { readAll } from "../weights/source.js";
import { baseName, filesIn, type InputFile, type InputTree } from "./tree.js";

const VARIANTS = ["fp16", "bf16", "fp32", "non_ema", "ema", "no_ema"];
const WEIGHTS = /\.(safetensors|bin|pth|pt|ckpt)$/;
const INDEX = /\.safetensors\.index(\.[A-Za-z0-9_]+)?\.json$/;

function variantOf(name: string): string | null {
  return name.split(".").find((s) => VARIANTS.includes(s)) ?? baseVariant(name);
}
/** "model-00001-of-00002.fp16.safetensors" and "model.fp16-00001-of-00002.safetensors" spellings. */
function baseVariant(name: string): string | null {
  const m = /[.-](fp16|bf16|fp32|non_ema|ema|no_ema)[.-]/.exec(name);
  return m ? m[1] : null;
}

/** The weight files of `folder` for `variant` (null: the plain files). */
export async function weightFiles(
  tree: InputTree,
  folder: string,
  variant: string | null = null,
): Promise<InputFile[]> {
  const here = filesIn(tree, folder);
  const where = folder || "the input root";
  const candidates = here.filter((f) => WEIGHTS.test(f.path) || INDEX.test(f.path));
  if (candidates.length === 0) {
    throw new ModelPackError(
      `${where}: no weights found (expected *.safetensors, a *.safetensors.index.json with its shards, or a torch .bin/.pth)`,
      { file: where },
    );
  }
  let group = candidates.filter((f) => variantOf(baseName(f.path)) === variant);
  if (group.length === 0) {
    const present = [...new Set(candidates.map((f) => variantOf(baseName(f.path)) ?? "(plain)"))];
    if (variant === null && present.length === 1) group = candidates;
    else {
      throw new ModelPackError(
        `${where}: no ${variant ? `"${variant}" ` : "plain "}weights; variants present: ${present.join(", ")} (choose one with --variant)`,
        { file: where },
      );
    }
  }
  const index = group.filter((f) => INDEX.test(f.path));
  if (index.length > 1)
    throw new ModelPackError(`${where}: several shard indexes: ${index.map((f) => f.path).join(", ")}`);
  if (index.length === 1) {
    const idx = parseShardIndex(await readAll(index[0].source), index[0].path);
    const shards = idx.files.map((name) => {
      const hit = here.find((f) => baseName(f.path) === baseName(name));
      if (!hit)
        throw new ModelPackError(`${index[0].path}: shard "${name}" is missing from ${where}`, {
          file: index[0].path,
          shard: name,
        });
      return hit;
    });
    return [index[0], ...shards];
  }
  const safetensors = group.filter((f) => f.path.endsWith(".safetensors"));
  if (safetensors.length) return safetensors;
  const torch = group.filter((f) => /\.(bin|pth|pt|ckpt)$/.test(f.path));
  if (torch.length > 1 && !torch.every((f) => /-\d+-of-\d+\.bin$/.test(f.path)))
    throw new ModelPackError(`${where}: several torch checkpoints: ${torch.map((f) => f.path).join(", ")}`);
  return torch;
}
