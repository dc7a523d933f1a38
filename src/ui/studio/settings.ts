/**
 * The generation form as data: its fields (kept as the strings the user typed), per-task defaults and presets,
 * validation with messages that say what to change, and the conversion to a "generate" request. The rules
 * between fields are the engine's own checks (`checkAudioRequest`, `checkA2VRequest`, `checkJointRequest`; the
 * worker runs them again at the boundary), so the form and the engine cannot disagree.
 */
import { StudioError } from "../../engine/errors.js";
import { checkA2VRequest, DEFAULT_A2V, DEFAULT_VIDEO_ALIGNER } from "../../engine/pipelines/a2v.js";
import { checkAudioRequest, DEFAULT_AUDIO_ALIGNER } from "../../engine/pipelines/audio_task.js";
import { checkJointRequest, DEFAULT_JOINT, DEFAULT_JOINT_ALIGNER } from "../../engine/pipelines/joint.js";
import type { GenerateParams, PackChoice } from "../../workers/generate-schemas.js";

export type StudioTaskId = "v2a" | "i2a" | "a2v" | "joint";

export type Optimizer = "adam" | "sgd";
export type Executor = "auto" | "wasm";
/** The gradient path: tfjs on WebGPU ("auto") or wasm, or ONNX Runtime on the forward's own executor ("onnx"). */
export type GradExecutor = Executor | "onnx";

export interface SettingsFields {
  prompt: string;
  negativePrompt: string;
  seed: string;
  steps: string;
  /** CFG scale (joint: AudioLDM's). */
  cfg: string;
  /** AnimateDiff's CFG scale (joint only). */
  cfgVideo: string;
  /** Also run vanilla with the same seed (compare mode). */
  compare: boolean;
  /** λ1 (joint: the audio latent's). */
  lambda: string;
  /** λ1 of the video latent (joint only). */
  lambdaVideo: string;
  warmup: string;
  iterations: string;
  optimizer: Optimizer;
  wText: string;
  /** Weight of the condition term: the video (V2A), image (I2A) or audio (A2V). */
  wCond: string;
  /** Joint triangle terms. */
  wTV: string;
  wAV: string;
  wTA: string;
  /** Guided prompt tuning (joint: of AudioLDM's prompt). */
  promptTuning: boolean;
  /** Guided prompt tuning of AnimateDiff's prompt (joint only). */
  promptTuningVideo: boolean;
  lambda2: string;
  /** Seconds of audio to generate (V2A/I2A); "" means the input's length (video) or 10 s. */
  durationS: string;
  /** The generated video (A2V, joint). */
  frames: string;
  width: string;
  height: string;
  fps: string;
  /** x0 preview every N steps. */
  previewEvery: string;
  /** "bundled" or "installed:<id>". */
  pack: string;
  executor: Executor;
  gradExecutor: GradExecutor;
}

export type FieldName = keyof SettingsFields;
export type FieldErrors = Partial<Record<FieldName | "input", string>>;

export const isVideoTask = (t: StudioTaskId) => t === "a2v" || t === "joint";

export const PresetId = { Official: "official", Fast: "fast" } as const;
export type PresetIdType = (typeof PresetId)[keyof typeof PresetId];

type Knobs = Omit<
  SettingsFields,
  "prompt" | "negativePrompt" | "seed" | "pack" | "executor" | "gradExecutor"
>;

const s = (n: number) => String(n);

/** What every task shares: compare mode on, previews every 5 steps, the length left to the input. */
const common = {
  compare: true,
  previewEvery: "5",
  durationS: "",
  wTV: "1",
  wAV: "1",
  wTA: "1",
  promptTuningVideo: false,
  lambdaVideo: s(DEFAULT_JOINT_ALIGNER.lambda.video),
  cfgVideo: s(DEFAULT_JOINT.guidanceScale.video),
} as const;

/** The video output's shape (AnimateDiff's paper setting: 16 frames at 512², 8 fps). */
const videoShape = {
  frames: s(DEFAULT_A2V.frames),
  width: s(DEFAULT_A2V.width),
  height: s(DEFAULT_A2V.height),
  fps: s(DEFAULT_A2V.fps),
} as const;

