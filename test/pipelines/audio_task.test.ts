/**
 * The audio tasks end to end in Node on the bundled default pack (small models, real topologies): ONNX Runtime
 * (node) runs the forward-only components and tfjs (wasm) the gradient path, as the CLI does.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadInputError, CancelledError } from "../../src/engine/errors.js";
import type { AudioTaskEngine } from "../../src/engine/pipelines/audio_engine.js";
import { DEFAULT_AUDIO_ALIGNER, runAudioTask } from "../../src/engine/pipelines/audio_task.js";
import type { PipelineEvent } from "../../src/engine/pipelines/events.js";
import { openAudioEngine } from "../../src/engine/session.js";
import { openBundledEngine } from "../support/engines.js";
import { gradientImage, movingSquareVideo } from "../support/synthetic_media.js";
import { v2aRequest } from "../support/task-cases.js";

let engine: AudioTaskEngine;
let close = async () => {};

beforeAll(async () => {
  ({ engine, close } = await openBundledEngine(openAudioEngine));
}, 300_000);

afterAll(() => close());

const base = v2aRequest;

describe("audio tasks on the default pack", () => {
  it("V2A compare mode: same seed, valid audio of the video's length, guided loss below vanilla", {
    timeout: 300_000,
  }, async () => {
    const events: PipelineEvent[] = [];
    const r = await runAudioTask(engine, base({ previewEvery: 4 }), { onEvent: (e) => events.push(e) });
    expect(r.durationS).toBe(2);
    for (const run of ["vanilla", "guided"] as const) {
      const out = r.runs[run]!;
      expect(out.sampleRate).toBe(16000);
      expect(out.waveform.length).toBe(32000);
      expect(out.waveform.every(Number.isFinite)).toBe(true);
      expect(Math.max(...out.waveform.map(Math.abs))).toBeLessThanOrEqual(1);
    }
    const steps = events.filter((e) => e.type === "step");
    expect(steps.filter((e) => e.type === "step" && e.run === "vanilla")).toHaveLength(8);
    expect(steps.filter((e) => e.type === "step" && e.run === "guided" && e.guided)).toHaveLength(8 - 2); // i > int(0.2·8) = 1
    expect(events.some((e) => e.type === "preview" && e.preview.kind === "mel")).toBe(true);
    expect(r.runs.guided!.lossCurve.length).toBe(6);
    expect(r.runs.vanilla!.lossCurve.length).toBe(0);
    // the measured alignment loss of the final outputs
    expect(r.runs.guided!.loss).toBeLessThan(r.runs.vanilla!.loss);
    console.log(
      "V2A loss vanilla",
      r.runs.vanilla!.loss,
      "guided",
      r.runs.guided!.loss,
      r.runs.guided!.scores,
    );
  });

  it("prompt tuning changes the CLAP embedding and lowers the loss further (controlled: latent held, K = 3)", async () => {
    // With the latent step ≈ 0, the only change between a guided step's inner iterations is the prompt update,
    // so the loss sequence within each step measures what tuning y alone does.
    const inner = async (tuning: boolean) => {
      const req = base({ compare: false, steps: 4, video: movingSquareVideo(1, 4) });
      req.aligner = {
        ...req.aligner,
        lambda: 1e-9,
        optimizer: "sgd",
        iterations: 3,
        promptTuning: { enabled: tuning, lambda: 0.005 },
      };
      const events: PipelineEvent[] = [];
      const r = await runAudioTask(engine, req, { onEvent: (e) => events.push(e) });
      const steps = events.flatMap((e) => (e.type === "step" && e.innerLosses ? [e.innerLosses] : []));
      return { r, steps };
    };
    const fixed = await inner(false);
    const tuned = await inner(true);
    expect(tuned.r.runs.guided!.promptNorm).toBeGreaterThan(0);
    expect(tuned.steps.length).toBeGreaterThan(0);
    // without tuning the loss cannot move within a step (beyond a few float32 ulps: the loss is ~2.2, where one
    // ulp is 2.4e-7) …
    const noise = 4 * 2 ** -22;
    for (const [i, seq] of fixed.steps.entries())
      expect(Math.abs(seq[2] - seq[0]), `step ${i}`).toBeLessThan(noise);
    // … with it, the loss falls at every inner iteration of the first guided step, where the prompt's Adam state
    // is fresh (its first update is a descent direction, and λ2 is small) and ∂x0/∂ε = √(1−ᾱ)/√ᾱ is largest …
    expect(tuned.steps[0][1]).toBeLessThan(tuned.steps[0][0]);
    expect(tuned.steps[0][2]).toBeLessThan(tuned.steps[0][1]);
    // … and over the run. A later step may rise a little: the persistent Adam momentum carries the previous
    // steps' direction into a step whose latent has moved (the trained pack rose 2.4e-4 at its third step).
    const drop = tuned.steps.map((s) => s[0] - s[2]);
    expect(drop.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log("prompt tuning: loss drop per guided step", drop, "‖Δy‖", tuned.r.runs.guided!.promptNorm);
  }, 300_000);

  it("I2A and automatic prompt: labels ranked by ImageBind, then generation", async () => {
    const events: PipelineEvent[] = [];
    const r = await runAudioTask(
      engine,
      base({
        task: "i2a",
        video: undefined,
        image: gradientImage(),
        prompt: "",
        durationS: 1,
        compare: false,
      }),
      {
        onEvent: (e) => events.push(e),
      },
    );
    const p = events.find((e) => e.type === "prompt");
    expect(p && p.type === "prompt" && p.auto).toBe(true);
    expect(r.autoPrompt).toBe(true);
    expect(r.prompt.length).toBeGreaterThan(0);
    expect(r.runs.guided!.waveform.length).toBe(16000);
  });

  it("T2A without the aligner runs vanilla only; bad input fails before any model runs; cancel stops", async () => {
    const r = await runAudioTask(
      engine,
      base({
        task: "t2a",
        video: undefined,
        durationS: 1,
        aligner: { ...DEFAULT_AUDIO_ALIGNER, enabled: false },
      }),
    );
    expect(Object.keys(r.runs)).toEqual(["vanilla"]);
    await expect(runAudioTask(engine, base({ video: undefined }))).rejects.toBeInstanceOf(BadInputError);
    await expect(runAudioTask(engine, base({ steps: 0 }))).rejects.toThrow(/Steps must be/);
    const ac = new AbortController();
    const p = runAudioTask(engine, base(), {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === "step" && e.i === 2) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });
});
