/**
 * The four Table-1 tasks on world clips, each run in compare mode (vanilla and guided from the same seed and
 * initial latent) through the studio's own pipelines and a pack:
 *   v2a   the clip's frames → audio;   prompt: the key-frame caption ("a red ball")           (SPEC §1.3)
 *   i2a   the clip's middle frame → audio; prompt: the key-frame caption
 *   a2v   the clip's sound → video;    prompt: the listener's caption ("a ball bouncing twice")
 *   joint the full caption → video and audio
 * Outputs are 2 s (the world's length): audio at the vocoder's 16 kHz, video 16 frames of 64×64 at 8 fps.
 */
import * as ortNode from "onnxruntime-node";
import type { BindKey } from "../../src/engine/eval/table.js";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import type { PackSource } from "../../src/engine/packs/loader.js";
import { DEFAULT_A2V, DEFAULT_VIDEO_ALIGNER, runA2VTask } from "../../src/engine/pipelines/a2v.js";
import { DEFAULT_AUDIO_ALIGNER, runAudioTask } from "../../src/engine/pipelines/audio_task.js";
import { DEFAULT_JOINT_ALIGNER, runJointTask } from "../../src/engine/pipelines/joint.js";
import { openAudioEngine, openJointEngine, openVideoEngine } from "../../src/engine/session.js";
import { keyFrame, type WorldClip } from "../../src/engine/world/clip.js";
import { WORLD } from "../../src/engine/world/spec.js";

export const TASKS = ["v2a", "i2a", "a2v", "joint"] as const;
export type EvalTask = (typeof TASKS)[number];

export interface Media {
  audio: { samples: Float32Array; sampleRate: number };
  video: { data: Uint8Array; numFrames: number; height: number; width: number; fps: number };
}

/** One method's output and its ImageBind scores; `media` is the pair AV-align and the evaluators see. */
export interface TaskOutput {
  media: Media;
  /** Which side of `media` the method generated. */
  generated: { audio: boolean; video: boolean };
  bind: Partial<Record<BindKey, number>>;
  prompt: string;
}

export interface EvalSettings {
  steps: number;
  /** CFG scale (audio model, video model). */
  cfgAudio: number;
  cfgVideo: number;
  /** λ1 of the aligner (audio latents, video latents). */
  lambdaAudio: number;
  lambdaVideo: number;
  warmup: number;
}

export const DEFAULT_EVAL_SETTINGS: Readonly<EvalSettings> = Object.freeze({
  steps: 20,
  cfgAudio: 2.5,
  cfgVideo: 7.5,
  lambdaAudio: DEFAULT_AUDIO_ALIGNER.lambda,
  lambdaVideo: DEFAULT_VIDEO_ALIGNER.lambda,
  warmup: DEFAULT_AUDIO_ALIGNER.warmup,
});

export interface TaskRunner {
  run(clip: WorldClip, seed: number): Promise<{ vanilla: TaskOutput; guided: TaskOutput }>;
  dispose(): Promise<void>;
}

const bindOf = (s: Record<string, number>): Partial<Record<BindKey, number>> => {
  const out: Partial<Record<BindKey, number>> = {};
  for (const k of ["AT-align_bind", "AV-align_bind", "VT-align_bind"] as const) if (k in s) out[k] = s[k];
  return out;
};

const videoOut = (frames: Uint8Array) => ({
  data: frames,
  numFrames: frames.length / (WORLD.width * WORLD.height * 3),
  height: WORLD.height,
  width: WORLD.width,
  fps: WORLD.fps,
});

/** `threads` > 0 caps ONNX Runtime's intra-op threads per session (two evals side by side on 2 cores: 1 each). */
export async function openTask(
  task: EvalTask,
  pack: PackSource,
  s: EvalSettings,
  threads = 0,
): Promise<TaskRunner> {
  const exec = {
    forward: {
      kind: "onnx" as const,
      ort: ortNode as unknown as OrtModule,
      weights: "fp32" as const,
      ...(threads > 0 ? { session: { intraOpNumThreads: threads } } : {}),
    },
    grad: new TfjsOps(),
    guidance: "onnx" as const, // the aligner's gradient on onnxruntime-node (test/pipelines/onnx_guidance.test.ts)
  };
  const geometry = {
    frames: WORLD.fps * WORLD.durationS,
    height: WORLD.height,
    width: WORLD.width,
    fps: WORLD.fps,
  };
  if (task === "v2a" || task === "i2a") {
    const engine = await openAudioEngine(pack, exec);
    return {
      async run(clip, seed) {
        const prompt = clip.keyFrameCaption;
        const res = await runAudioTask(engine, {
          task,
          prompt,
          negativePrompt: "",
          durationS: WORLD.durationS,
          seed,
          steps: s.steps,
          guidanceScale: s.cfgAudio,
          compare: true,
          video: task === "v2a" ? clip.video : undefined,
          image: task === "i2a" ? keyFrame(clip) : undefined,
          aligner: { ...DEFAULT_AUDIO_ALIGNER, lambda: s.lambdaAudio, warmup: s.warmup },
        });
        const out = (run: "vanilla" | "guided"): TaskOutput => {
          const r = res.runs[run]!;
          return {
            media: {
              audio: { samples: r.waveform, sampleRate: r.sampleRate },
              video: clip.video as Media["video"],
            },
            generated: { audio: true, video: false },
            bind: bindOf(r.scores),
            prompt,
          };
        };
        return { vanilla: out("vanilla"), guided: out("guided") };
      },
      dispose: () => engine.dispose(),
    };
  }
  if (task === "a2v") {
    const engine = await openVideoEngine(pack, exec);
    return {
      async run(clip, seed) {
        const prompt = clip.audioCaption;
        const res = await runA2VTask(engine, {
          ...DEFAULT_A2V,
          ...geometry,
          audio: { channels: [clip.audio], sampleRate: clip.sampleRate },
          prompt,
          negativePrompt: "",
          seed,
          steps: s.steps,
          guidanceScale: s.cfgVideo,
          compare: true,
          aligner: { ...DEFAULT_VIDEO_ALIGNER, lambda: s.lambdaVideo, warmup: s.warmup },
        });
        const out = (run: "vanilla" | "guided"): TaskOutput => {
          const r = res.runs[run]!;
          return {
            media: { audio: { samples: clip.audio, sampleRate: clip.sampleRate }, video: videoOut(r.frames) },
            generated: { audio: false, video: true },
            bind: bindOf(r.scores),
            prompt,
          };
        };
        return { vanilla: out("vanilla"), guided: out("guided") };
      },
      dispose: () => engine.dispose(),
    };
  }
  const engine = await openJointEngine(pack, exec);
  return {
    async run(clip, seed) {
      const prompt = clip.caption;
      const res = await runJointTask(engine, {
        ...geometry,
        prompt,
        negativePrompt: "",
        seed,
        steps: s.steps,
        guidanceScale: { audio: s.cfgAudio, video: s.cfgVideo },
        compare: true,
        aligner: {
          ...DEFAULT_JOINT_ALIGNER,
          lambda: { audio: s.lambdaAudio, video: s.lambdaVideo },
          warmup: s.warmup,
        },
      });
      const out = (run: "vanilla" | "guided"): TaskOutput => {
        const r = res.runs[run]!;
        return {
          media: { audio: { samples: r.waveform, sampleRate: res.sampleRate }, video: videoOut(r.frames) },
          generated: { audio: true, video: true },
          bind: bindOf(r.scores),
          prompt,
        };
      };
      return { vanilla: out("vanilla"), guided: out("guided") };
    },
    dispose: () => engine.dispose(),
  };
}
