/**
 * "Load demo" through the studio's commands, with the media worker's own job code ("mux", "decode":
 * engine/media/mux-job.ts, workers/media-jobs.ts) on the native ffmpeg: each task's demo lands in the input slot
 * as a picked file would (the same decode and facts), the form gets the preset's prompt, seed and shape and
 * validates, and Generate sends the decoded condition.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CancelledError } from "../../engine/errors.js";
import type { FfmpegHost } from "../../engine/media/ffmpeg.js";
import { type MuxParams, runMuxJob } from "../../engine/media/mux-job.js";
import { NativeFfmpegSession } from "../../engine/media/native.js";
import { WORLD_DEMOS } from "../../engine/world/demos.js";
import { mediaJobs } from "../../workers/media-jobs.js";
import type { DecodeParams } from "../../workers/media-schemas.js";
import type { Commands } from "../commands.js";
import { createStudioStore } from "../store.js";
import { createStudioCommands, summaryOf } from "./commands.js";
import { demoEvalFor, demoFields, demoFor, demoSummary } from "./demo.js";
import type { GalleryDb } from "./gallery-db.js";
import { defaultFields, type StudioTaskId, validate } from "./settings.js";

const hasFfmpeg = await promisify(execFile)("ffmpeg", ["-version"]).then(
  () => true,
  () => false,
);

const session = new NativeFfmpegSession();
afterAll(() => session.close());
const host = { use: (fn: (s: NativeFfmpegSession) => unknown) => fn(session) } as unknown as FfmpegHost;

/** The command layer with the media jobs run here; records every job's params. */
function fakeCommands() {
  const calls: { job: string; params: unknown }[] = [];
  const ctx = () => ({
    signal: new AbortController().signal,
    emit: () => undefined,
    emitTransfer: () => undefined,
    transfer: () => undefined,
  });
  const run = async (job: string, params: unknown) => {
    calls.push({ job, params });
    if (job === "mux") return runMuxJob(host, params as MuxParams, ctx());
    if (job === "decode") return mediaJobs(host).decode(params as DecodeParams, ctx());
    if (job === "generate") throw new CancelledError();
    throw new Error(`unexpected job ${job}`);
  };
  return { commands: { run } as unknown as Commands, calls };
}

function studio() {
  const store = createStudioStore();
  const fake = fakeCommands();
  return { store, ...fake, studio: createStudioCommands(fake.commands, store, {} as GalleryDb) };
}

const TASKS: readonly StudioTaskId[] = ["v2a", "i2a", "a2v", "joint"];

describe("demo presets in the form", () => {
  it("set the preset's prompt, seed and the world's shape, which validate for every task", () => {
    for (const t of TASKS) {
      const d = demoFor(t)!;
      expect(d.task).toBe(t);
      const f = { ...defaultFields(t), ...demoFields(d) };
      const input = d.input ? { kind: d.input.kind, ready: true, durationS: d.durationS } : null;
      const { errors, request } = validate(t, f, input);
      expect(errors, t).toEqual({});
      expect(request).toMatchObject({ task: t, prompt: d.prompt, seed: d.seed });
      if (request?.task === "a2v" || request?.task === "joint")
        expect(request).toMatchObject({ frames: 16, width: 64, height: 64, fps: 8 });
      else expect(request).toMatchObject({ durationS: 2 });
      expect(demoSummary(d)).toContain(`"${d.prompt}"`);
    }
    expect(WORLD_DEMOS.length).toBe(TASKS.length);
  });

  it("come with what the evaluation measured for their task: AV-align first, on the bundled pack", () => {
    for (const t of TASKS) {
      const e = demoEvalFor(t)!;
      expect(e.task, t).toBe(t);
      expect(e.pack).toBe("default");
      expect(e.metrics[0].key).toBe("AV-align");
      for (const m of e.metrics)
        for (const x of [m.vanilla, m.guided, m.delta]) expect(x[1]).toBeLessThanOrEqual(x[2]);
    }
  });
});

