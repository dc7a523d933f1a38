/** The studio's pure pieces: form validation, reducers of engine events, the ETA, and the spectrogram. */
import { describe, expect, it } from "vitest";
import { etaSeconds, runProgress, runSettled, runStarted } from "./reducers.js";
import { defaultFields, presetsFor, validate } from "./settings.js";
import { spectrogram, timeFreqToRgba } from "./spectrogram.js";
import { initialStudio } from "./state.js";

const ready = { kind: "video", ready: true, durationS: 2 } as const;

describe("settings validation", () => {
  it("turns the official preset into a V2A compare request", () => {
    const v = validate("v2a", { ...defaultFields("v2a"), ...presetsFor("v2a").official.fields }, ready);
    expect(v.errors).toEqual({});
    expect(v.request).toMatchObject({
      task: "v2a",
      steps: 30,
      guidanceScale: 2.5,
      compare: true,
      pack: { kind: "bundled" },
      aligner: { lambda: 0.1, warmup: 0.2, optimizer: "adam", iterations: 1 },
    });
    expect(v.request?.task === "v2a" && v.request.durationS).toBeUndefined(); // V2A: the input's length
    const i2a = validate("i2a", defaultFields("i2a"), { ...ready, kind: "image" }).request;
    expect(i2a?.task === "i2a" && i2a.durationS).toBe(10);
  });

  it("names every bad field and says what to enter", () => {
    const v = validate(
      "v2a",
      { ...defaultFields("v2a"), steps: "2.5", seed: "-1", cfg: "x", warmup: "1" },
      ready,
    );
    expect(Object.keys(v.errors).sort()).toEqual(["cfg", "seed", "steps", "warmup"]);
    expect(v.errors.steps).toMatch(/whole number from 1 to 1000/);
    expect(v.request).toBeNull();
  });

  it("reuses the engine's checks for rules across fields, mapped to the field to change", () => {
    const v = validate("v2a", { ...defaultFields("v2a"), wText: "0", wCond: "0" }, ready);
    expect(v.errors.wCond).toMatch(/Every aligner loss term is switched off/);
    const lambda = validate("v2a", { ...defaultFields("v2a"), lambda: "20" }, ready);
    expect(lambda.errors.lambda).toMatch(/λ must be in \(0, 10\]/);
  });

  it("asks for the input when none is ready; joint needs none but a prompt", () => {
    expect(validate("v2a", defaultFields("v2a"), null).errors.input).toMatch(/Pick or drop a video/);
    expect(validate("i2a", defaultFields("i2a"), null).errors.input).toMatch(/an image/);
    expect(validate("a2v", defaultFields("a2v"), null).errors.input).toMatch(/an audio/);
    expect(validate("joint", defaultFields("joint"), null).errors.prompt).toMatch(/needs a prompt/);
  });

  it("builds A2V and joint requests with the paper's per-task defaults and the fast preset's tiny shapes", () => {
    const audio = { kind: "audio", ready: true, durationS: 2 } as const;
    const a2v = validate("a2v", { ...defaultFields("a2v"), ...presetsFor("a2v").fast.fields }, audio).request;
    expect(a2v).toMatchObject({
      task: "a2v",
      steps: 4,
      frames: 4,
      width: 64,
      height: 64,
      fps: 4,
      guidanceScale: 7.5,
    });
    expect(a2v?.aligner).toMatchObject({ lambda: 0.01, weights: { audio: 1, text: 1 } });
    const joint = validate("joint", { ...defaultFields("joint"), prompt: "a dog barking" }, null).request;
    expect(joint).toMatchObject({ task: "joint", steps: 25, guidanceScale: { audio: 2.5, video: 7.5 } });
    expect(joint?.aligner).toMatchObject({
      lambda: { audio: 0.1, video: 0.01 },
      weights: { "text-video": 1, "audio-video": 1, "text-audio": 1 },
    });
    const bad = validate("a2v", { ...defaultFields("a2v"), width: "60" }, audio);
    expect(bad.errors.width).toMatch(/multiple of 8/);
  });
});

describe("run reducers", () => {
  it("fold pipeline events into progress, previews, the loss curve and an ETA", () => {
    let s = runStarted(initialStudio(), "v2a", {
      jobId: "e-1",
      runs: ["vanilla", "guided"],
      steps: 4,
      warmup: 0.2,
      now: 0,
    });
    const ev = (e: Parameters<typeof runProgress>[3]) => {
      s = runProgress(s, "v2a", "e-1", e);
    };
    ev({ type: "phase", phase: "denoising", run: "vanilla" });
    ev({ type: "prompt", prompt: "dog, cat", auto: true, candidates: [{ label: "dog", score: 0.3 }] });
    ev({ type: "step", run: "vanilla", i: 0, n: 4, t: 999, guided: false, ms: 100 });
    const r = s.tasks.v2a.run!;
    expect(r).toMatchObject({ phase: "denoising", run: "vanilla", stepsDone: 1, stepsTotal: 8 });
    expect(r.prompt).toMatchObject({ text: "dog, cat", auto: true });
    // 3 vanilla steps, then the guided run: step 0 unguided (i > int(0.2 · 4) = 0 is guided), 3 guided steps
    // (estimated at 4× a plain step until one is seen)
    expect(etaSeconds(r)).toBeCloseTo((3 * 100 + 100 + 3 * 400) / 1000);
    ev({
      type: "preview",
      run: "vanilla",
      i: 0,
      preview: { kind: "mel", data: new Float32Array(6), shape: [2, 3] },
    });
    ev({
      type: "step",
      run: "guided",
      i: 2,
      n: 4,
      t: 300,
      guided: true,
      ms: 1000,
      loss: 1.4,
      terms: { "vision-audio": 0.7 },
    });
    const g = s.tasks.v2a.run!;
    expect(g.previews["vanilla:mel"]?.shape).toEqual([2, 3]);
    // joint emits a mel and a frame strip for the same step: both are kept
    ev({
      type: "preview",
      run: "vanilla",
      i: 1,
      preview: { kind: "frames", data: new Uint8Array(2 * 2 * 2 * 3), shape: [2, 2, 2, 3] },
    });
    const both = s.tasks.v2a.run!.previews;
    expect(both["vanilla:mel"]?.i).toBe(0);
    expect(both["vanilla:frames"]?.shape).toEqual([2, 2, 2, 3]);
    expect(g.loss).toEqual([{ run: "guided", i: 2, loss: 1.4, terms: { "vision-audio": 0.7 } }]);
    expect(etaSeconds(g)).toBeCloseTo(1);
    // another job's events leave this run alone
    expect(runProgress(s, "v2a", "e-2", { type: "phase", phase: "x" })).toEqual(s);
    s = runSettled(s, "v2a", "e-1", { status: "cancelled" });
    expect(s.tasks.v2a.run?.status).toBe("cancelled");
    expect(etaSeconds(s.tasks.v2a.run!)).toBeNull();
  });
});

describe("spectrogram", () => {
  it("puts a tone's energy in its frequency bin, low frequencies at the bottom of the picture", () => {
    const sr = 16000;
    const x = Float32Array.from({ length: sr }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / sr));
    const s = spectrogram(x, { maxFrames: 50 });
    expect(s.frames).toBeLessThanOrEqual(50);
    expect(s.bins).toBe(257);
    const row = s.data.subarray(10 * s.bins, 11 * s.bins);
    const peak = row.indexOf(Math.max(...row));
    expect(peak).toBe(Math.round((1000 / sr) * 512));
    const rgba = timeFreqToRgba(s.data, s.frames, s.bins);
    expect(rgba.length).toBe(s.frames * s.bins * 4);
  });
});
