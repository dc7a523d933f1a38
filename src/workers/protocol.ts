/**
 * The typed, validated message protocol between the UI thread and the workers (STYLE.md 11, 15).
 *
 *   UI → worker:  run {id, job, params} | cancel {id}
 *   worker → UI:  ready | heartbeat | event {id, event} | result {id, result} | error {id, error} | fatal {error}
 *                 | restart {reason}
 *
 * Every message is checked with zod on the receiving side: params and results against the job table below,
 * errors against `SerializedError` (rebuilt into typed errors with errors.ts). All payloads are
 * structured-clone safe; large buffers travel as transferables.
 */
import { z } from "zod";
import { ErrorCode, type SerializedError } from "../engine/errors.js";
import { MuxParamsSchema, MuxResultSchema } from "../engine/media/mux-job.js";
import {
  EmptySchema,
  PackIdParamsSchema,
  PacksConvertParamsSchema,
  PacksConvertRemoteParamsSchema,
  PacksConvertResultSchema,
  PacksEstimateParamsSchema,
  PacksEstimateResultSchema,
  PacksInstallParamsSchema,
  PacksInstallResultSchema,
  PacksListResultSchema,
  PacksLoadResultSchema,
  PacksVerifyResultSchema,
} from "../engine/packs/job-schemas.js";
import { JobEventSchema } from "../engine/runtime/job.js";
import { CapabilityReportSchema } from "../engine/runtime/report.js";
import { GradSelftestSchema } from "../engine/runtime/selftest/grad.js";
import { OnnxSelftestSchema } from "../engine/runtime/selftest/onnx.js";
import { OnnxGradSelftestSchema } from "../engine/runtime/selftest/onnx_grad.js";
import { SlowParamsSchema, SlowResultSchema } from "../engine/runtime/selftest/slow.js";
import {
  EngineMemorySchema,
  GenerateParamsSchema,
  GenerateResultSchema,
  empty as generateEmpty,
} from "./generate-schemas.js";
import {
  AvAlignParamsSchema,
  AvAlignResultSchema,
  DecodeParamsSchema,
  DecodeResultSchema,
} from "./media-schemas.js";

export const PROTOCOL_VERSION = 1;

export const WorkerName = { Engine: "engine", Media: "media" } as const;
export type WorkerNameType = (typeof WorkerName)[keyof typeof WorkerName];

const empty = z.object({}).strict();

/** Ways the crash self-test can take its worker down (each must be detected by the client). */
export const CrashMode = { Throw: "throw", Close: "close", Hang: "hang" } as const;

/** Every job: which worker hosts it, and the schemas of its params and result. Frozen (STYLE.md 14). */
export const jobTable = Object.freeze({
  probe: { worker: WorkerName.Engine, params: empty, result: CapabilityReportSchema },
  "selftest-onnx": { worker: WorkerName.Engine, params: empty, result: OnnxSelftestSchema },
  "selftest-grad": { worker: WorkerName.Engine, params: empty, result: GradSelftestSchema },
  "selftest-onnx-grad": { worker: WorkerName.Engine, params: empty, result: OnnxGradSelftestSchema },
  "selftest-slow": { worker: WorkerName.Engine, params: SlowParamsSchema, result: SlowResultSchema },
  "selftest-crash": {
    worker: WorkerName.Engine,
    params: z.object({ mode: z.enum([CrashMode.Throw, CrashMode.Close, CrashMode.Hang]) }),
    result: empty,
  },
  mux: { worker: WorkerName.Media, params: MuxParamsSchema, result: MuxResultSchema },
  // model packs (src/engine/packs/jobs.ts)
  "packs-list": { worker: WorkerName.Engine, params: empty, result: PacksListResultSchema },
  "packs-install": {
    worker: WorkerName.Engine,
    params: PacksInstallParamsSchema,
    result: PacksInstallResultSchema,
  },
  "packs-convert": {
    worker: WorkerName.Engine,
    params: PacksConvertParamsSchema,
    result: PacksConvertResultSchema,
  },
  "packs-convert-remote": {
    worker: WorkerName.Engine,
    params: PacksConvertRemoteParamsSchema,
    result: PacksConvertResultSchema,
  },
  "packs-verify": { worker: WorkerName.Engine, params: PackIdParamsSchema, result: PacksVerifyResultSchema },
  "packs-remove": { worker: WorkerName.Engine, params: PackIdParamsSchema, result: EmptySchema },
  "packs-load": { worker: WorkerName.Engine, params: PackIdParamsSchema, result: PacksLoadResultSchema },
  "packs-estimate": {
    worker: WorkerName.Engine,
    params: PacksEstimateParamsSchema,
    result: PacksEstimateResultSchema,
  },
  // the studio (generate, decode inputs, AV-align): workers/generate-job.ts, workers/media-jobs.ts
  generate: { worker: WorkerName.Engine, params: GenerateParamsSchema, result: GenerateResultSchema },
  "engine-memory": { worker: WorkerName.Engine, params: generateEmpty, result: EngineMemorySchema },
  decode: { worker: WorkerName.Media, params: DecodeParamsSchema, result: DecodeResultSchema },
  "av-align": { worker: WorkerName.Media, params: AvAlignParamsSchema, result: AvAlignResultSchema },
});

