/**
 * node tools/run.mjs bench/diffusers_unet.ts [audioldm-m|sd15|sd15-motion] [fp16|fp32|q4] [--threads N] [--runs N]
 *
 * One denoising step of a full-size diffusers UNet (random weights, the real module tree from the golden
 * manifests' configs) at the studio's real shapes, emitted as ONNX and run by onnxruntime-node on the CPU:
 *   audioldm-m   latent [2, 8, 250, 16] (10 s, CFG), class_labels [2, 512]        (SPEC §5.1, B.4)
 *   sd15         latent [2, 4, 64, 64] (512², CFG), text states [2, 77, 768]       (SPEC §5.2)
 *   sd15-motion  latent [2, 4, 16, 64, 64] (16 frames, CFG) — heavy
 * Reports emit, session-creation and per-run times, the op count and the node types.
 */
import * as ort from "onnxruntime-node";
import { UNet2DConditionModel } from "../src/engine/models/diffusers/unet_2d_condition.js";
import { UNetMotionModel } from "../src/engine/models/diffusers/unet_motion_model.js";
import { OnnxEmitter, type Sym, type WeightFormat } from "../src/engine/ops/onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "../src/engine/ops/onnx/session.js";
import { namedParams } from "../src/engine/ops/param.js";
import { readManifest } from "../test/support/manifest.js";

const args = process.argv.slice(2);
const which = args[0] ?? "audioldm-m";
const fmt = (args[1] ?? "fp16") as WeightFormat;
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const threads = opt("--threads", 0);
const runs = opt("--runs", 2);

/** Cheap deterministic fill (no need for Gaussian weights to time a step). */
function fill(model: object): number {
  let s = 12345;
  let n = 0;
  for (const [, p] of namedParams(model)) {
    if (p.optional) continue;
    const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
    const scale = p.shape.length >= 2 ? Math.sqrt(3 / fanIn) : 0.1;
    const v = new Float32Array(p.size);
    for (let i = 0; i < v.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      v[i] = ((s / 2 ** 32) * 2 - 1) * scale + (p.shape.length === 1 && p.name.endsWith("weight") ? 1 : 0);
    }
    p.set(v);
    n += p.size;
  }
  return n;
}

const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

let t0 = performance.now();
let model: UNet2DConditionModel;
let inputs: Record<string, { data: Float32Array | Int32Array; shape: number[] }>;
if (which === "audioldm-m") {
  model = new UNet2DConditionModel(readManifest("audioldm_m_full_unet").config ?? {});
  inputs = {
    sample: { data: rand(2 * 8 * 250 * 16), shape: [2, 8, 250, 16] },
    timestep: { data: Int32Array.of(958), shape: [1] },
    class_labels: { data: rand(2 * 512), shape: [2, 512] },
  };
} else {
  const unetCfg = readManifest("sd15_unet").config ?? {};
  const video = which === "sd15-motion";
  model = video
    ? new UNetMotionModel(unetCfg, readManifest("animatediff_motion_adapter_v1_5_2").config ?? {})
    : new UNet2DConditionModel(unetCfg);
  const shape = video ? [2, 4, 16, 64, 64] : [2, 4, 64, 64];
  inputs = {
    sample: { data: rand(shape.reduce((a, b) => a * b, 1)), shape },
    timestep: { data: Int32Array.of(958), shape: [1] },
    encoder_hidden_states: { data: rand(2 * 77 * 768), shape: [2, 77, 768] },
  };
}
const n = fill(model);
console.log(
  `${which}: ${(n / 1e6).toFixed(1)} M parameters, built + filled in ${(performance.now() - t0).toFixed(0)} ms`,
);

t0 = performance.now();
const em = new OnnxEmitter({ weights: fmt });
const xs: Record<string, Sym> = {};
for (const [k, v] of Object.entries(inputs))
  xs[k] = em.input(k, v.shape, v.data instanceof Int32Array ? "int32" : "float32");
// count the Ops calls the model makes (a proxy in front of the emitter)
const calls = new Map<string, number>();
const counted = new Proxy(em, {
  get(target, prop, recv) {
    const v = Reflect.get(target, prop, recv);
    if (typeof v !== "function" || prop === "shape" || prop === "dtype") return v;
    return (...a: unknown[]) => {
      calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
      return (v as (...x: unknown[]) => unknown).apply(target, a);
    };
  },
});
const eps = model.forward(counted, xs.sample, xs.timestep, {
  classLabels: xs.class_labels ?? null,
  encoderHiddenStates: xs.encoder_hidden_states ?? null,
});
em.output("eps", eps);
const built = em.build({ externalData: { path: "weights.bin" } });
console.log(
  `emitted ${fmt}: graph ${(built.model.length / 1e6).toFixed(2)} MB, weights ${((built.externalData?.data.length ?? 0) / 1e6).toFixed(0)} MB, ${(performance.now() - t0).toFixed(0)} ms`,
);
const total = [...calls.values()].reduce((a, b) => a + b, 0);
const top = [...calls].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
console.log(`${total} Ops calls: ${top.join(", ")}`);

t0 = performance.now();
const session = await createSession(
  ort as unknown as OrtModule,
  built,
  threads ? { intraOpNumThreads: threads } : {},
);
console.log(`session created in ${(performance.now() - t0).toFixed(0)} ms`);
for (let r = 0; r < runs; r++) {
  t0 = performance.now();
  const out = await runSession(ort as unknown as OrtModule, session, inputs);
  const e = out.eps.data as Float32Array;
  let norm = 0;
  for (const v of e) norm += v * v;
  console.log(
    `run ${r}: ${(performance.now() - t0).toFixed(0)} ms  (‖ε‖ = ${Math.sqrt(norm).toFixed(2)}, finite: ${Number.isFinite(norm)})`,
  );
}
await session.release();