/**
 * V2A/I2A on AudioLDM: the official V2A script's 30 DDIM steps and CFG 2.5 (SPEC §2.4; the engine has no
 * constant for these, its requests always carry them), the aligner's defaults from the engine.
 */
const audioKnobs: Knobs = {
  ...common,
  ...videoShape,
  steps: "30",
  cfg: "2.5",
  lambda: s(DEFAULT_AUDIO_ALIGNER.lambda),
  warmup: s(DEFAULT_AUDIO_ALIGNER.warmup),
  iterations: s(DEFAULT_AUDIO_ALIGNER.iterations),
  optimizer: DEFAULT_AUDIO_ALIGNER.optimizer as Optimizer,
  wText: s(DEFAULT_AUDIO_ALIGNER.weights.text),
  wCond: s(DEFAULT_AUDIO_ALIGNER.weights.vision),
  promptTuning: DEFAULT_AUDIO_ALIGNER.promptTuning.enabled,
  lambda2: s(DEFAULT_AUDIO_ALIGNER.promptTuning.lambda),
};

/** The paper's settings per task (SPEC §4), from the engine's DEFAULT_* constants. */
const official: Readonly<Record<StudioTaskId, Knobs>> = {
  v2a: audioKnobs,
  i2a: audioKnobs,
  a2v: {
    ...common,
    ...videoShape,
    steps: s(DEFAULT_A2V.steps),
    cfg: s(DEFAULT_A2V.guidanceScale),
    lambda: s(DEFAULT_VIDEO_ALIGNER.lambda),
    warmup: s(DEFAULT_VIDEO_ALIGNER.warmup),
    iterations: s(DEFAULT_VIDEO_ALIGNER.iterations),
    optimizer: DEFAULT_VIDEO_ALIGNER.optimizer as Optimizer,
    wText: s(DEFAULT_VIDEO_ALIGNER.weights.text),
    wCond: s(DEFAULT_VIDEO_ALIGNER.weights.audio),
    promptTuning: DEFAULT_VIDEO_ALIGNER.promptTuning.enabled,
    lambda2: s(DEFAULT_VIDEO_ALIGNER.promptTuning.lambda),
  },
  joint: {
    ...common,
    frames: s(DEFAULT_JOINT.frames),
    width: s(DEFAULT_JOINT.width),
    height: s(DEFAULT_JOINT.height),
    fps: s(DEFAULT_JOINT.fps),
    steps: s(DEFAULT_JOINT.steps),
    cfg: s(DEFAULT_JOINT.guidanceScale.audio),
    cfgVideo: s(DEFAULT_JOINT.guidanceScale.video),
    lambda: s(DEFAULT_JOINT_ALIGNER.lambda.audio),
    lambdaVideo: s(DEFAULT_JOINT_ALIGNER.lambda.video),
    warmup: s(DEFAULT_JOINT_ALIGNER.warmup),
    iterations: s(DEFAULT_JOINT_ALIGNER.iterations),
    optimizer: DEFAULT_JOINT_ALIGNER.optimizer,
    wText: "1",
    wCond: "1",
    wTV: s(DEFAULT_JOINT_ALIGNER.weights["text-video"]),
    wAV: s(DEFAULT_JOINT_ALIGNER.weights["audio-video"]),
    wTA: s(DEFAULT_JOINT_ALIGNER.weights["text-audio"]),
    promptTuning: DEFAULT_JOINT_ALIGNER.promptTuning.audio,
    promptTuningVideo: DEFAULT_JOINT_ALIGNER.promptTuning.video,
    lambda2: s(DEFAULT_JOINT_ALIGNER.promptTuning.lambda),
  },
};

/** Small shapes for the bundled pack (small models trained on the world): seconds, not minutes. */
const fast = (t: StudioTaskId): Partial<Knobs> =>
  isVideoTask(t)
    ? { steps: "4", frames: "4", width: "64", height: "64", fps: "4", previewEvery: "1" }
    : { steps: "4", durationS: "1", previewEvery: "1" };

