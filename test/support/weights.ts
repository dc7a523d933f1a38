/** Load fixture weights (upstream key names) into a module tree, strictly: every key must match. */
import { ModelPackError } from "../../src/engine/errors.js";
import {
  checkKeys,
  describeKeyCheck,
  isCleanKeyCheck,
  namedParams,
  type TensorSpec,
} from "../../src/engine/ops/param.js";
import type { SafetensorsFile } from "../../src/engine/weights/safetensors.js";

export interface LoadOptions {
  /** Only model keys starting with one of these prefixes are expected (e.g. one ImageBind modality). */
  only?: readonly string[];
  /** Prefix present in the file's keys but not in the model's. */
  stripPrefix?: string;
}

export function loadFixtureWeights(
  model: object,
  files: SafetensorsFile | readonly SafetensorsFile[],
  opts: LoadOptions = {},
): void {
  const list = Array.isArray(files) ? files : [files as SafetensorsFile];
  const avail = new Map<string, { spec: TensorSpec; file: SafetensorsFile; key: string }>();
  for (const f of list) {
    for (const key of f.keys()) {
      const k =
        opts.stripPrefix && key.startsWith(opts.stripPrefix) ? key.slice(opts.stripPrefix.length) : key;
      const e = f.entry(key);
      avail.set(k, {
        spec: { shape: e.shape, dtype: e.dtype === "I64" ? "int64" : "float32" },
        file: f,
        key,
      });
    }
  }
  const inScope = (k: string) => !opts.only || opts.only.some((p) => k.startsWith(p));
  const params = namedParams(model).filter(([k]) => inScope(k));
  const specs = new Map([...avail].map(([k, v]) => [k, v.spec] as const));
  // check only the in-scope part of the tree (a flat {key: Param} object walks to the same keys)
  const check = checkKeys(Object.fromEntries(params), specs);
  check.unexpected = check.unexpected.filter(inScope);
  if (!isCleanKeyCheck(check))
    throw new ModelPackError(`fixture weights do not match the model: ${describeKeyCheck(check)}`);
  for (const [k, p] of params) {
    const a = avail.get(k);
    if (a) p.set(a.file.get(a.key));
  }
}