export type JobTable = typeof jobTable;
export type JobType = keyof JobTable;
export type JobParams<J extends JobType> = z.input<JobTable[J]["params"]>;
export type JobResult<J extends JobType> = z.output<JobTable[J]["result"]>;
export type JobsOf<W extends WorkerNameType> = {
  [J in JobType]: JobTable[J]["worker"] extends W ? J : never;
}[JobType];

export const jobTypes = Object.freeze(Object.keys(jobTable) as JobType[]);

export function isJobType(s: string): s is JobType {
  return Object.hasOwn(jobTable, s);
}

/** Longest job id (the client makes `<worker>-<n>`). */
export const MAX_ID_LENGTH = 64;
const id = z.string().min(1).max(MAX_ID_LENGTH);

export const SerializedErrorSchema = z.object({
  name: z.string(),
  code: z.enum(Object.values(ErrorCode) as [string, ...string[]]),
  message: z.string(),
  details: z
    .record(
      z.string(),
      z.union([
        z.string(),
        z.number(),
        z.boolean(),
        z.null(),
        // no `.readonly()`: zod freezes the input even when it fails the array check, and freezing a typed
        // array with elements throws (found by test/reliability/protocol.fuzz.test.ts)
        z.array(z.union([z.string(), z.number()])).transform((a): readonly (string | number)[] => a),
      ]),
    )
    .optional(),
  stack: z.string().optional(),
});

export const ToWorkerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("run"), id, job: z.string(), params: z.unknown() }),
  z.object({ kind: z.literal("cancel"), id }),
]);
export type ToWorker = z.infer<typeof ToWorkerSchema>;

export const FromWorkerSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("ready"),
    worker: z.enum([WorkerName.Engine, WorkerName.Media]),
    protocol: z.number(),
  }),
  z.object({ kind: z.literal("heartbeat") }),
  z.object({ kind: z.literal("event"), id, event: JobEventSchema }),
  z.object({ kind: z.literal("result"), id, result: z.unknown() }),
  z.object({ kind: z.literal("error"), id, error: SerializedErrorSchema }),
  /** The worker hit an error outside any job (e.g. an unhandled rejection); the client restarts it. */
  z.object({ kind: z.literal("fatal"), error: SerializedErrorSchema }),
  /** The worker cannot go on (its GPU device was lost) and asks to be replaced; its jobs were already failed. */
  z.object({ kind: z.literal("restart"), reason: z.string().max(2000) }),
]);
export type FromWorker = z.infer<typeof FromWorkerSchema>;

/** Validates `params` for `job`; returns a readable reason on failure. */
export function parseParams<J extends JobType>(
  job: J,
  params: unknown,
): { ok: true; value: z.output<JobTable[J]["params"]> } | { ok: false; reason: string } {
  const r = jobTable[job].params.safeParse(params);
  return r.success
    ? { ok: true, value: r.data as z.output<JobTable[J]["params"]> }
    : { ok: false, reason: z.prettifyError(r.error) };
}

export function parseResult<J extends JobType>(
  job: J,
  result: unknown,
): { ok: true; value: JobResult<J> } | { ok: false; reason: string } {
  const r = jobTable[job].result.safeParse(result);
  return r.success
    ? { ok: true, value: r.data as JobResult<J> }
    : { ok: false, reason: z.prettifyError(r.error) };
}

export function asSerializedError(e: z.infer<typeof SerializedErrorSchema>): SerializedError {
  return e as SerializedError;
}
