/**
 * node tools/run.mjs bench/profile.ts <unet|vae|vocoder|ib-audio|ib-text|ib-vision|unet-motion|guidance> [fp16|fp32|q4]
 *   [--seconds 10] [--frames 16] [--px 512] [--threads 2] [--runs 1] [--opt all|extended|basic|disabled]
 *   [--save DIR] [--spin 0|1] [--recompute 0|1] [--json] [--quick]
 *
 * Per-node ORT profile of one emitted full-size component (random weights of the real config): kernel time by op
 * type, the slowest nodes, and the op census of the emitted graph and (with --save) of the graph ORT actually
 * ran after its optimizations (what constant folding and fusions left). --save also writes both models.
 * `guidance` is the V2A aligner's ORT graph (aligner/onnx_guidance.ts `guidanceGraph`: VAE decoder → vocoder →
 * fbank → ImageBind audio → bind loss, with its emitted backward; fp16 or fp32 storage, --recompute as the
 * studio's default 1). --json prints the profile summary as the last line (bench/run.ts reads it); --quick uses
 * the bundled default pack's configs.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ortNode from "onnxruntime-node";
import { guidanceGraph } from "../src/engine/aligner/onnx_guidance.js";
import type { BuiltModel, WeightFormat } from "../src/engine/ops/onnx/emitter.js";
import {
  createSession,
  type HostTensor,
  type OrtModule,
  runSession,
} from "../src/engine/ops/onnx/session.js";
import { audioEmbed } from "../src/engine/pipelines/audio_embed.js";
import type { AudioLDMModels } from "../src/engine/pipelines/audioldm.js";
import {
  audioUnet,
  audioUnetCase,
  audioVae,
  type Case,
  emitCase,
  fillImageBind,
  fillRandom,
  guidanceModels,
  ibAudioCase,
  ibTextCase,
  ibVisionCase,
  imagebind,
  motionUnet,
  motionUnetCase,
  vaeDecodeCase,
  vocoder,
  vocoderCase,
  wave,
} from "./lib/cases.js";
import { fullConfigs, SMALL } from "./lib/models.js";
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
const cfg = args.includes("--quick") ? SMALL : fullConfigs();

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

/** The aligner's V2A guidance graph at `seconds` (two targets, as the official step), with its feeds. */
function guidance(): { built: BuiltModel; inputs: Record<string, HostTensor>; label: string } {
  const { vae, voc, ib } = guidanceModels(cfg);
  const clips = Math.max(1, Math.round(seconds));
  const shape = [1, vae.config.latent_channels, Math.round(seconds * 25), 16];
  const dim = ib.config.out_embed_dim;
  const targets = [1, 2].map((k) => ({ name: `t${k}`, embedding: wave(dim, k, 0.03), weight: 1 }));
  const models = { vae, vocoder: voc } as unknown as AudioLDMModels; // the embed path reads only these
  const t0 = performance.now();
  const g = guidanceGraph(
    "profile-guidance",
    audioEmbed(models, ib, clips),
    shape,
    targets,
    fmt === "fp16" ? "fp16" : "fp32",
    {
      recompute: opt("--recompute") !== "0",
    },
  );
  const inputs: Record<string, HostTensor> = {
    x0: {
      data: wave(
        shape.reduce((a, b) => a * b, 1),
        0,
        1,
      ),
      shape,
    },
  };
  targets.forEach((t, k) => {
    inputs[`target_${k}`] = { data: t.embedding, shape: [1, dim] };
  });
  return {
    built: g.built,
    inputs,
    label: `guidance [${shape}] → ${clips} clip(s) ${fmt}: traced in ${(performance.now() - t0).toFixed(0)} ms`,
  };
}

const ort = ortNode as unknown as OrtModule;
const { built, inputs, label } =
  which === "guidance"
    ? guidance()
    : (() => {
        const c = build();
        const em = emitCase(c, fmt);
        return {
          built: em.built,
          inputs: c.inputs,
          label: `${which} ${c.shape} ${fmt}: ${(em.flops / 1e9).toFixed(1)} GFLOP, emitted in ${em.emitMs.toFixed(0)} ms`,
        };
      })();
console.log(`${label}\n  emitted graph: ${opCensus(built.model).summary}`);
const dir = save ?? "/tmp/bench-profile";
mkdirSync(dir, { recursive: true });
if (save) {
  writeFileSync(join(dir, "model.onnx"), built.model);
  if (built.externalData) writeFileSync(join(dir, built.externalData.path), built.externalData.data);
}
const prefix = join(dir, "ort_profile");
const created = await timed(() =>
  createSession(ort, built, {
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
  const t = await timed(() => runSession(ort, session, inputs));
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
  const summary = summarizeProfile(events, 20, runs);
  console.log(summary.text);
  if (!save) rmSync(join(dir, file));
  if (args.includes("--json"))
    console.log(
      JSON.stringify({
        totalMs: summary.totalUs / 1e3,
        byOp: summary.byOp.map((o) => ({ op: o.op, ms: o.us / 1e3, count: o.count })),
        top: summary.top.map((n) => ({ node: n.node, op: n.op, ms: n.us / 1e3, shape: n.shape })),
      }),
    );
}
if (save) console.log(`optimized graph: ${opCensus(readFileSync(join(dir, "optimized.onnx"))).summary}`);
