import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadInputError, CancelledError } from "../../src/engine/errors.js";
import { type A2VRequest, DEFAULT_VIDEO_ALIGNER, runA2VTask } from "../../src/engine/pipelines/a2v.js";
import type { PipelineEvent } from "../../src/engine/pipelines/events.js";
import type { VideoTaskEngine } from "../../src/engine/pipelines/video_engine.js";
import { openVideoEngine } from "../../src/engine/session.js";
import { openBundledEngine } from "../support/engines.js";
import { a2vRequest } from "../support/task-cases.js";

let engine: VideoTaskEngine;
let close = async () => {};
const SLOW = 600_000; // two cores shared with other jobs: generous, the work itself is ~10–40 s

beforeAll(async () => {
  ({ engine, close } = await openBundledEngine(openVideoEngine));
}, SLOW);

afterAll(() => close());

const base = a2vRequest;

describe("A2V on the default pack", () => {
  it("compare mode: same seed, frames of the requested geometry, guided loss below vanilla", {
    timeout: SLOW,
  }, async () => {
    const events: PipelineEvent[] = [];
    const t0 = performance.now();
    const r = await runA2VTask(engine, base({ previewEvery: 3 }), { onEvent: (e) => events.push(e) });
    const ms = performance.now() - t0;
    expect(r.geometry).toMatchObject({
      frames: 4,
      latentShape: [1, 4, 4, 8, 8],
      clips: 1,
      sampledFrames: [0, 3],
    });
    expect(r.audioSeconds).toBeCloseTo(1, 3); // the segment the 1-s video plays with, at 16 kHz
    for (const run of ["vanilla", "guided"] as const) {
      const out = r.runs[run]!;
      expect(out.frames.length).toBe(4 * 64 * 64 * 3);
      expect(Object.keys(out.scores).sort()).toEqual(["AT-align_bind", "AV-align_bind", "VT-align_bind"]);
    }
    // the condition is the same for both runs, only the video differs
    expect(r.runs.guided!.scores["AT-align_bind"]).toBe(r.runs.vanilla!.scores["AT-align_bind"]);
    expect(r.runs.guided!.frames).not.toEqual(r.runs.vanilla!.frames);
    const steps = events.filter((e) => e.type === "step");
    expect(steps.filter((e) => e.run === "vanilla")).toHaveLength(6);
    const guided = steps.filter((e) => e.run === "guided" && e.guided);
    expect(guided).toHaveLength(6 - 2); // i > int(0.2·6) = 1
    for (const e of guided) expect(Object.keys(e.terms ?? {}).sort()).toEqual(["audio-video", "text-video"]);
    const previews = events.filter((e) => e.type === "preview");
    expect(previews.length).toBeGreaterThan(0);
    for (const p of previews)
      if (p.type === "preview") expect(p.preview).toMatchObject({ kind: "frames", shape: [4, 64, 64, 3] });
    expect(r.runs.guided!.lossCurve.map((c) => c.i)).toEqual([2, 3, 4, 5]);
    // the measured alignment loss (1 − cos(e_v, e_a)) + (1 − cos(e_v, e_p)) of the output videos
    expect(r.runs.guided!.loss).toBeLessThan(r.runs.vanilla!.loss);
    console.log(
      `A2V loss vanilla ${r.runs.vanilla!.loss} guided ${r.runs.guided!.loss} (${(ms / 1000).toFixed(1)} s for both runs)`,
      r.runs.guided!.scores,
    );
  });

  it("prompt tuning changes the CLIP states [1, 77, D] and lowers the loss (controlled: latent held, K = 3)", {
    timeout: SLOW,
  }, async () => {
    // With the latent step ≈ 0 (SGD, λ1 = 1e-9), the only change between a guided step's inner iterations is the
    // prompt update, so each step's inner-loss sequence measures what tuning y alone does.
    const inner = async (tuning: boolean) => {
      const req = base({ compare: false, steps: 4 });
      req.aligner = {
        ...req.aligner,
        lambda: 1e-9,
        optimizer: "sgd",
        iterations: 3,
        promptTuning: { enabled: tuning, lambda: 0.005 },
      };
      const events: PipelineEvent[] = [];
      const r = await runA2VTask(engine, req, { onEvent: (e) => events.push(e) });
      const steps = events.flatMap((e) => (e.type === "step" && e.innerLosses ? [e.innerLosses] : []));
      return { r, steps, updates: events.filter((e) => e.type === "prompt-update").length };
    };
    const fixed = await inner(false);
    const tuned = await inner(true);
    expect(tuned.r.runs.guided!.promptNorm).toBeGreaterThan(0);
    expect(tuned.updates).toBe(3 * 3); // K updates at each of the 3 guided steps (i > int(0.2·4) = 0)
    expect(tuned.steps).toHaveLength(3);
    // without tuning the loss cannot move within a step
    for (const [i, seq] of fixed.steps.entries())
      expect(Math.abs(seq[2] - seq[0]), `step ${i}`).toBeLessThan(1e-6);
    // with it, the loss falls at every inner iteration of the first (noisiest) guided step, where the prompt's
    // Adam state is fresh (a descent direction; λ2 is small) and ∂x0/∂ε = √(1−ᾱ)/√ᾱ is largest, and over the
    // run (a later step may rise a little under the persistent momentum: see the V2A test)
    expect(tuned.steps[0][1]).toBeLessThan(tuned.steps[0][0]);
    expect(tuned.steps[0][2]).toBeLessThan(tuned.steps[0][1]);
    expect(tuned.steps.reduce((a, s) => a + s[0] - s[2], 0)).toBeGreaterThan(0);
    console.log(
      "A2V prompt tuning: loss drop per guided step",
      tuned.steps.map((s) => s[0] - s[2]),
      "‖Δy‖",
      tuned.r.runs.guided!.promptNorm,
    );
  });

  it("automatic prompt from the audio; vanilla only without the aligner", { timeout: SLOW }, async () => {
    const events: PipelineEvent[] = [];
    const r = await runA2VTask(
      engine,
      base({ prompt: "", steps: 2, aligner: { ...DEFAULT_VIDEO_ALIGNER, enabled: false } }),
      { onEvent: (e) => events.push(e) },
    );
    const p = events.find((e) => e.type === "prompt");
    expect(p?.type === "prompt" && p.auto).toBe(true);
    expect(r.autoPrompt).toBe(true);
    expect(r.prompt.length).toBeGreaterThan(0);
    expect(Object.keys(r.runs)).toEqual(["vanilla"]);
  });

  it("refuses impossible requests before any model runs, with messages that say what to change; cancel stops", {
    timeout: SLOW,
  }, async () => {
    const refuse = (over: Partial<A2VRequest>, msg: RegExp) =>
      expect(runA2VTask(engine, base(over))).rejects.toThrow(msg);
    await refuse({ frames: 40 }, /Frames must be an integer from 1 to 32, the motion modules' maximum/);
    await refuse({ height: 60 }, /Height must be a multiple of 8/);
    await refuse({ audio: { channels: [], sampleRate: 16000 } }, /needs an audio clip/);
    await refuse({ steps: 0 }, /Steps must be/);
    await expect(
      runA2VTask(engine, base({ aligner: { ...DEFAULT_VIDEO_ALIGNER, weights: { audio: 0, text: 0 } } })),
    ).rejects.toBeInstanceOf(BadInputError);
    const ac = new AbortController();
    const p = runA2VTask(engine, base(), {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === "step" && e.i === 1) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });
});
