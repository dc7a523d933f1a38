/**
 * The trained weights → the bundled default pack, through the packs code (convertPack over upstream-layout
 * trees, exactly as real checkpoints and the random default pack are converted): diffusers folders for AudioLDM
 * and Stable Diffusion, an adapter folder for AnimateDiff's motion modules, an ImageBind checkpoint.
 *
 *   node tools/run.mjs tools/train/build-pack.ts [--out .cache/train/pack] [--allow-untrained] [--quant fp16]
 *   node tools/run.mjs tools/train/build-pack.ts --out public/models/default      (replace the bundled pack)
 *
 * Inputs: the `final/` folders of the training jobs under --runs (default .cache/train). With
 * --allow-untrained, a job that has not finished contributes seeded random weights for ITS trained config (and
 * the pack's description says which), so the harness can run on a partly trained pack.
 */
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ClapTextModelWithProjection } from "../../src/engine/models/clap/model.js";
import { CLIPTextModel } from "../../src/engine/models/clip/model.js";
import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { MotionAdapter, UNetMotionModel } from "../../src/engine/models/diffusers/unet_motion_model.js";
import { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import { ImageBindModel } from "../../src/engine/models/imagebind/model.js";
import { IMAGEBIND_STUDIO_MODALITIES, imagebindPrefixes } from "../../src/engine/models/registry.js";
import { type ConvertModelInput, convertPack, type QuantChoice } from "../../src/engine/packs/convert.js";
import { clipHfFiles, DEFAULT_PACK, RANDOM_PACK } from "../../src/engine/packs/default-pack.js";
import { generateRobertaVocab } from "../../src/engine/packs/default-vocab.js";
import type { HasherFactory } from "../../src/engine/packs/sha256.js";
import { folderSink } from "../../src/engine/packs/sink-node.js";
import { type RawTensor, safetensorsFile, syntheticStateDict } from "../../src/engine/packs/synthetic.js";
import { memoryTree } from "../../src/engine/packs/tree.js";
import { gunzip } from "../../src/engine/preprocess/tokenizers/load.js";
import { SafetensorsFile } from "../../src/engine/weights/safetensors.js";
import {
  TRAINED_AUDIOLDM,
  TRAINED_IMAGEBIND,
  TRAINED_MOTION_ADAPTER,
  TRAINED_STABLE_DIFFUSION,
} from "./configs.js";
import { flags, run, TRAIN_ROOT } from "./lib/env.js";
import { PACK_JOBS } from "./lib/jobs.js";

const f = flags();
const runs = f.str("runs", TRAIN_ROOT);
const out = resolve(f.str("out", run("pack")));
const allowUntrained = f.has("allow-untrained");
const quant = f.str("quant", "fp16") as QuantChoice;
const untrained: string[] = [];
const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** A trained state dict (raw tensors, as stored) or, when allowed, seeded random weights for `module`. */
async function weights(
  job: string,
  file: string,
  module: object,
  keep: (k: string) => boolean = () => true,
): Promise<Uint8Array> {
  const p = join(runs, job, "final", `${file}.safetensors`);
  const bytes = await readFile(p).catch(() => null);
  if (!bytes) {
    if (!allowUntrained) throw new Error(`${p} is missing: finish the ${job} job or pass --allow-untrained`);
    untrained.push(`${job}/${file}`);
    return safetensorsFile(syntheticStateDict(module, RANDOM_PACK.seed, keep));
  }
  const st = new SafetensorsFile(new Uint8Array(bytes), p);
  const sd: Record<string, RawTensor> = {};
  for (const k of st.keys()) {
    if (!keep(k)) continue;
    const e = st.entry(k);
    sd[k] = { dtype: e.dtype, shape: e.shape, data: st.raw(k) };
  }
  return safetensorsFile(sd);
}

/** A VAE config with the scaling factor its training measured (the static config without it). */
async function vaeConfig(job: string, base: object): Promise<object> {
  const txt = await readFile(join(runs, job, "final", "config.json"), "utf8").catch(() => null);
  return txt ? (JSON.parse(txt) as object) : base;
}

const roberta = generateRobertaVocab();
const clapConfig = { ...TRAINED_AUDIOLDM.text_encoder, vocab_size: roberta.vocabSize };
const clipGz = new Uint8Array(await readFile("public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz"));
const clip = clipHfFiles(new TextDecoder().decode(await gunzip(clipGz)));
const A = TRAINED_AUDIOLDM;
const S = TRAINED_STABLE_DIFFUSION;
const aVae = await vaeConfig("audioldm-vae", A.vae);
const sVae = await vaeConfig("sd-vae", S.vae);
const motionUnet = new UNetMotionModel(S.unet, TRAINED_MOTION_ADAPTER);
const isMotion = (k: string) => k.includes("motion_modules");
const prefixes = imagebindPrefixes(IMAGEBIND_STUDIO_MODALITIES);

const audioldm = memoryTree({
  "model_index.json": json(A.model_index),
  "unet/config.json": json(A.unet),
  "unet/diffusion_pytorch_model.safetensors": await weights(
    "audioldm-ldm",
    "unet",
    new UNet2DConditionModel(A.unet),
  ),
  "vae/config.json": json(aVae),
  "vae/diffusion_pytorch_model.safetensors": await weights("audioldm-vae", "vae", new AutoencoderKL(aVae)),
  "vocoder/config.json": json(A.vocoder),
  "vocoder/model.safetensors": await weights("audioldm-vocoder", "vocoder", new SpeechT5HifiGan(A.vocoder)),
  "text_encoder/config.json": json(clapConfig),
  "text_encoder/model.safetensors": await weights(
    "audioldm-ldm",
    "text_encoder",
    new ClapTextModelWithProjection(clapConfig),
  ),
  "tokenizer/vocab.json": roberta.vocabJson,
  "tokenizer/merges.txt": roberta.mergesTxt,
  "tokenizer/tokenizer_config.json": json(A.tokenizer_config),
  "scheduler/scheduler_config.json": json(A.scheduler),
});
const sd = memoryTree({
  "model_index.json": json(S.model_index),
  "unet/config.json": json(S.unet),
  "unet/diffusion_pytorch_model.safetensors": await weights(
    "sd-unet",
    "unet",
    new UNet2DConditionModel(S.unet),
  ),
  "vae/config.json": json(sVae),
  "vae/diffusion_pytorch_model.safetensors": await weights("sd-vae", "vae", new AutoencoderKL(sVae)),
  "text_encoder/config.json": json(S.text_encoder),
  "text_encoder/model.safetensors": await weights(
    "sd-unet",
    "text_encoder",
    new CLIPTextModel(S.text_encoder),
  ),
  "tokenizer/vocab.json": clip.vocabJson,
  "tokenizer/merges.txt": clip.mergesTxt,
  "tokenizer/tokenizer_config.json": json(S.tokenizer_config),
  "scheduler/scheduler_config.json": json(S.scheduler),
});
// the motion job trains a whole UNetMotionModel; its motion modules are the adapter (same keys)
const adapterWeights = (await readFile(join(runs, "motion", "final", "unet.safetensors")).catch(() => null))
  ? await weights("motion", "unet", motionUnet, isMotion)
  : await weights("motion", "adapter", new MotionAdapter(TRAINED_MOTION_ADAPTER));
const adapter = memoryTree({
  "config.json": json(TRAINED_MOTION_ADAPTER),
  "diffusion_pytorch_model.safetensors": adapterWeights,
});
const imagebind = memoryTree({
  "config.json": json(TRAINED_IMAGEBIND),
  "imagebind.safetensors": await weights(
    "imagebind",
    "imagebind",
    new ImageBindModel(TRAINED_IMAGEBIND),
    (k) => prefixes.some((p) => k.startsWith(p)),
  ),
  "bpe_simple_vocab_16e6.txt.gz": clipGz,
});

const SOURCE = { repo: "seeing-hearing-studio/default-pack", revision: "trained-world-v1" };
const inputs: ConvertModelInput[] = [
  {
    spec: "audioldm-m-full",
    id: "audioldm",
    name: "AudioLDM topology (small, trained on the world)",
    tree: audioldm,
    ...SOURCE,
  },
  {
    spec: "stable-diffusion-v1-5",
    id: "stable-diffusion",
    name: "Stable Diffusion 1.5 topology (small, trained on the world)",
    tree: sd,
    ...SOURCE,
  },
  {
    spec: "animatediff-motion-adapter-v1-5-2",
    id: "motion-adapter",
    name: "AnimateDiff motion adapter topology (small, trained on the world)",
    tree: adapter,
    ...SOURCE,
  },
  {
    spec: "imagebind-huge",
    id: "imagebind",
    name: "ImageBind topology (small, trained on the world)",
    tree: imagebind,
    ...SOURCE,
  },
];
const hasher: HasherFactory = () => {
  const h = createHash("sha256");
  return { update: (b: Uint8Array) => h.update(b), digestHex: () => h.digest("hex") };
};
await rm(out, { recursive: true, force: true });
/** "job step/planned" from each job's done.json: how far the run behind this pack got (shown in the studio). */
async function provenance(): Promise<string> {
  const parts: string[] = [];
  for (const j of PACK_JOBS) {
    const txt = await readFile(join(runs, j, "done.json"), "utf8").catch(() => null);
    if (!txt) continue;
    const d = JSON.parse(txt) as { step: number; plannedSteps?: number };
    parts.push(`${j} ${d.step}${d.plannedSteps ? `/${d.plannedSteps}` : ""}`);
  }
  return parts.length ? ` Training steps reached: ${parts.join(", ")}.` : "";
}

const manifest = await convertPack(inputs, folderSink(out), {
  id: DEFAULT_PACK.id,
  name: untrained.length ? "Bundled default pack (world-trained, partly random)" : DEFAULT_PACK.name,
  version: DEFAULT_PACK.version,
  description:
    "Small models with the real AudioLDM, Stable Diffusion 1.5 + AnimateDiff and ImageBind topologies, trained on the studio's procedural audio-visual world (balls, drums, bells and birds whose sounds start at their visible events; docs/training.md)." +
    (await provenance()) +
    (untrained.length ? ` NOT TRAINED (random): ${untrained.join(", ")}.` : ""),
  quant,
  hasher,
});
// the budget counts the manifest too (as the default pack's test does): it indexes every tensor
const manifestBytes = (await readFile(join(out, "manifest.json"))).length;
const total = manifest.files.reduce((a, x) => a + x.size, 0) + manifestBytes;
for (const x of manifest.files)
  process.stdout.write(`${(x.size / 2 ** 20).toFixed(2).padStart(7)} MiB  ${x.path}\n`);
process.stdout.write(
  `${manifest.files.length} files + manifest (${(manifestBytes / 2 ** 20).toFixed(2)} MiB), ${(total / 2 ** 20).toFixed(2)} MiB → ${out}\n`,
);
if (untrained.length) process.stdout.write(`untrained (random) components: ${untrained.join(", ")}\n`);
if (total > 30 * 2 ** 20) {
  process.stderr.write(`pack is ${(total / 2 ** 20).toFixed(1)} MiB, over the 30 MiB budget\n`);
  process.exit(1);
}
