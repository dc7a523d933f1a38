/**
 * The generation form as data: its fields (kept as the strings the user typed), presets, validation with messages
 * that say what to change, and the conversion to a "generate" request. Semantic checks reuse the engine's own
 * `checkAudioRequest` (the worker runs it again at the boundary), so the form and the engine cannot disagree.
 */
import { StudioError } from "../../engine/errors.js";
import { type AudioRequest, checkAudioRequest } from "../../engine/pipelines/audio_task.js";
import type { GenerateParams, PackChoice } from "../../workers/generate-schemas.js";

export type StudioTaskId = "v2a" | "i2a" | "a2v" | "joint";

export type Optimizer = "adam" | "sgd";
export type Executor = "auto" | "wasm";

export interface SettingsFields {
  prompt: string;
  negativePrompt: string;
  seed: string;
  steps: string;
  cfg: string;
  /** Also run vanilla with the same seed (compare mode). */
  compare: boolean;
  lambda: string;
  warmup: string;
  iterations: string;
  optimizer: Optimizer;
  wText: string;
  wVision: string;
  promptTuning: boolean;
  lambda2: string;
  /** Seconds to generate; "" means the input's length (video) or 10 s. */
  durationS: string;
  /** x0 preview every N steps. */
  previewEvery: string;
  /** "bundled" or "installed:<id>". */
  pack: string;
  executor: Executor;
  gradExecutor: Executor;
}

export type FieldName = keyof SettingsFields;
export type FieldErrors = Partial<Record<FieldName | "input", string>>;

export const PresetId = { Official: "official", Fast: "fast" } as const;
export type PresetIdType = (typeof PresetId)[keyof typeof PresetId];

const official: Omit<
  SettingsFields,
  "prompt" | "negativePrompt" | "seed" | "pack" | "executor" | "gradExecutor"
> = {
  steps: "30",
  cfg: "2.5",
  compare: true,
  lambda: "0.1",
  warmup: "0.2",
  iterations: "1",
  optimizer: "adam",
  wText: "1",
  wVision: "1",
  promptTuning: false,
  lambda2: "0.001",
  durationS: "",
  previewEvery: "5",
};

/** Presets change the sampling and aligner knobs only, never the prompt, seed, pack or executors. */
export const presets: Readonly<
  Record<PresetIdType, { label: string; description: string; fields: Partial<SettingsFields> }>
> = Object.freeze({
  official: {
    label: "Official V2A",
    description:
      "The paper's settings: 30 DDIM steps, CFG 2.5, λ 0.1 with Adam, warm-up 0.2, one inner step.",
    fields: official,
  },
  fast: {
    label: "Fast preview",
    description: "4 steps on 1 s of audio, a preview every step: right for the small bundled pack.",
    fields: { ...official, steps: "4", durationS: "1", previewEvery: "1" },
  },
});

export function defaultFields(): SettingsFields {
  // The gradient path defaults to tfjs-wasm: tfjs-webgpu fails to compile a rank-5 kernel of the guidance path
  // ("cannot index type 'vec5'"), and on software WebGPU it is far slower. Forward passes use WebGPU when present.
  return {
    prompt: "",
    negativePrompt: "",
    seed: "0",
    pack: "bundled",
    executor: "auto",
    gradExecutor: "wasm",
    ...official,
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

type Parsed = { ok: true; value: number } | { ok: false };

function num(s: string, opts: { int?: boolean; min?: number; max?: number } = {}): Parsed {
  if (s.trim() === "") return { ok: false };
  const v = Number(s);
  if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v))) return { ok: false };
  if (opts.min !== undefined && v < opts.min) return { ok: false };
  if (opts.max !== undefined && v > opts.max) return { ok: false };
  return { ok: true, value: v };
}

/** Which field an engine check message is about (checkAudioRequest names the setting first). */
const MESSAGE_FIELDS: readonly [RegExp, FieldName | "input"][] = [
  [/^Steps/, "steps"],
  [/^CFG/, "cfg"],
  [/^Seed/, "seed"],
  [/^Duration/, "durationS"],
  [/^Warm-up/, "warmup"],
  [/^Inner iterations/, "iterations"],
  [/^Prompt-tuning/, "lambda2"],
  [/λ/, "lambda"],
  [/weight|loss term/i, "wVision"],
  [/optimizer/, "optimizer"],
  [/needs a prompt/, "prompt"],
  [/needs a (video|image)/, "input"],
];

