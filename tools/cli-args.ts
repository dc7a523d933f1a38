/** Argument parsing shared by the CLI's commands (tools/cli.ts, tools/cli-video.ts). */
import { BadInputError } from "../src/engine/errors.js";
import type { WeightFormat } from "../src/engine/ops/onnx/emitter.js";

export type Args = { _: string[]; flags: Map<string, string | true> };

export function parseArgs(argv: readonly string[]): Args {
  const out: Args = { _: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [k, v] = a.slice(2).split("=", 2);
      if (v !== undefined) out.flags.set(k, v);
      else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out.flags.set(k, argv[++i]);
      else out.flags.set(k, true);
    } else out._.push(a);
  }
  return out;
}

export function num(a: Args, k: string, dflt: number): number {
  const v = a.flags.get(k);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new BadInputError(`--${k} needs a number (got ${String(v)})`);
  return n;
}

export function str(a: Args, k: string): string | undefined {
  const v = a.flags.get(k);
  if (v === true) throw new BadInputError(`--${k} needs a value`);
  return v;
}

export function quantOf(a: Args): WeightFormat {
  const quant = (str(a, "quant") ?? "fp32") as WeightFormat;
  if (!["fp32", "fp16", "q4"].includes(quant))
    throw new BadInputError(`--quant must be fp32, fp16 or q4 (got ${quant})`);
  return quant;
}

/** Where the aligner's loss and gradient run: onnxruntime-node (default: ≈ 7× tfjs-wasm on the full-size step) or tfjs. */
export function guidanceOf(a: Args): "onnx" | "tfjs" {
  const g = str(a, "guidance") ?? "onnx";
  if (g !== "onnx" && g !== "tfjs") throw new BadInputError(`--guidance must be onnx or tfjs (got ${g})`);
  return g;
}

export function optimizerOf(a: Args): "adam" | "sgd" {
  const o = str(a, "optimizer") ?? "adam";
  if (o !== "adam" && o !== "sgd") throw new BadInputError(`--optimizer must be adam or sgd (got ${o})`);
  return o;
}

/** stderr logger that stays quiet in --json mode. */
export function logger(a: Args): (s: string) => void {
  const json = a.flags.has("json");
  return (s) => {
    if (!json) process.stderr.write(`${s}\n`);
  };
}
