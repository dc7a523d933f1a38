/**
 * Issue 11 item 1, settings and decoded conditions: every bad request is refused with a BadInputError whose
 * message names what to change, BEFORE anything loads (the engine handed to the pipeline is a tripwire that fails
 * on first touch; the worker's generate job never asks for the runtime), and the request is left as it was.
 * Odd-but-valid inputs (8 kHz mono, 44.1 kHz 6-channel, RGBA, one-frame videos, RTL/emoji prompts) pass the same
 * checks. Decoding real files (corrupt, truncated, unsupported, VFR, alpha, EXIF) is media-inputs.test.ts.
 */
import { describe, expect, it } from "vitest";
import { BadInputError } from "../../src/engine/errors.js";
import {
  type A2VRequest,
  checkA2VRequest,
  DEFAULT_VIDEO_ALIGNER,
  runA2VTask,
} from "../../src/engine/pipelines/a2v.js";
import type { AudioTaskEngine } from "../../src/engine/pipelines/audio_engine.js";
import {
  type AudioRequest,
  checkAudioRequest,
  DEFAULT_AUDIO_ALIGNER,
  runAudioTask,
} from "../../src/engine/pipelines/audio_task.js";
import { MAX_PROMPT_CHARS } from "../../src/engine/pipelines/checks.js";
import {
  checkJointRequest,
  DEFAULT_JOINT,
  DEFAULT_JOINT_ALIGNER,
  type JointEngine,
  type JointRequest,
  runJointTask,
} from "../../src/engine/pipelines/joint.js";
import type { VideoTaskEngine } from "../../src/engine/pipelines/video_engine.js";
import { generateJobs } from "../../src/workers/generate-job.js";
import type { GenerateParams } from "../../src/workers/generate-schemas.js";
import type { HostJobContext } from "../../src/workers/host.js";
import { parseParams } from "../../src/workers/protocol.js";
import { gradientImage, movingSquareVideo } from "../support/synthetic_media.js";

/** An engine that fails the test the moment anything touches it: the checks must come first. */
function tripwire<T extends object>(): { engine: T; touched: string[] } {
  const touched: string[] = [];
  const engine = new Proxy({} as T, {
    get(_t, key) {
      touched.push(String(key));
      throw new Error(`the engine was used (${String(key)}) before the request was checked`);
    },
  });
  return { engine, touched };
}

const aligner = () => ({
  ...DEFAULT_AUDIO_ALIGNER,
  weights: { ...DEFAULT_AUDIO_ALIGNER.weights },
  promptTuning: { ...DEFAULT_AUDIO_ALIGNER.promptTuning },
});

const audioReq = (over: Partial<AudioRequest> = {}): AudioRequest => ({
  task: "v2a",
  prompt: "a red ball bouncing",
  seed: 7,
  steps: 4,
  guidanceScale: 2.5,
  aligner: aligner(),
  compare: true,
  video: movingSquareVideo(1, 4),
  ...over,
});

const tone = (seconds: number, rate: number, channels = 1): Float32Array[] =>
  Array.from({ length: channels }, (_, c) =>
    Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.5 * Math.sin((i * (c + 1)) / 7)),
  );

const a2vReq = (over: Partial<A2VRequest> = {}): A2VRequest => ({
  audio: { channels: tone(1, 16000), sampleRate: 16000 },
  prompt: "a drum",
  seed: 1,
  steps: 2,
  guidanceScale: 7.5,
  frames: 8,
  height: 64,
  width: 64,
  fps: 8,
  aligner: {
    ...DEFAULT_VIDEO_ALIGNER,
    weights: { ...DEFAULT_VIDEO_ALIGNER.weights },
    promptTuning: { ...DEFAULT_VIDEO_ALIGNER.promptTuning },
  },
  compare: false,
  ...over,
});

const jointReq = (over: Partial<JointRequest> = {}): JointRequest => ({
  ...DEFAULT_JOINT,
  frames: 8,
  height: 64,
  width: 64,
  prompt: "a bell rings",
  seed: 1,
  steps: 2,
  guidanceScale: { ...DEFAULT_JOINT.guidanceScale },
  aligner: {
    ...DEFAULT_JOINT_ALIGNER,
    lambda: { ...DEFAULT_JOINT_ALIGNER.lambda },
    weights: { ...DEFAULT_JOINT_ALIGNER.weights },
    promptTuning: { ...DEFAULT_JOINT_ALIGNER.promptTuning },
  },
  compare: false,
  ...over,
});

type Case<R> = [label: string, over: (r: R) => Partial<R>, message: RegExp];

