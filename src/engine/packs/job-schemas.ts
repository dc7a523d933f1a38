/**
 * zod schemas of the pack jobs' params and results, kept apart from the handlers (jobs.ts) so the worker
 * protocol — which the UI thread imports too — does not pull the converter, loader or models into the page.
 */
import { z } from "zod";
import type { PlanResult } from "./planner.js";
import { TASKS } from "./planner-phases.js";
import { MODEL_SPECS, type ModelSpecId } from "./specs.js";

const packId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "pack ids are lowercase letters, digits, '.', '_', '-'");
const fileSchema = z.custom<File>((v) => typeof File !== "undefined" && v instanceof File, {
  message: "expected a File",
});
const specIds = Object.keys(MODEL_SPECS) as [ModelSpecId, ...ModelSpecId[]];

export const PacksListResultSchema = z.object({
  packs: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      version: z.string(),
      bytes: z.number(),
      complete: z.boolean(),
      models: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          components: z.array(
            z.object({ id: z.string(), kind: z.string(), dtype: z.string(), quantization: z.string() }),
          ),
        }),
      ),
    }),
  ),
  storage: z.object({ usage: z.number(), quota: z.number() }).nullable(),
  persisted: z.boolean(),
});

export const PacksInstallParamsSchema = z.object({
  /** Base URLs of the pack folder (http(s) only; the app's CSP limits them to its own origin). */
  mirrors: z
    .array(
      z
        .string()
        .url()
        .regex(/^https?:\/\//, "mirrors are http(s) URLs"),
    )
    .min(1)
    .max(8),
  expectedId: packId.optional(),
});
export const PacksInstallResultSchema = z.object({
  id: z.string(),
  downloaded: z.number(),
  persisted: z.boolean(),
});

export const PacksConvertParamsSchema = z.object({
  model: z.enum(specIds),
  quant: z.enum(["fp32", "fp16", "q4"]),
  id: packId,
  name: z.string().min(1).max(200),
  /** The picked files with their paths relative to the picked folder (webkitRelativePath does not survive postMessage). */
  files: z
    .array(z.object({ path: z.string().min(1).max(1000), file: fileSchema }))
    .min(1)
    .max(10_000),
  variant: z.string().max(20).optional(),
  components: z.array(z.string().max(50)).max(20).optional(),
});
/** Convert straight from the model's repository (or a mirror with the same URL layout), read over HTTP Range. */
export const PacksConvertRemoteParamsSchema = z.object({
  model: z.enum(specIds),
  quant: z.enum(["fp32", "fp16", "q4"]),
  id: packId,
  name: z.string().min(1).max(200),
  /** Branch, tag or commit (default "main"). */
  revision: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,100}$/, "a revision is a branch, tag or commit id")
    .optional(),
  /** File URL template with {file} and {revision}; default the model's official one (specs.ts). */
  fileUrl: z
    .string()
    .url()
    .regex(/^https?:\/\/[^/]+\/.*\{file\}/, "a mirror is an http(s) URL template containing {file}")
    .optional(),
  variant: z.string().max(20).optional(),
  components: z.array(z.string().max(50)).max(20).optional(),
});

export const PacksConvertResultSchema = z.object({ id: z.string(), files: z.number(), bytes: z.number() });

export const PackIdParamsSchema = z.object({ id: packId });
export const PacksVerifyResultSchema = z.object({
  pack: z.string(),
  ok: z.array(z.string()),
  bad: z.array(z.object({ path: z.string(), reason: z.string() })),
});
export const EmptySchema = z.object({}).strict();

export const PacksLoadResultSchema = z.object({
  components: z.array(
    z.object({
      model: z.string(),
      component: z.string(),
      kind: z.string(),
      parameters: z.number(),
      bytes: z.number(),
    }),
  ),
  ms: z.number(),
});

export const TaskOptionsSchema = z.object({
  task: z.enum(TASKS),
  seconds: z.number().positive().max(600).optional(),
  frames: z.number().int().min(1).max(128).optional(),
  height: z.number().int().min(64).max(2048).optional(),
  width: z.number().int().min(64).max(2048).optional(),
  guidance: z.boolean().optional(),
  promptTuning: z.boolean().optional(),
  cfg: z.boolean().optional(),
  clips: z.number().int().min(1).max(16).optional(),
  decodeFrames: z.number().int().min(1).max(128).optional(),
  decodeChunk: z.number().int().min(1).max(128).optional(),
  onnxWeights: z.enum(["fp32", "fp16", "q4"]).optional(),
});
export const PacksEstimateParamsSchema = z.object({
  /** The packs a run would take its components from (first wins); default: every complete installed pack. */
  ids: z.array(packId).min(1).max(16).optional(),
  options: TaskOptionsSchema,
  limits: z.object({ budgetBytes: z.number().positive(), maxBufferSize: z.number().positive() }).optional(),
});
/** The estimate is plain data; its detailed shape is planner.ts `PlanResult`. */
export const PacksEstimateResultSchema = z.custom<PlanResult>(
  (v) => v !== null && typeof v === "object" && "ok" in v && "estimate" in v,
  { message: "expected a plan result" },
);
