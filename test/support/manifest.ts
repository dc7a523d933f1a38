/** Reads the full-size checkpoint manifests in the golden dir (key, shape, dtype, buffer-ness of every tensor). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TensorSpec } from "../../src/engine/ops/param.js";
import { goldenDir } from "./golden.js";

export interface ManifestEntry extends TensorSpec {
  buffer: boolean;
}

export interface Manifest {
  model: string;
  config: Record<string, unknown> | undefined;
  entries: Map<string, ManifestEntry>;
  raw: Record<string, unknown>;
}

interface RawEntry {
  key: string;
  shape: number[];
  dtype: string;
  kind?: string;
  is_buffer?: boolean;
}

export function readManifest(name: string, dir = goldenDir()): Manifest {
  const raw = JSON.parse(readFileSync(join(dir, "manifests", `${name}.json`), "utf8")) as Record<
    string,
    unknown
  >;
  const list = (raw.keys ?? raw.tensors) as RawEntry[];
  const entries = new Map<string, ManifestEntry>();
  for (const e of list) {
    const dtype = e.dtype === "int64" ? "int64" : e.dtype === "int32" ? "int32" : "float32";
    entries.set(e.key, { shape: e.shape, dtype, buffer: e.kind === "buffer" || e.is_buffer === true });
  }
  return {
    model: String(raw.model),
    config: raw.config as Record<string, unknown> | undefined,
    entries,
    raw,
  };
}
