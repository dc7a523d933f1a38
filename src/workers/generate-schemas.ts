/**
 * zod schemas of the studio's generation jobs (params and results), apart from their handlers so the protocol —
 * which the UI thread imports — pulls no engine code into the page.
 *
 *  - "generate" (engine worker): one task request on a pack (V2A/I2A/T2A, A2V, joint); events are the
 *    pipeline's (phase, prompt, step, preview, prompt-update); the result carries each run's waveform and/or
 *    frames (transferred).
 *  - "engine-memory" (engine worker): tfjs's memory counters, to check that a cancelled job freed what it held.
 */
import { z } from "zod";
import { bytesSchema, float32Schema } from "../engine/runtime/schema.js";

/** The tasks the generate job runs: the audio tasks, audio → video, and joint video + audio. */
export const GenerateTask = { T2A: "t2a", V2A: "v2a", I2A: "i2a", A2V: "a2v", Joint: "joint" } as const;
export type GenerateTaskType = (typeof GenerateTask)[keyof typeof GenerateTask];

export const RunNameSchema = z.enum(["vanilla", "guided"]);

/** Which pack the engine opens: the one this site serves (read in place over HTTP), or one installed in OPFS. */
export const PackChoiceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("bundled") }),
  z.object({ kind: z.literal("installed"), id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/) }),
]);
export type PackChoice = z.infer<typeof PackChoiceSchema>;

const optimizer = z.enum(["adam", "sgd"]);
const alignerCore = {
  enabled: z.boolean(),
  warmup: z.number(),
  iterations: z.number().int(),
  optimizer,
};

export const AlignerSettingsSchema = z.object({
  ...alignerCore,
  lambda: z.number(),
  weights: z.object({ text: z.number(), vision: z.number() }),
  promptTuning: z.object({ enabled: z.boolean(), lambda: z.number() }),
});

/** Decoded video frames (RGB24, [T, H, W, 3]) at the source frame rate. */
export const VideoFramesSchema = z.object({
  data: bytesSchema(),
  numFrames: z.number().int().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  fps: z.number().positive(),
});
export type VideoFramesMsg = z.infer<typeof VideoFramesSchema>;

