/**
 * Packs built from the golden fixtures' weight files (upstream key names, laid out as upstream ships them:
 * diffusers component folders, an adapter folder, an ImageBind torch.save .pth) load back through the pack
 * loader and reproduce the fixtures' outputs through the model code (tfjs executor, fixture tolerances).
 * fp16 and q4 packs run through the ONNX emitter (q4 blocks used as stored) and stay close.
 */
import * as ortNode from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { AutoencoderKL } from "../src/engine/models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "../src/engine/models/diffusers/unet_2d_condition.js";
import {
  type MotionAdapterConfig,
  UNetMotionModel,
} from "../src/engine/models/diffusers/unet_motion_model.js";
import type { SpeechT5HifiGan } from "../src/engine/models/hifigan/model.js";
import type { ImageBindModel, Modality } from "../src/engine/models/imagebind/model.js";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import type { Ops } from "../src/engine/ops/ops.js";
import { namedParams } from "../src/engine/ops/param.js";
import { type ConvertModelInput, convertPack, type QuantChoice } from "../src/engine/packs/convert.js";
import { type LoadedComponent, loadPackModels } from "../src/engine/packs/loader.js";
import { memorySink } from "../src/engine/packs/sink.js";
import { memoryTree } from "../src/engine/packs/tree.js";
import { fixtureInput, type Program, runOnnx, runTfjs } from "./parity/harness.js";
import { type Fixture, hasGolden, loadFixture, relL2, tolerance } from "./support/golden.js";
import { memoryPack } from "./support/packs.js";
import { OrderedDict, Storage, Tensor, torchSave } from "./support/torchsave.js";

const json = (v: unknown) => JSON.stringify(v);
const weightsOf = (fx: Fixture, part = "") => fx.weights.get(part)!.bytes;

/** ImageBind as upstream ships it: one torch.save .pth (here the vision, audio and text fixtures' tensors). */
function imagebindPth(): Uint8Array {
  const entries: [string, Tensor][] = [];
  for (const name of ["imagebind_vision", "imagebind_audio", "imagebind_text"]) {
    const w = loadFixture(name).weights.get("")!;
    for (const k of w.keys()) {
      if (entries.some(([e]) => e === k)) continue;
      const v = w.get(k);
      const storage = v instanceof Float32Array ? Storage.f32(v) : Storage.i64(v);
      entries.push([k, new Tensor(storage, w.shape(k))]);
    }
  }
  return torchSave(new OrderedDict(entries));
}

function inputs(): ConvertModelInput[] {
  const unet = loadFixture("audioldm_unet_tiny");
  const vae = loadFixture("audioldm_vae_decode");
  const voc = loadFixture("hifigan");
  const sd = loadFixture("sd_unet_tiny");
  const sdvae = loadFixture("sdvae_decode");
  const motion = loadFixture("motion_unet_tiny");
  return [
    {
      spec: "audioldm-m-full",
      id: "audioldm",
      components: ["unet", "vae", "vocoder"],
      tree: memoryTree({
        "unet/config.json": json(unet.meta.config),
        "unet/diffusion_pytorch_model.safetensors": weightsOf(unet),
        "vae/config.json": json(vae.meta.config),
        "vae/diffusion_pytorch_model.safetensors": weightsOf(vae),
        "vocoder/config.json": json(voc.meta.config),
        "vocoder/model.safetensors": weightsOf(voc),
      }),
    },
    {
      spec: "stable-diffusion-v1-5",
      id: "sd",
      components: ["unet", "vae"],
      tree: memoryTree({
        "unet/config.json": json(sd.meta.config),
        "unet/diffusion_pytorch_model.safetensors": weightsOf(sd),
        "vae/config.json": json(sdvae.meta.config),
        "vae/diffusion_pytorch_model.safetensors": weightsOf(sdvae),
      }),
    },
    {
      spec: "animatediff-motion-adapter-v1-5-2",
      id: "adapter",
      tree: memoryTree({
        "config.json": json(motion.meta.adapter_config),
        "diffusion_pytorch_model.safetensors": weightsOf(motion, "adapter"),
      }),
    },
    {
      spec: "imagebind-huge",
      id: "imagebind",
      components: ["imagebind"],
      tree: memoryTree({
        "config.json": json(loadFixture("imagebind_vision").meta.config),
        "imagebind_huge.pth": imagebindPth(),
      }),
    },
  ];
}

async function buildPack(quant: QuantChoice) {
  const sink = memorySink();
  await convertPack(inputs(), sink, { id: `golden-${quant}`, name: "golden", quant, q4BlockSize: 16 });
  return loadPackModels(memoryPack(sink.files));
}

const inputsOf = (fx: Fixture, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, fixtureInput(fx, k)]));

