/**
 * node tools/run.mjs bench/profile.ts <unet|vae|vocoder|ib-audio|ib-text|ib-vision|unet-motion> [fp16|fp32|q4]
 *   [--seconds 10] [--frames 16] [--px 512] [--threads 2] [--runs 1] [--opt all|extended|basic|disabled]
 *   [--save DIR] [--spin 0|1]
 *
 * Per-node ORT profile of one emitted full-size component (random weights of the real config): kernel time by op
 * type, the slowest nodes, and the op census of the emitted graph and (with --save) of the graph ORT actually
 * ran after its optimizations (what constant folding and fusions left). --save also writes both models.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ortNode from "onnxruntime-node";
import type { WeightFormat } from "../src/engine/ops/onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "../src/engine/ops/onnx/session.js";
import {
  audioUnet,
  audioUnetCase,
  audioVae,
  type Case,
  emitCase,
  fillImageBind,
  fillRandom,
  ibAudioCase,
  ibTextCase,
  ibVisionCase,
  imagebind,
  motionUnet,
  motionUnetCase,
  vaeDecodeCase,
  vocoder,
  vocoderCase,
} from "./lib/cases.js";
import { fullConfigs } from "./lib/models.js";
import { opCensus } from "./lib/onnx_census.js";
import { summarizeProfile } from "./lib/profile.js";
import { timed } from "./lib/timing.js";

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const which = positional[0] ?? "unet";
const fmt = (positional[1] ?? "fp16") as WeightFormat;
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const threads = Number(opt("--threads") ?? 2);
const runs = Number(opt("--runs") ?? 1);
const level = (opt("--opt") ?? "all") as "all" | "extended" | "basic" | "disabled";
const save = opt("--save");
const seconds = Number(opt("--seconds") ?? 10);
const cfg = fullConfigs();

function build(): Case {
  switch (which) {
    case "unet": {
      const m = audioUnet(cfg.audioUnet);
      fillRandom(m);
      return audioUnetCase(m, seconds);
    }
    case "vae": {
      const m = audioVae(cfg.audioVae);
      fillRandom(m);
      return vaeDecodeCase(m, seconds);
    }
    case "vocoder": {
      const m = vocoder(cfg.vocoder);
      fillRandom(m);
      return vocoderCase(m, seconds);
    }
    case "unet-motion": {
      const m = motionUnet(cfg.sdUnet, cfg.motionAdapter);
      fillRandom(m);
      return motionUnetCase(m, Number(opt("--frames") ?? 16), Number(opt("--px") ?? 512));
    }
    default: {
      const ib = imagebind(cfg.imagebind);
      const mod = which.slice(3) as "audio" | "text" | "vision";
      fillImageBind(ib, [mod]);
      return mod === "audio"
        ? ibAudioCase(ib, seconds)
        : mod === "text"
          ? ibTextCase(ib)
          : ibVisionCase(ib, seconds);
    }
  }
}

const ort = ortNode as unknown as OrtModule;
const c = build();
const em = emitCase(c, fmt);
console.log(
  `${which} ${c.shape} ${fmt}: ${(em.flops / 1e9).toFixed(1)} GFLOP, emitted in ${em.emitMs.toFixed(0)} ms\n  emitted graph: ${opCensus(em.built.model).summary}`,
);
const dir = save ?? "/tmp/bench-profile";
mkdirSync(dir, { recursive: true });
if (save) {
  writeFileSync(join(dir, "model.onnx"), em.built.model);
  if (em.built.externalData) writeFileSync(join(dir, em.built.externalData.path), em.built.externalData.data);
}
const prefix = join(dir, "ort_profile");
const created = await timed(() =>
  createSession(ort, em.built, {
    intraOpNumThreads: threads,
    graphOptimizationLevel: level,
    extra: {
      enableProfiling: true,
      profileFilePrefix: prefix,
      ...(save ? { optimizedModelFilePath: join(dir, "optimized.onnx") } : {}),
      ...(opt("--spin") === "0" ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}),
    },
  }),
);
console.log(`session created in ${created.run.wallMs.toFixed(0)} ms`);
const session = created.value;
for (let r = 0; r < runs; r++) {
  const t = await timed(() => runSession(ort, session, c.inputs));
  console.log(`run ${r}: ${t.run.wallMs.toFixed(0)} ms wall, ${t.run.cpuMs.toFixed(0)} ms CPU`);
}
(session as unknown as { endProfiling(): void }).endProfiling();
await session.release();
const file = readdirSync(dir)
  .filter((f) => f.startsWith("ort_profile") && f.endsWith(".json"))
  .sort()
  .at(-1);
if (file) {
  const events = JSON.parse(readFileSync(join(dir, file), "utf8")) as Parameters<typeof summarizeProfile>[0];
  console.log(summarizeProfile(events, 20, runs).text);
  if (!save) rmSync(join(dir, file));
}
if (save) console.log(`optimized graph: ${opCensus(readFileSync(join(dir, "optimized.onnx"))).summary}`);