const longPrompt = "a dog barks ".repeat(Math.ceil((MAX_PROMPT_CHARS + 1) / 12));

/** Settings and conditions of the audio tasks (T2A, V2A, I2A), each with the message it must give. */
const AUDIO_CASES: Case<AudioRequest>[] = [
  ["steps 0", () => ({ steps: 0 }), /Steps must be an integer from 1 to 1000 \(got 0\)/],
  ["steps -3", () => ({ steps: -3 }), /Steps must be/],
  ["steps 2.5", () => ({ steps: 2.5 }), /Steps must be/],
  ["steps 1001", () => ({ steps: 1001 }), /Steps must be/],
  ["steps NaN", () => ({ steps: Number.NaN }), /Steps must be/],
  ["steps ∞", () => ({ steps: Number.POSITIVE_INFINITY }), /Steps must be/],
  ["CFG -1", () => ({ guidanceScale: -1 }), /CFG scale must be between 0 and 50 \(got -1\)/],
  ["CFG 51", () => ({ guidanceScale: 51 }), /CFG scale must be between 0 and 50/],
  ["CFG NaN", () => ({ guidanceScale: Number.NaN }), /CFG scale/],
  ["seed -1", () => ({ seed: -1 }), /Seed must be a non-negative integer/],
  ["seed 0.5", () => ({ seed: 0.5 }), /Seed must be/],
  ["seed 2^60", () => ({ seed: 2 ** 60 }), /Seed must be/],
  ["seed NaN", () => ({ seed: Number.NaN }), /Seed must be/],
  ["duration 0", () => ({ durationS: 0 }), /Duration must be between 0 and 60 seconds/],
  ["duration -2", () => ({ durationS: -2 }), /Duration must be/],
  ["duration 61", () => ({ durationS: 61 }), /Duration must be/],
  ["duration NaN", () => ({ durationS: Number.NaN }), /Duration must be/],
  ["λ 0", (r) => ({ aligner: { ...r.aligner, lambda: 0 } }), /Aligner λ must be in \(0, 10\]/],
  ["λ 11", (r) => ({ aligner: { ...r.aligner, lambda: 11 } }), /Aligner λ/],
  ["λ NaN", (r) => ({ aligner: { ...r.aligner, lambda: Number.NaN } }), /Aligner λ/],
  ["warm-up -0.1", (r) => ({ aligner: { ...r.aligner, warmup: -0.1 } }), /Warm-up must be in \[0, 1\)/],
  ["warm-up 1", (r) => ({ aligner: { ...r.aligner, warmup: 1 } }), /Warm-up/],
  ["iterations 0", (r) => ({ aligner: { ...r.aligner, iterations: 0 } }), /Inner iterations must be 1–20/],
  ["iterations 21", (r) => ({ aligner: { ...r.aligner, iterations: 21 } }), /Inner iterations/],
  ["iterations 1.5", (r) => ({ aligner: { ...r.aligner, iterations: 1.5 } }), /Inner iterations/],
  [
    "optimizer lbfgs",
    (r) => ({ aligner: { ...r.aligner, optimizer: "lbfgs" as "adam" } }),
    /optimizer must be "adam" or "sgd"/,
  ],
  [
    "weight -1",
    (r) => ({ aligner: { ...r.aligner, weights: { text: -1, vision: 1 } } }),
    /weights must be ≥ 0/,
  ],
  [
    "weight NaN",
    (r) => ({ aligner: { ...r.aligner, weights: { text: Number.NaN, vision: 1 } } }),
    /weights must be ≥ 0/,
  ],
  [
    "all weights 0",
    (r) => ({ aligner: { ...r.aligner, weights: { text: 0, vision: 0 } } }),
    /Every aligner loss term is switched off/,
  ],
  [
    "λ2 0",
    (r) => ({ aligner: { ...r.aligner, promptTuning: { enabled: true, lambda: 0 } } }),
    /Prompt-tuning λ2 must be in \(0, 1\]/,
  ],
  [
    "λ2 2",
    (r) => ({ aligner: { ...r.aligner, promptTuning: { enabled: true, lambda: 2 } } }),
    /Prompt-tuning λ2/,
  ],
  ["over-long prompt", () => ({ prompt: longPrompt }), /The prompt is \d+ characters long: shorten it/],
  [
    "over-long negative prompt",
    () => ({ negativePrompt: longPrompt }),
    /The negative prompt is \d+ characters long/,
  ],
  ["prompt not text", () => ({ prompt: null as unknown as string }), /The prompt must be text \(got null\)/],
  ["T2A empty prompt", () => ({ task: "t2a", prompt: "" }), /Text→audio needs a prompt/],
  ["T2A blank prompt", () => ({ task: "t2a", prompt: " \t\n\u3000" }), /Text→audio needs a prompt/],
  ["V2A without video", () => ({ video: undefined }), /Video→audio needs a video/],
  ["I2A without image", () => ({ task: "i2a", video: undefined }), /Image→audio needs an image/],
  [
    "frames that do not match their bytes",
    () => ({ video: { ...movingSquareVideo(1, 4), numFrames: 5 } }),
    /condition video: \d+ bytes do not hold 5 frames of 32×24×3: decode the file again/,
  ],
  [
    "no frames",
    () => ({ video: { data: new Uint8Array(0), numFrames: 0, width: 32, height: 24, fps: 4 } }),
    /condition video has no frames/,
  ],
  [
    "frame rate 0",
    () => ({ video: { ...movingSquareVideo(1, 4), fps: 0 } }),
    /no usable frame rate \(0 fps\): re-encode it/,
  ],
  ["frame rate NaN", () => ({ video: { ...movingSquareVideo(1, 4), fps: Number.NaN } }), /frame rate/],
  [
    "frame rate ∞",
    () => ({ video: { ...movingSquareVideo(1, 4), fps: Number.POSITIVE_INFINITY } }),
    /frame rate/,
  ],
  [
    "0×0 frames",
    () => ({ video: { data: new Uint8Array(0), numFrames: 3, width: 0, height: 0, fps: 4 } }),
    /has no pixels \(0×0\)/,
  ],
  [
    "a 1×100 strip",
    () => ({ video: { data: new Uint8Array(4 * 100 * 3), numFrames: 4, width: 1, height: 100, fps: 4 } }),
    /is 1×100, wider than 20:1: crop it/,
  ],
  [
    "over 10 minutes",
    () => ({ video: { data: new Uint8Array(6001 * 3), numFrames: 6001, width: 1, height: 1, fps: 10 } }),
    /longer than 10 minutes: trim it/,
  ],
  [
    "I2A 0×0 image",
    () => ({ task: "i2a", video: undefined, image: { data: new Uint8Array(0), width: 0, height: 0 } }),
    /condition image has no pixels/,
  ],
  [
    "I2A pixels that do not match",
    () => ({ task: "i2a", video: undefined, image: { data: new Uint8Array(10), width: 4, height: 4 } }),
    /10 bytes do not hold 4×4×3 pixels/,
  ],
  [
    "I2A 5000×2 panorama",
    () => ({ task: "i2a", video: undefined, image: { data: new Uint8Array(30000), width: 5000, height: 2 } }),
    /is 5000×2, wider than 20:1/,
  ],
  [
    "initial latent with NaN",
    () => ({ initLatent: Float32Array.of(0, Number.NaN) }),
    /initial latent contains non-finite values/,
  ],
];