function programs(p: Record<string, Record<string, LoadedComponent>>): [string, Program][] {
  const unet = p.audioldm.unet.module as UNet2DConditionModel;
  const vae = p.audioldm.vae.module as AutoencoderKL;
  const voc = p.audioldm.vocoder.module as SpeechT5HifiGan;
  const sd = p.sd.unet.module as UNet2DConditionModel;
  const sdvae = p.sd.vae.module as AutoencoderKL;
  const ib = p.imagebind.imagebind.module as ImageBindModel;
  const ibProgram = (m: Modality): Program => ({
    inputs: inputsOf(loadFixture(`imagebind_${m === "vision" ? "vision" : m}`), ["in.x"]),
    forward: (ops, xs) => ({ "out.embedding": ib.forward(ops, m, xs["in.x"]).embedding }),
  });
  const decode = (model: AutoencoderKL, key: string, out: string): Program => ({
    inputs: {
      [key]: fixtureInput(loadFixture(out === "out.mel" ? "audioldm_vae_decode" : "sdvae_decode"), key),
    },
    forward: <T>(ops: Ops<T>, xs: Record<string, T>) => ({
      [out]: model.decode(ops, ops.mul(xs[key], 1 / model.config.scaling_factor)),
    }),
  });
  const sdvaeIn = loadFixture("sdvae_decode")
    .io!.keys()
    .find((k) => k.startsWith("in.") && k !== "in.probe")!;
  const sdvaeOut = loadFixture("sdvae_decode")
    .io!.keys()
    .find((k) => k.startsWith("out."))!;
  return [
    [
      "audioldm_unet_tiny",
      {
        inputs: inputsOf(loadFixture("audioldm_unet_tiny"), ["in.sample", "in.timestep", "in.class_labels"]),
        forward: (ops, xs) => ({
          "out.sample": unet.forward(ops, xs["in.sample"], xs["in.timestep"], {
            classLabels: xs["in.class_labels"],
          }),
        }),
      },
    ],
    ["audioldm_vae_decode", decode(vae, "in.latents", "out.mel")],
    [
      "hifigan",
      {
        inputs: inputsOf(loadFixture("hifigan"), ["in.mel"]),
        forward: (ops, xs) => ({ "out.waveform": voc.forward(ops, xs["in.mel"]) }),
      },
    ],
    [
      "sd_unet_tiny",
      {
        inputs: inputsOf(loadFixture("sd_unet_tiny"), [
          "in.sample",
          "in.timestep",
          "in.encoder_hidden_states",
        ]),
        forward: (ops, xs) => ({
          "out.sample": sd.forward(ops, xs["in.sample"], xs["in.timestep"], {
            encoderHiddenStates: xs["in.encoder_hidden_states"],
          }),
        }),
      },
    ],
    ["sdvae_decode", decode(sdvae, sdvaeIn, sdvaeOut)],
    ["imagebind_vision", ibProgram("vision")],
    ["imagebind_audio", ibProgram("audio")],
    ["imagebind_text", ibProgram("text")],
  ];
}

/** AnimateDiff's denoiser assembled from two pack components (SD UNet ∪ motion adapter, by key). */
function motionProgram(p: Record<string, Record<string, LoadedComponent>>): Program {
  const fx = loadFixture("motion_unet_tiny");
  const model = new UNetMotionModel(
    p.sd.unet.manifest.config,
    p.adapter.motion_adapter.manifest.config as Partial<MotionAdapterConfig>,
  );
  const from = new Map([...namedParams(p.sd.unet.module), ...namedParams(p.adapter.motion_adapter.module)]);
  for (const [k, param] of namedParams(model)) {
    const src = from.get(k);
    if (src?.q4) param.setQ4(src.q4);
    else if (src) param.set(src.values());
  }
  return {
    inputs: inputsOf(fx, ["in.sample", "in.timestep", "in.encoder_hidden_states"]),
    forward: (ops, xs) => ({
      "out.sample": model.forward(ops, xs["in.sample"], xs["in.timestep"], {
        encoderHiddenStates: xs["in.encoder_hidden_states"],
      }),
    }),
  };
}

describe.skipIf(!hasGolden())("packs built from the golden fixtures' upstream weight files", () => {
  it("fp32 pack: every fixture output reproduced through the model code, within the fixture's tolerance", {
    timeout: 300_000,
  }, async () => {
    const ort = ortNode as unknown as OrtModule;
    const pack = await buildPack("fp32");
    const all: [string, Program][] = [...programs(pack), ["motion_unet_tiny", motionProgram(pack)]];
    for (const [name, program] of all) {
      const fx = loadFixture(name);
      // the ONNX executor for all (fast on CPU); the tfjs executor (the gradient path) on the small ImageBind one
      const outs =
        name === "imagebind_audio" ? (await runTfjs(program)).outs : await runOnnx(program, ort, "fp32");
      for (const [key, got] of Object.entries(outs)) {
        const { rel } = relL2(got, fx.io!.get(key));
        expect(rel, `${name} ${key}`).toBeLessThanOrEqual(tolerance(fx, key));
      }
    }
  });

  it("fp16 and q4 packs through ONNX Runtime: fp16 close, q4 blocks used as stored and still close", {
    timeout: 300_000,
  }, async () => {
    const ort = ortNode as unknown as OrtModule;
    const errors: Record<string, number> = {};
    for (const quant of ["fp16", "q4"] as const) {
      const pack = await buildPack(quant);
      const [name, program] = programs(pack).find(([n]) => n === "sd_unet_tiny")!;
      if (quant === "q4") {
        const q = namedParams(pack.sd.unet.module).filter(([, p]) => p.q4);
        expect(q.length).toBeGreaterThan(50); // attention and feed-forward Linear weights
        expect(q.every(([, p]) => p.q4?.blockSize === 16)).toBe(true);
      }
      const outs = await runOnnx(program, ort, quant);
      errors[quant] = relL2(outs["out.sample"], loadFixture(name).io!.get("out.sample")).rel;
    }
    // measured: fp16 6.7e-4, q4 2.3e-2 (relative L2 vs the float64 reference)
    expect(errors.fp16).toBeLessThan(5e-3);
    expect(errors.q4).toBeLessThan(0.1);
    expect(errors.q4).toBeGreaterThan(errors.fp16);
  });
});