describe.skipIf(!hasFfmpeg)("loadDemo", () => {
  it("v2a: the clip's frames, encoded by the mux job, decode into the input slot; Generate sends them", async () => {
    const s = studio();
    await s.studio.loadDemo("v2a");
    const t = s.store.getState().studio.tasks.v2a;
    expect(t.demo).toMatchObject({ id: demoFor("v2a")!.id, status: "ready", error: null });
    expect(t.fields.prompt).toBe("a blue drum");
    expect(t.input).toMatchObject({
      kind: "video",
      name: "v2a-blue-drum.mp4",
      type: "video/mp4",
      status: "ready",
      width: 64,
      height: 64,
      fps: 8,
      numFrames: 16,
      trimStartS: 0,
    });
    expect(t.input!.durationS).toBeCloseTo(2, 2);
    expect(s.calls.map((c) => c.job)).toEqual(["mux", "decode"]);
    const mux = s.calls[0]!.params as MuxParams;
    expect(mux.video).toMatchObject({ kind: "frames", width: 64, height: 64, fps: 8 });
    expect(mux.video.data.length).toBe(16 * 64 * 64 * 4);
    const decode = s.calls[1]!.params as DecodeParams;
    expect(decode).toMatchObject({ kind: "video", name: "v2a-blue-drum.mp4", startS: 0 });
    expect(validate("v2a", t.fields, summaryOf(t.input)).errors).toEqual({});
    // the job path of a picked file: the decoded frames go with the request
    await s.studio.generate("v2a");
    const gen = s.calls.at(-1)!;
    expect(gen.job).toBe("generate");
    expect(gen.params).toMatchObject({
      task: "v2a",
      prompt: "a blue drum",
      seed: 0,
      durationS: 2,
      video: { numFrames: 16, width: 64, height: 64, fps: 8 },
    });
    expect(s.store.getState().studio.tasks.v2a.run?.status).toBe("cancelled");
  });

  it("i2a and a2v: the PNG / WAV decode to the key frame's size / 2 s; the same bytes on every load", async () => {
    for (const [t, want] of [
      ["i2a", { kind: "image", name: "i2a-red-bell.png", type: "image/png", width: 64, height: 64 }],
      ["a2v", { kind: "audio", name: "a2v-yellow-bird.wav", type: "audio/wav", durationS: 2 }],
    ] as const) {
      const s = studio();
      await s.studio.loadDemo(t);
      const first = s.calls.find((c) => c.job === "decode")!.params as DecodeParams;
      await s.studio.loadDemo(t);
      const second = s.calls.filter((c) => c.job === "decode")[1]!.params as DecodeParams;
      const bytes = async (p: DecodeParams) => Buffer.from(await p.file.arrayBuffer());
      expect((await bytes(first)).equals(await bytes(second)), t).toBe(true);
      expect(s.calls.map((c) => c.job)).toEqual(["decode", "decode"]);
      const state = s.store.getState().studio.tasks[t];
      expect(state.input).toMatchObject({ ...want, status: "ready", error: null });
      expect(state.fields.prompt).toBe(demoFor(t)!.prompt);
      expect(state.demo?.status).toBe("ready");
      expect(validate(t, state.fields, summaryOf(state.input)).errors).toEqual({});
    }
  });

  it("joint fills the prompt only; a file the user picks afterwards replaces the demo", async () => {
    const s = studio();
    await s.studio.loadDemo("joint");
    const j = s.store.getState().studio.tasks.joint;
    expect(s.calls).toEqual([]);
    expect(j.input).toBeNull();
    expect(j.demo?.status).toBe("ready");
    expect(j.fields).toMatchObject({ prompt: "a red ball bouncing three times", frames: "16", fps: "8" });

    await s.studio.loadDemo("a2v");
    expect(s.store.getState().studio.tasks.a2v.demo?.status).toBe("ready");
    const own = new Blob([(s.calls[0]!.params as DecodeParams).file], { type: "audio/wav" });
    await s.studio.pickInput("a2v", own, { name: "mine.wav" });
    const a = s.store.getState().studio.tasks.a2v;
    expect(a.demo).toBeNull();
    expect(a.input).toMatchObject({ name: "mine.wav", status: "ready" });
  });
});