export interface Preset {
  label: string;
  description: string;
  fields: Partial<SettingsFields>;
}

const OFFICIAL_LABEL: Readonly<Record<StudioTaskId, string>> = {
  v2a: "Official V2A",
  i2a: "Official I2A",
  a2v: "Official A2V",
  joint: "Official joint",
};

/** A preset's knobs in words (the button's tooltip), from the values themselves. */
function describe(t: StudioTaskId, k: Knobs): string {
  const aligner = t === "joint" ? `λ ${k.lambda} (audio) / ${k.lambdaVideo} (video)` : `λ ${k.lambda}`;
  const cfg = t === "joint" ? `CFG ${k.cfg} / ${k.cfgVideo}` : `CFG ${k.cfg}`;
  const shape = isVideoTask(t)
    ? `, ${k.frames} frames at ${k.width}×${k.height} and ${k.fps} fps`
    : k.durationS
      ? `, ${k.durationS} s of audio`
      : "";
  return `${k.steps} steps, ${cfg}, ${aligner} with ${k.optimizer === "adam" ? "Adam" : "SGD"}, warm-up ${k.warmup}${shape}.`;
}

/** Presets change the sampling, aligner and shape knobs only, never the prompt, seed, pack or executors. */
export function presetsFor(t: StudioTaskId): Readonly<Record<PresetIdType, Preset>> {
  return {
    official: { label: OFFICIAL_LABEL[t], description: describe(t, official[t]), fields: official[t] },
    fast: {
      label: "Fast preview",
      description: `${describe(t, { ...official[t], ...fast(t) })} Right for the small bundled pack.`,
      fields: { ...official[t], ...fast(t) },
    },
  };
}

export function defaultFields(t: StudioTaskId): SettingsFields {
  // The gradient path defaults to ONNX Runtime (the embed path traced with its emitted backward, run on the
  // forward's executor): in Node ≈ 7× tfjs-wasm on the same full-size step (bench/results/2026-11-25-vm-guidance-ort.md).
  // tfjs-webgpu is not the default: it fails to compile a rank-5 kernel of the guidance path ("cannot index type
  // 'vec5'"). Prompt tuning differentiates through the UNet and stays on tfjs (wasm unless "auto").
  return {
    prompt: "",
    negativePrompt: "",
    seed: "0",
    pack: "bundled",
    executor: "auto",
    gradExecutor: "onnx",
    ...official[t],
  };
}

export function packChoice(pack: string): PackChoice {
  return pack.startsWith("installed:") ? { kind: "installed", id: pack.slice(10) } : { kind: "bundled" };
}

/** What the form knows about the picked input when it validates. */
export interface InputSummary {
  kind: "video" | "image" | "audio";
  ready: boolean;
  durationS: number | null;
}

/**
 * Stable Diffusion 1.5's VAE downsamples by 8 (every SD 1.5 pack, the bundled one included); the engine checks the
 * loaded pack's own factor again when the run starts (`videoGeometry`).
 */
const VAE_FACTOR = 8;

type Parsed = { ok: true; value: number } | { ok: false };

function num(
  s: string,
  opts: { int?: boolean; min?: number; max?: number; multipleOf?: number } = {},
): Parsed {
  if (s.trim() === "") return { ok: false };
  const v = Number(s);
  if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v))) return { ok: false };
  if (opts.min !== undefined && v < opts.min) return { ok: false };
  if (opts.max !== undefined && v > opts.max) return { ok: false };
  if (opts.multipleOf !== undefined && v % opts.multipleOf !== 0) return { ok: false };
  return { ok: true, value: v };
}