const A2V_CASES: Case<A2VRequest>[] = [
  ["no audio", () => ({ audio: { channels: [], sampleRate: 16000 } }), /needs an audio clip/],
  [
    "sample rate 500 Hz",
    () => ({ audio: { channels: tone(1, 500), sampleRate: 500 } }),
    /sample rate must be 1–384 kHz \(got 500 Hz\): resample it/,
  ],
  [
    "sample rate NaN",
    () => ({ audio: { channels: tone(1, 8000), sampleRate: Number.NaN } }),
    /sample rate must be/,
  ],
  [
    "channels of different lengths",
    () => ({ audio: { channels: [new Float32Array(8000), new Float32Array(7999)], sampleRate: 8000 } }),
    /channels differ in length/,
  ],
  [
    "10 ms",
    () => ({ audio: { channels: tone(0.01, 16000), sampleRate: 16000 } }),
    /too short \(10\.0 ms\): ImageBind needs at least 25 ms/,
  ],
  [
    "over 10 minutes",
    () => ({ audio: { channels: tone(601, 1000), sampleRate: 1000 } }),
    /longer than 10 minutes: trim it/,
  ],
  [
    "65 channels",
    () => ({ audio: { channels: tone(0.1, 8000, 65), sampleRate: 8000 } }),
    /65 channels; at most 64/,
  ],
  [
    "a NaN sample",
    () => {
      const ch = tone(1, 8000, 2);
      ch[1][4000] = Number.NaN;
      return { audio: { channels: ch, sampleRate: 8000 } };
    },
    /non-finite sample \(NaN\) at 0\.500 s of channel 2: re-export it as PCM/,
  ],
  [
    "an infinite sample",
    () => {
      const ch = tone(1, 8000);
      ch[0][0] = Number.POSITIVE_INFINITY;
      return { audio: { channels: ch, sampleRate: 8000 } };
    },
    /non-finite sample \(Infinity\)/,
  ],
  ["steps 0", () => ({ steps: 0 }), /Steps must be/],
  ["CFG 60", () => ({ guidanceScale: 60 }), /CFG scale/],
  ["decode chunk 0", () => ({ decodeChunk: 0 }), /Decode chunk must be a positive number/],
  ["clip duration 11 s", () => ({ audioClipDuration: 11 }), /Audio clip duration must be in \(0, 10\]/],
  ["over-long prompt", () => ({ prompt: longPrompt }), /shorten it/],
  ["all weights 0", (r) => ({ aligner: { ...r.aligner, weights: { audio: 0, text: 0 } } }), /switched off/],
];