export const RgbImageSchema = z.object({
  data: bytesSchema(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

/** Float PCM, one array per channel, at its own rate. */
export const AudioPcmSchema = z.object({
  channels: z.array(float32Schema()).min(1).max(16),
  sampleRate: z.number().int().positive(),
});

/** Fields every task shares. */
const common = {
  pack: PackChoiceSchema,
  prompt: z.string().max(2000),
  negativePrompt: z.string().max(2000).optional(),
  seed: z.number(),
  steps: z.number(),
  compare: z.boolean(),
  /** Forward passes on onnxruntime-web's WebGPU EP when the probe found WebGPU ("auto"), or on its wasm EP. */
  executor: z.enum(["auto", "wasm"]).optional(),
  /** The gradient path on tfjs's runtime backend (WebGPU on the shared device when present), or on tfjs-wasm. */
  gradExecutor: z.enum(["auto", "wasm", "onnx"]).optional(),
  /** Emit an x0 preview every N steps (0: never). */
  previewEvery: z.number().int().min(0).max(1000),
};

/** The generated video's shape (AnimateDiff): frames at a size that is a multiple of the VAE's factor. */
const videoOutput = {
  frames: z.number().int().positive(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  fps: z.number().positive(),
  decodeChunk: z.number().int().positive().optional(),
};

export const AudioGenerateSchema = z.object({
  ...common,
  task: z.enum([GenerateTask.T2A, GenerateTask.V2A, GenerateTask.I2A]),
  durationS: z.number().optional(),
  guidanceScale: z.number(),
  aligner: AlignerSettingsSchema,
  video: VideoFramesSchema.optional(),
  image: RgbImageSchema.optional(),
});

export const A2VGenerateSchema = z.object({
  ...common,
  ...videoOutput,
  task: z.literal(GenerateTask.A2V),
  audio: AudioPcmSchema,
  guidanceScale: z.number(),
  aligner: z.object({
    ...alignerCore,
    lambda: z.number(),
    weights: z.object({ audio: z.number(), text: z.number() }),
    promptTuning: z.object({ enabled: z.boolean(), lambda: z.number() }),
  }),
});

export const JointGenerateSchema = z.object({
  ...common,
  ...videoOutput,
  task: z.literal(GenerateTask.Joint),
  guidanceScale: z.object({ audio: z.number(), video: z.number() }),
  aligner: z.object({
    ...alignerCore,
    lambda: z.object({ audio: z.number(), video: z.number() }),
    weights: z.object({ "text-video": z.number(), "audio-video": z.number(), "text-audio": z.number() }),
    promptTuning: z.object({ audio: z.boolean(), video: z.boolean(), lambda: z.number() }),
  }),
});

export const GenerateParamsSchema = z.discriminatedUnion("task", [
  AudioGenerateSchema,
  A2VGenerateSchema,
  JointGenerateSchema,
]);
export type GenerateParams = z.infer<typeof GenerateParamsSchema>;
export type AudioGenerateParams = z.infer<typeof AudioGenerateSchema>;
export type A2VGenerateParams = z.infer<typeof A2VGenerateSchema>;
export type JointGenerateParams = z.infer<typeof JointGenerateSchema>;

/** One run's output: audio (audio tasks, joint), frames (A2V, joint), or both. */
export const GenerateRunSchema = z.object({
  waveform: float32Schema().optional(),
  sampleRate: z.number().int().positive().optional(),
  frames: VideoFramesSchema.optional(),
  scores: z.record(z.string(), z.number()),
  loss: z.number(),
  lossCurve: z.array(z.object({ i: z.number().int(), loss: z.number() })),
  /** How far guided prompt tuning moved each tuned prompt embedding. */
  promptNorms: z.record(z.string(), z.number()).optional(),
});
export type GenerateRun = z.infer<typeof GenerateRunSchema>;

export const GenerateResultSchema = z.object({
  task: z.enum([GenerateTask.T2A, GenerateTask.V2A, GenerateTask.I2A, GenerateTask.A2V, GenerateTask.Joint]),
  packId: z.string(),
  prompt: z.string(),
  autoPrompt: z.boolean(),
  /** Seconds of output (audio length, or frames / fps). */
  durationS: z.number(),
  runs: z.object({ vanilla: GenerateRunSchema.optional(), guided: GenerateRunSchema.optional() }),
  /** Where the forward passes (ORT EP) and the gradient path (tfjs backend) ran. */
  executors: z.object({ forward: z.string(), grad: z.string() }),
  /** Engine start-up (0 when the session's engine was reused) and the run itself. */
  loadMs: z.number(),
  runMs: z.number(),
});
export type GenerateResult = z.infer<typeof GenerateResultSchema>;

export const EngineMemorySchema = z.object({
  numTensors: z.number(),
  numBytes: z.number(),
  numDataBuffers: z.number(),
  /** Bytes the tfjs WebGPU backend holds on the GPU (absent on the wasm backend). */
  numBytesInGPU: z.number().optional(),
  /** Engines open in this worker (one per pack at most). */
  engines: z.number().int(),
  /**
   * GPU buffers ORT and tfjs hold on the worker's shared device, counted by the runtime
   * (engine/runtime/gpu-buffers.ts); absent on the wasm fallback.
   */
  gpuBuffers: z
    .object({
      live: z.number().int(),
      liveBytes: z.number(),
      created: z.number().int(),
      peakBytes: z.number(),
      byUsage: z.record(z.string(), z.object({ live: z.number().int(), liveBytes: z.number() })),
    })
    .optional(),
});
export type EngineMemory = z.infer<typeof EngineMemorySchema>;

export const empty = z.object({}).strict();