/** Which field an engine check message is about (the checks name the setting first). */
const MESSAGE_FIELDS: readonly [RegExp, FieldName | "input"][] = [
  [/^Steps|steps/, "steps"],
  [/^Audio CFG/, "cfg"],
  [/^CFG/, "cfg"],
  [/^Seed/, "seed"],
  [/^Duration/, "durationS"],
  [/^Warm-up/, "warmup"],
  [/^Inner iterations/, "iterations"],
  [/^Prompt-tuning/, "lambda2"],
  [/^video λ/, "lambdaVideo"],
  [/λ/, "lambda"],
  [/"text-video"/, "wTV"],
  [/"audio-video"/, "wAV"],
  [/"text-audio"/, "wTA"],
  [/weight|loss term/i, "wCond"],
  [/optimizer/, "optimizer"],
  [/^Frames/, "frames"],
  [/^Height/, "height"],
  [/^Width/, "width"],
  [/^Frame rate/, "fps"],
  [/needs a prompt|^The prompt/, "prompt"],
  [/negative prompt/, "negativePrompt"],
  [/needs an? (video|image|audio)|audio/, "input"],
];

type Media = "video" | "image" | "audio";
type WithoutMedia<T> = T extends unknown ? Omit<T, Media> : never;
/** A generate request before its media (`video`, `image`, `audio`) are attached. */
export type RequestWithoutMedia = WithoutMedia<GenerateParams>;

export interface Validated {
  errors: FieldErrors;
  request: RequestWithoutMedia | null;
}

const STAND_IN_VIDEO = { data: new Uint8Array(3), numFrames: 1, width: 1, height: 1, fps: 1 };
const STAND_IN_IMAGE = { data: new Uint8Array(3), width: 1, height: 1 };
const STAND_IN_AUDIO = { channels: [new Float32Array(16000)], sampleRate: 16000 };

/**
 * Checks the form for `task`: field by field first (every unparsable field gets its own message), then the
 * engine's check of the task for the rules between fields. Media are stand-ins: the check only asks whether
 * the condition is there; the real ones go with the request.
 */