const JOINT_CASES: Case<JointRequest>[] = [
  ["empty prompt", () => ({ prompt: "" }), /Joint generation needs a prompt/],
  ["over-long prompt", () => ({ prompt: longPrompt }), /shorten it/],
  ["audio steps ≠ steps", () => ({ audioSteps: 3 }), /ONE step count/],
  [
    "audio CFG -1",
    (r) => ({ guidanceScale: { ...r.guidanceScale, audio: -1 } }),
    /Audio CFG scale must be between 0 and 50/,
  ],
  [
    "audio λ1 0",
    (r) => ({ aligner: { ...r.aligner, lambda: { audio: 0, video: 0.01 } } }),
    /audio λ1 must be in \(0, 10\]/,
  ],
  ["warm-up 1", (r) => ({ aligner: { ...r.aligner, warmup: 1 } }), /Warm-up/],
  [
    "no triangle term",
    (r) => ({ aligner: { ...r.aligner, weights: { "text-video": 0, "audio-video": 0, "text-audio": 0 } } }),
    /switched off/,
  ],
  [
    "initial video latent ∞",
    () => ({ initLatents: { video: Float32Array.of(Number.NEGATIVE_INFINITY) } }),
    /non-finite/,
  ],
];

/** The request as it was (typed arrays compared by value). */
const snapshot = <T>(r: T): T => structuredClone(r);

async function refused<R>(run: () => Promise<unknown>, req: R, before: R, message: RegExp): Promise<void> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BadInputError);
  expect((err as Error).message).toMatch(message);
  expect(req).toEqual(before); // the inputs are left intact
}

describe("bad settings and conditions are refused before anything loads", () => {
  it.each(AUDIO_CASES)("audio task: %s", async (_label, over, message) => {
    const base = audioReq();
    const req = { ...base, ...over(base) };
    const before = snapshot(req);
    const { engine, touched } = tripwire<AudioTaskEngine>();
    await refused(() => runAudioTask(engine, req), req, before, message);
    expect(touched).toEqual([]);
  });

  it.each(A2V_CASES)("audio → video: %s", async (_label, over, message) => {
    const base = a2vReq();
    const req = { ...base, ...over(base) };
    const before = snapshot(req);
    const { engine, touched } = tripwire<VideoTaskEngine>();
    await refused(() => runA2VTask(engine, req), req, before, message);
    expect(touched).toEqual([]);
  });

  it.each(JOINT_CASES)("joint: %s", async (_label, over, message) => {
    const base = jointReq();
    const req = { ...base, ...over(base) };
    const before = snapshot(req);
    const { engine, touched } = tripwire<JointEngine>();
    await refused(() => runJointTask(engine, req), req, before, message);
    expect(touched).toEqual([]);
  });

  it("odd but valid conditions and prompts pass the same checks", () => {
    const prompts = [
      "", // V2A/I2A/A2V: the automatic prompt
      "כלב נובח ליד הים", // Hebrew (RTL)
      "صوت المطر على النافذة", // Arabic (RTL)
      "🐕🔔🥁 dog + bell + drum 🎶",
      "👩‍👩‍👧‍👦 family laughing, 🏳️‍🌈 flag flapping", // ZWJ sequences
      "雨の音と雷",
      "e\u0301te\u0301 cafe\u0301", // combining marks
      "\u202Eevil override\u202C and \u200Bzero width",
      "a\u0000b\u0007c", // control characters
      "lone \uD800 surrogate",
      "x".repeat(MAX_PROMPT_CHARS),
    ];
    for (const prompt of prompts) {
      expect(() => checkAudioRequest(audioReq({ prompt }))).not.toThrow();
      expect(() => checkA2VRequest(a2vReq({ prompt }))).not.toThrow();
      if (prompt.trim()) expect(() => checkJointRequest(jointReq({ prompt }))).not.toThrow();
    }
    const videos = [
      movingSquareVideo(1, 4),
      { data: new Uint8Array(3), numFrames: 1, width: 1, height: 1, fps: 30 }, // one 1×1 frame
      {
        data: new Uint8Array(2 * 8 * 6 * 4),
        numFrames: 2,
        width: 8,
        height: 6,
        fps: 0.5,
        channels: 4 as const,
      },
      { data: new Uint8Array(3 * 20 * 1 * 3), numFrames: 3, width: 20, height: 1, fps: 1000 }, // 20:1 exactly
    ];
    for (const video of videos) expect(() => checkAudioRequest(audioReq({ video }))).not.toThrow();
    const images = [
      gradientImage(),
      { data: new Uint8Array(3), width: 1, height: 1 },
      { data: new Uint8Array(5 * 7 * 4), width: 5, height: 7, channels: 4 as const }, // RGBA
    ];
    for (const image of images)
      expect(() => checkAudioRequest(audioReq({ task: "i2a", video: undefined, image }))).not.toThrow();
    const audios = [
      { channels: tone(1, 8000), sampleRate: 8000 }, // 8 kHz mono
      { channels: tone(0.5, 44100, 6), sampleRate: 44100 }, // 44.1 kHz 5.1
      { channels: tone(0.3, 11025, 2), sampleRate: 11025 },
      { channels: tone(0.2, 96000, 8), sampleRate: 96000 },
      { channels: tone(0.025, 16000), sampleRate: 16000 }, // exactly one fbank window
    ];
    for (const audio of audios) expect(() => checkA2VRequest(a2vReq({ audio }))).not.toThrow();
  });
});