export interface Validated {
  errors: FieldErrors;
  /** The request without its media, when there are no errors. */
  request: Omit<GenerateParams, "video" | "image"> | null;
}

/**
 * Checks the form for `task` (field by field first, so every unparsable field gets its own message, then the
 * engine's `checkAudioRequest` for the rules between fields).
 */
export function validate(task: StudioTaskId, f: SettingsFields, input: InputSummary | null): Validated {
  const errors: FieldErrors = {};
  const field = (name: FieldName, p: Parsed, message: string): number => {
    if (!p.ok) errors[name] = message;
    return p.ok ? p.value : Number.NaN;
  };
  const seed = field(
    "seed",
    num(f.seed, { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    "Seed: enter a whole number ≥ 0.",
  );
  const steps = field(
    "steps",
    num(f.steps, { int: true, min: 1, max: 1000 }),
    "Steps: enter a whole number from 1 to 1000.",
  );
  const cfg = field(
    "cfg",
    num(f.cfg, { min: 0, max: 50 }),
    "CFG: enter a number from 0 to 50 (2.5 is the paper's).",
  );
  const lambda = field(
    "lambda",
    num(f.lambda, { min: 0 }),
    "λ: enter a number above 0 (0.1 is the paper's).",
  );
  const warmup = field(
    "warmup",
    num(f.warmup, { min: 0, max: 0.99 }),
    "Warm-up: enter a fraction from 0 to 0.99.",
  );
  const iterations = field(
    "iterations",
    num(f.iterations, { int: true, min: 1, max: 20 }),
    "Inner iterations: 1 to 20.",
  );
  const wText = field("wText", num(f.wText, { min: 0 }), "Text weight: enter a number ≥ 0.");
  const wVision = field("wVision", num(f.wVision, { min: 0 }), "Vision weight: enter a number ≥ 0.");
  const lambda2 = f.promptTuning
    ? field("lambda2", num(f.lambda2, { min: 0, max: 1 }), "λ2: enter a number in (0, 1] (1e-3 works).")
    : 1e-3;
  const previewEvery = field(
    "previewEvery",
    num(f.previewEvery, { int: true, min: 0, max: 1000 }),
    "Preview every: a whole number of steps (0: none).",
  );
  const durationS =
    f.durationS.trim() === ""
      ? undefined
      : field(
          "durationS",
          num(f.durationS, { min: 0.1, max: 60 }),
          "Duration: seconds from 0.1 to 60, or empty for the input's length.",
        );
  if (task === "a2v" || task === "joint") errors.input = "This task's pipeline is not in the studio yet.";
  if (!input?.ready) errors.input ??= `Pick or drop ${task === "i2a" ? "an image" : "a video"} file first.`;
  if (Object.keys(errors).length) return { errors, request: null };

  const audioTask = task === "i2a" ? "i2a" : "v2a";
  const req: AudioRequest = {
    task: audioTask,
    prompt: f.prompt,
    negativePrompt: f.negativePrompt,
    durationS: durationS ?? (audioTask === "i2a" ? 10 : undefined),
    seed,
    steps,
    guidanceScale: cfg,
    compare: f.compare,
    aligner: {
      enabled: true,
      lambda,
      warmup,
      iterations,
      optimizer: f.optimizer,
      weights: { text: wText, vision: wVision },
      promptTuning: { enabled: f.promptTuning, lambda: lambda2 },
    },
    // stand-ins: the check only asks whether the condition is there (the real media go with the request)
    video:
      audioTask === "v2a"
        ? { data: new Uint8Array(3), numFrames: 1, width: 1, height: 1, fps: 1 }
        : undefined,
    image: audioTask === "i2a" ? { data: new Uint8Array(3), width: 1, height: 1 } : undefined,
  };
  try {
    checkAudioRequest(req);
  } catch (e) {
    if (!(e instanceof StudioError)) throw e;
    const hit = MESSAGE_FIELDS.find(([re]) => re.test(e.message));
    errors[hit?.[1] ?? "input"] = e.message;
    return { errors, request: null };
  }
  const { video: _v, image: _i, ...rest } = req;
  return {
    errors,
    request: {
      ...rest,
      task: audioTask,
      negativePrompt: f.negativePrompt || undefined,
      pack: packChoice(f.pack),
      executor: f.executor,
      gradExecutor: f.gradExecutor,
      previewEvery,
    },
  };
}
