/**
 * One ORT guidance variant in a fresh process, for bench/run.ts: a process that has run other graphs keeps their
 * freed pages (glibc, ORT's arena) and would hide the next graph's peak RSS. Builds the full-size (or, with
 * --quick, the small) VAE decoder, vocoder and ImageBind audio tower with the bench's random weights, runs
 * `guidanceStepsOrt` and prints one JSON line: { buildMs, runs, rssBefore, peak }.
 *
 *   node tools/run.mjs bench/guidance-child.ts --seconds 10 --recompute 1 --arena 0 --repeats 1 --threads 2 [--quick]
 */
import * as ortNode from "onnxruntime-node";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import { guidanceModels } from "./lib/cases.js";
import { guidanceStepsOrt } from "./lib/guidance.js";
import { gc, procMem, resetPeak } from "./lib/measure.js";
import { fullConfigs, SMALL } from "./lib/models.js";

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => {
  const i = argv.indexOf(n);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : d;
};
const cfg = argv.includes("--quick") ? SMALL : fullConfigs();
const { vae, voc, ib } = guidanceModels(cfg);
gc();
const rssBefore = procMem().rss;
resetPeak();
const r = await guidanceStepsOrt(
  { vae, vocoder: voc, imagebind: ib },
  Number(opt("--seconds", "1")),
  ortNode as unknown as OrtModule,
  { intraOpNumThreads: Number(opt("--threads", "2")) },
  Number(opt("--repeats", "1")),
  { recompute: opt("--recompute", "1") === "1", arena: opt("--arena", "0") === "1" },
);
console.log(JSON.stringify({ ...r, rssBefore, peak: procMem().peak }));
