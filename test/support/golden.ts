/**
 * Access to the golden fixtures produced by the upstream PyTorch code (../shared/fixtures/golden, overridable
 * with GOLDEN_DIR). Tests read configs, tolerances and tensors from here; no number is ever copied into a test.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../../src/engine/weights/safetensors.js";

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (test/support/ is two levels down). */
export const repoRoot = resolve(here, "../..");

export function goldenDir(): string {
  return process.env.GOLDEN_DIR
    ? resolve(process.env.GOLDEN_DIR)
    : resolve(repoRoot, "../shared/fixtures/golden");
}

export function hasGolden(): boolean {
  return existsSync(goldenDir());
}

/** The fixture JSON (config, call, loss, tolerances, quirks). */
export interface FixtureMeta {
  fixture: string;
  config?: Record<string, unknown>;
  /** g1 fixtures name their tolerances `suggested_rel_l2_tol`, g2 fixtures `suggested_tolerance_rel_l2`. */
  suggested_rel_l2_tol?: Record<string, number>;
  suggested_tolerance_rel_l2?: Record<string, number>;
  [k: string]: unknown;
}

export interface Fixture {
  name: string;
  meta: FixtureMeta;
  /** `in.*`, `out.*`, `grad.*` tensors. */
  io: SafetensorsFile | null;
  /** Weights with upstream key names (several files for split fixtures, e.g. `.unet` / `.adapter`). */
  weights: Map<string, SafetensorsFile>;
  dir: string;
}

const cache = new Map<string, Fixture>();

/** Fixture names: every NAME.json whose content declares `"fixture"` (vocabulary JSONs are not fixtures). */
export function listFixtures(dir = goldenDir()): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .filter((f) => {
      try {
        return (
          typeof (JSON.parse(readFileSync(join(dir, f), "utf8")) as { fixture?: unknown }).fixture ===
          "string"
        );
      } catch {
        return false;
      }
    })
    .map((f) => f.replace(/\.json$/, ""))
    .sort();
}

export function loadFixture(name: string, dir = goldenDir()): Fixture {
  const key = `${dir}::${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as FixtureMeta;
  const ioPath = join(dir, `${name}.io.safetensors`);
  const io = existsSync(ioPath) ? new SafetensorsFile(new Uint8Array(readFileSync(ioPath)), ioPath) : null;
  const weights = new Map<string, SafetensorsFile>();
  for (const f of readdirSync(dir)) {
    const m = f.match(
      new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:\\.([a-z_]+))?\\.weights\\.safetensors$`),
    );
    if (m)
      weights.set(m[1] ?? "", new SafetensorsFile(new Uint8Array(readFileSync(join(dir, f))), join(dir, f)));
  }
  const fx: Fixture = { name, meta, io, weights, dir };
  cache.set(key, fx);
  return fx;
}

/** Relative L2 error ‖a − b‖ / ‖b‖ (with ‖b‖ = 0 → ‖a‖), plus the worst element for diagnostics. */
export function relL2(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { rel: number; worst: number; worstIndex: number } {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  let worst = 0;
  let worstIndex = -1;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
    if (!(Math.abs(d) <= worst)) {
      worst = Math.abs(d);
      worstIndex = i;
    }
  }
  const rel = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  return { rel: Number.isNaN(rel) ? Number.POSITIVE_INFINITY : rel, worst, worstIndex };
}

/** Tolerance for tensor `key` (e.g. "out.embedding" or "grad.x") from the fixture JSON. */
export function tolerance(fx: Fixture, key: string): number {
  const t = fx.meta.suggested_rel_l2_tol ?? fx.meta.suggested_tolerance_rel_l2 ?? {};
  const short = key.replace(/^(out|grad|in)\./, "");
  const v = t[key] ?? t[short];
  if (typeof v !== "number") throw new Error(`fixture ${fx.name} has no tolerance for ${key}`);
  return v;
}