export function validate(task: StudioTaskId, f: SettingsFields, input: InputSummary | null): Validated {
  const errors: FieldErrors = {};
  const field = (name: FieldName, p: Parsed, message: string): number => {
    if (!p.ok) errors[name] = message;
    return p.ok ? p.value : Number.NaN;
  };
  const video = isVideoTask(task);
  const seed = field(
    "seed",
    num(f.seed, { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    "Seed: a whole number ≥ 0.",
  );
  const steps = field(
    "steps",
    num(f.steps, { int: true, min: 1, max: 1000 }),
    "Steps: a whole number from 1 to 1000.",
  );
  const cfg = field("cfg", num(f.cfg, { min: 0, max: 50 }), "CFG: a number from 0 to 50.");
  const lambda = field("lambda", num(f.lambda, { min: 0 }), "λ: a number above 0.");
  const warmup = field("warmup", num(f.warmup, { min: 0, max: 0.99 }), "Warm-up: a fraction from 0 to 0.99.");
  const iterations = field(
    "iterations",
    num(f.iterations, { int: true, min: 1, max: 20 }),
    "Inner steps: 1 to 20.",
  );
  const wText = field("wText", num(f.wText, { min: 0 }), "Text weight: a number ≥ 0.");
  const wCond = field("wCond", num(f.wCond, { min: 0 }), "Weight: a number ≥ 0.");
  const anyTuning = f.promptTuning || (task === "joint" && f.promptTuningVideo);
  const lambda2 = anyTuning
    ? field("lambda2", num(f.lambda2, { min: 0, max: 1 }), "λ2: a number in (0, 1].")
    : 1e-3;
  const previewEvery = field(
    "previewEvery",
    num(f.previewEvery, { int: true, min: 0, max: 1000 }),
    "Preview every: whole steps (0: none).",
  );
  const durationS =
    video || f.durationS.trim() === ""
      ? undefined
      : field(
          "durationS",
          num(f.durationS, { min: 0.1, max: 60 }),
          "Length: seconds from 0.1 to 60, or empty.",
        );
  const shape = video
    ? {
        frames: field(
          "frames",
          num(f.frames, { int: true, min: 1, max: 64 }),
          "Frames: a whole number from 1 to 64.",
        ),
        width: field(
          "width",
          num(f.width, { int: true, min: VAE_FACTOR, max: 2048, multipleOf: VAE_FACTOR }),
          `Width: pixels, a multiple of ${VAE_FACTOR} up to 2048.`,
        ),
        height: field(
          "height",
          num(f.height, { int: true, min: VAE_FACTOR, max: 2048, multipleOf: VAE_FACTOR }),
          `Height: pixels, a multiple of ${VAE_FACTOR} up to 2048.`,
        ),
        fps: field("fps", num(f.fps, { min: 0.1, max: 60 }), "Frame rate: fps from 0.1 to 60."),
      }
    : null;
  const joint =
    task === "joint"
      ? {
          cfgVideo: field(
            "cfgVideo",
            num(f.cfgVideo, { min: 0, max: 50 }),
            "Video CFG: a number from 0 to 50.",
          ),
          lambdaVideo: field("lambdaVideo", num(f.lambdaVideo, { min: 0 }), "Video λ: a number above 0."),
          tv: field("wTV", num(f.wTV, { min: 0 }), "Text–video weight: a number ≥ 0."),
          av: field("wAV", num(f.wAV, { min: 0 }), "Audio–video weight: a number ≥ 0."),
          ta: field("wTA", num(f.wTA, { min: 0 }), "Text–audio weight: a number ≥ 0."),
        }
      : null;
  if (task !== "joint" && !input?.ready)
    errors.input = `Pick or drop ${task === "i2a" ? "an image" : task === "a2v" ? "an audio" : "a video"} file first.`;
  if (Object.keys(errors).length) return { errors, request: null };

  const base = {
    pack: packChoice(f.pack),
    prompt: f.prompt,
    negativePrompt: f.negativePrompt || undefined,
    seed,
    steps,
    compare: f.compare,
    executor: f.executor,
    gradExecutor: f.gradExecutor,
    previewEvery,
  };
  const core = { enabled: true, warmup, iterations, optimizer: f.optimizer };
  let request: GenerateParams;
  try {
    if (task === "a2v" && shape) {
      const aligner = {
        ...core,
        lambda,
        weights: { audio: wCond, text: wText },
        promptTuning: { enabled: f.promptTuning, lambda: lambda2 },
      };
      request = { ...base, ...shape, task, guidanceScale: cfg, aligner, audio: STAND_IN_AUDIO };
      checkA2VRequest({ ...request, negativePrompt: base.negativePrompt });
    } else if (task === "joint" && shape && joint) {
      const aligner = {
        ...core,
        lambda: { audio: lambda, video: joint.lambdaVideo },
        weights: { "text-video": joint.tv, "audio-video": joint.av, "text-audio": joint.ta },
        promptTuning: { audio: f.promptTuning, video: f.promptTuningVideo, lambda: lambda2 },
      };
      request = { ...base, ...shape, task, guidanceScale: { audio: cfg, video: joint.cfgVideo }, aligner };
      checkJointRequest(request);
    } else {
      const audioTask = task === "i2a" ? "i2a" : "v2a";
      const aligner = {
        ...core,
        lambda,
        weights: { text: wText, vision: wCond },
        promptTuning: { enabled: f.promptTuning, lambda: lambda2 },
      };
      request = {
        ...base,
        task: audioTask,
        durationS: durationS ?? (audioTask === "i2a" ? 10 : undefined),
        guidanceScale: cfg,
        aligner,
        ...(audioTask === "v2a" ? { video: STAND_IN_VIDEO } : { image: STAND_IN_IMAGE }),
      };
      checkAudioRequest(request);
    }
  } catch (e) {
    if (!(e instanceof StudioError)) throw e;
    const hit = MESSAGE_FIELDS.find(([re]) => re.test(e.message));
    errors[hit?.[1] ?? "input"] = e.message;
    return { errors, request: null };
  }
  if (request.task === "a2v") {
    const { audio: _a, ...rest } = request;
    return { errors, request: rest };
  }
  if (request.task !== "joint") {
    const { video: _v, image: _i, ...rest } = request;
    return { errors, request: rest };
  }
  return { errors, request };
}