describe("the worker's generate job refuses bad requests before it starts the runtime", () => {
  const frames = (n = 0) => {
    const v = movingSquareVideo(1, 4);
    return { ...v, data: new Uint8Array(v.data), ...(n ? { numFrames: n } : {}) };
  };
  type AudioParams = Extract<GenerateParams, { task: "v2a" | "i2a" | "t2a" }>;
  const params = (over: Partial<AudioParams> = {}): AudioParams => ({
    task: "v2a",
    pack: { kind: "bundled" },
    prompt: "",
    seed: 0,
    steps: 2,
    guidanceScale: 2.5,
    aligner: aligner(),
    compare: false,
    previewEvery: 0,
    video: frames(),
    ...over,
  });
  const ctx = (): HostJobContext => ({
    signal: new AbortController().signal,
    emit: () => {},
    emitTransfer: () => {},
    transfer: () => {},
  });

  it("schema first (the host's parseParams), then the pipeline's checks; the runtime is never asked for", async () => {
    let runtimeCalls = 0;
    const jobs = generateJobs({
      runtime: () => {
        runtimeCalls++;
        return Promise.reject(new Error("the runtime must not start for a bad request"));
      },
      tfjsWasm: "/vendor/tfjs/",
      bundledUrl: "http://127.0.0.1:9/models/default/",
    });
    // rejected by the protocol schema (the host answers BadInputError with zod's reason)
    for (const bad of [
      { prompt: "x".repeat(2001) },
      { previewEvery: -1 },
      { pack: { kind: "installed" as const, id: "../../etc" } },
      { video: { data: [1, 2, 3] as unknown as Uint8Array, numFrames: 1, width: 1, height: 1, fps: 1 } },
    ])
      expect(parseParams("generate", params(bad)).ok).toBe(false);
    // accepted by the schema, refused by the checks
    const cases: [Partial<AudioParams>, RegExp][] = [
      [{ steps: 0 }, /Steps must be/],
      [{ guidanceScale: 99 }, /CFG scale/],
      [{ video: undefined }, /needs a video/],
      [{ video: frames(9) }, /do not hold 9 frames/],
      [{ task: "i2a", video: undefined, image: { data: new Uint8Array(5), width: 2, height: 1 } }, /5 bytes/],
      [{ task: "t2a", video: undefined, prompt: "  " }, /needs a prompt/],
      [{ aligner: { ...aligner(), warmup: 2 } }, /Warm-up/],
    ];
    for (const [over, message] of cases) {
      const p = params(over);
      const checked = parseParams("generate", p); // as the host hands params to the handler
      if (!checked.ok) throw new Error(`the schema refused ${JSON.stringify(over)}: ${checked.reason}`);
      const before = snapshot(checked.value);
      await refused(() => jobs.generate(checked.value, ctx()), checked.value, before, message);
    }
    expect(runtimeCalls).toBe(0);
  });
});
