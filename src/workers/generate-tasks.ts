/**
 * From a validated "generate" request to the engine pipeline that runs it (STYLE.md 12: one entry point over a
 * table of tasks): the request is checked by the pipeline's own check (before any weight loads), and each
 * pipeline's result is mapped onto the protocol's one result shape (waveform and/or frames per run).
 */
import { type A2VRequest, checkA2VRequest, runA2VTask } from "../engine/pipelines/a2v.js";
import { type AudioRequest, checkAudioRequest, runAudioTask } from "../engine/pipelines/audio_task.js";
import type { EventSink, RunName } from "../engine/pipelines/events.js";
import { checkJointRequest, type JointRequest, runJointTask } from "../engine/pipelines/joint.js";
import { audioOf, type EngineKind, type Engines, videoOf } from "./engine-cache.js";
import type {
  A2VGenerateParams,
  AudioGenerateParams,
  GenerateParams,
  GenerateResult,
  GenerateRun,
  JointGenerateParams,
} from "./generate-schemas.js";

export type TaskOutput = Pick<GenerateResult, "prompt" | "autoPrompt" | "durationS" | "runs">;

export interface TaskRun {
  kind: EngineKind;
  run(engines: Engines, opts: { signal: AbortSignal; onEvent: EventSink }): Promise<TaskOutput>;
}

const RUNS: readonly RunName[] = ["vanilla", "guided"];

function mapRuns<T>(runs: Partial<Record<RunName, T>>, f: (r: T) => GenerateRun): TaskOutput["runs"] {
  const out: TaskOutput["runs"] = {};
  for (const name of RUNS) {
    const r = runs[name];
    if (r) out[name] = f(r);
  }
  return out;
}

function need<T>(engine: T | null, what: string): T {
  if (!engine) throw new Error(`internal: the engine cache returned no ${what} engine`);
  return engine;
}

/**
 * The request fields every task shares, with the same type in each, copied from the protocol's params (which
 * also carry pack/executors); CFG scale and aligner settings differ per task and are copied by each task.
 */
const sampling = (p: GenerateParams) => ({
  prompt: p.prompt,
  negativePrompt: p.negativePrompt,
  seed: p.seed,
  steps: p.steps,
  compare: p.compare,
  previewEvery: p.previewEvery,
});

/** The generated video's shape (A2V, joint). */
const videoShape = (p: A2VGenerateParams | JointGenerateParams) => ({
  frames: p.frames,
  height: p.height,
  width: p.width,
  fps: p.fps,
  decodeChunk: p.decodeChunk,
});

function audioTask(p: AudioGenerateParams): TaskRun {
  const req: AudioRequest = {
    ...sampling(p),
    guidanceScale: p.guidanceScale,
    aligner: p.aligner,
    task: p.task,
    durationS: p.durationS,
    video: p.video,
    image: p.image,
  };
  checkAudioRequest(req);
  return {
    kind: "audio",
    run: async (engines, opts) => {
      const r = await runAudioTask(need(audioOf(engines), "audio"), req, opts);
      return {
        prompt: r.prompt,
        autoPrompt: r.autoPrompt,
        durationS: r.durationS,
        runs: mapRuns(r.runs, (x) => ({
          waveform: x.waveform,
          sampleRate: x.sampleRate,
          scores: x.scores,
          loss: x.loss,
          lossCurve: x.lossCurve,
          ...(x.promptNorm === undefined ? {} : { promptNorms: { audio: x.promptNorm } }),
        })),
      };
    },
  };
}

const framesOf = (data: Uint8Array, g: { frames: number; width: number; height: number; fps: number }) => ({
  data,
  numFrames: g.frames,
  width: g.width,
  height: g.height,
  fps: g.fps,
});

function a2vTask(p: A2VGenerateParams): TaskRun {
  const req: A2VRequest = {
    ...sampling(p),
    ...videoShape(p),
    guidanceScale: p.guidanceScale,
    aligner: p.aligner,
    audio: p.audio,
  };
  checkA2VRequest(req);
  return {
    kind: "video",
    run: async (engines, opts) => {
      const r = await runA2VTask(need(videoOf(engines), "video"), req, opts);
      return {
        prompt: r.prompt,
        autoPrompt: r.autoPrompt,
        durationS: r.geometry.durationS,
        runs: mapRuns(r.runs, (x) => ({
          frames: framesOf(x.frames, r.geometry),
          scores: x.scores,
          loss: x.loss,
          lossCurve: x.lossCurve,
          ...(x.promptNorm === undefined ? {} : { promptNorms: { video: x.promptNorm } }),
        })),
      };
    },
  };
}

function jointTask(p: JointGenerateParams): TaskRun {
  const req: JointRequest = {
    ...sampling(p),
    ...videoShape(p),
    guidanceScale: p.guidanceScale,
    aligner: p.aligner,
  };
  checkJointRequest(req);
  return {
    kind: "joint",
    run: async (engines, opts) => {
      if (engines.kind !== "joint") throw new Error("internal: joint generation needs the joint engine");
      const r = await runJointTask(engines.joint, req, opts);
      return {
        prompt: r.prompt,
        autoPrompt: false,
        durationS: r.durationS,
        runs: mapRuns(r.runs, (x) => ({
          waveform: x.waveform,
          sampleRate: r.sampleRate,
          frames: framesOf(x.frames, r.geometry),
          scores: x.scores,
          loss: x.loss,
          lossCurve: x.lossCurve,
          promptNorms: x.promptNorms,
        })),
      };
    },
  };
}

/** The pipeline for `p`, its request already checked. */
export function taskRequest(p: GenerateParams): TaskRun {
  if (p.task === "a2v") return a2vTask(p);
  if (p.task === "joint") return jointTask(p);
  return audioTask(p);
}
