/**
 * zod schemas of the studio's generation jobs (params and results), apart from their handlers so the protocol —
 * which the UI thread imports — pulls no engine code into the page.
 *
 *  - "generate" (engine worker): one task request on a pack; events are the pipeline's (phase, prompt, step,
 *    preview, prompt-update); the result carries one waveform per run (transferred).
 *  - "engine-memory" (engine worker): tfjs's memory counters, to check that a cancelled job freed what it held.
 */
import { z } from "zod";
import { bytesSchema, float32Schema } from "../engine/runtime/schema.js";

/** Tasks the generate job runs now; A2V and joint join this list when their pipelines land. */
export const GenerateTask = { T2A: "t2a", V2A: "v2a", I2A: "i2a" } as const;
export type GenerateTaskType = (typeof GenerateTask)[keyof typeof GenerateTask];

export const RunNameSchema = z.enum(["vanilla", "guided"]);

/** Which pack the engine opens: the one this site serves (read in place over HTTP), or one installed in OPFS. */
export const PackChoiceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("bundled") }),
  z.object({ kind: z.literal("installed"), id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/) }),
]);
export type PackChoice = z.infer<typeof PackChoiceSchema>;

export const AlignerSettingsSchema = z.object({
  enabled: z.boolean(),
  lambda: z.number(),
  warmup: z.number(),
  iterations: z.number().int(),
  optimizer: z.enum(["adam", "sgd"]),
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

export const RgbImageSchema = z.object({
  data: bytesSchema(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const GenerateParamsSchema = z.object({
  task: z.enum([GenerateTask.T2A, GenerateTask.V2A, GenerateTask.I2A]),
  pack: PackChoiceSchema,
  prompt: z.string().max(2000),
  negativePrompt: z.string().max(2000).optional(),
  durationS: z.number().optional(),
  seed: z.number(),
  steps: z.number(),
  guidanceScale: z.number(),
  aligner: AlignerSettingsSchema,
  compare: z.boolean(),
  /** Forward passes on onnxruntime-web's WebGPU EP when the probe found WebGPU ("auto"), or on its wasm EP. */
  executor: z.enum(["auto", "wasm"]).optional(),
  /** The gradient path on tfjs's runtime backend (WebGPU on the shared device when present), or on tfjs-wasm. */
  gradExecutor: z.enum(["auto", "wasm"]).optional(),
  /** Emit an x0 preview every N steps (0: never). */
  previewEvery: z.number().int().min(0).max(1000),
  video: VideoFramesSchema.optional(),
  image: RgbImageSchema.optional(),
});
export type GenerateParams = z.infer<typeof GenerateParamsSchema>;

export const GenerateRunSchema = z.object({
  waveform: float32Schema(),
  sampleRate: z.number().int().positive(),
  scores: z.record(z.string(), z.number()),
  loss: z.number(),
  lossCurve: z.array(z.object({ i: z.number().int(), loss: z.number() })),
  promptNorm: z.number().optional(),
});
export type GenerateRun = z.infer<typeof GenerateRunSchema>;

export const GenerateResultSchema = z.object({
  task: z.string(),
  packId: z.string(),
  prompt: z.string(),
  autoPrompt: z.boolean(),
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
});
export type EngineMemory = z.infer<typeof EngineMemorySchema>;

export const empty = z.object({}).strict();
