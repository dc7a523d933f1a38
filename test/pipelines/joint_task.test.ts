import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type JointModality,
  makeJointAligner,
  TRIANGLE_TERMS,
  type TriangleWeights,
} from "../../src/engine/aligner/joint.js";
import { BadInputError } from "../../src/engine/errors.js";
import { videoEmbedPath, videoGeometry } from "../../src/engine/pipelines/animatediff.js";
import { audioEmbedPath } from "../../src/engine/pipelines/audio_embed.js";
import { audioGeometry } from "../../src/engine/pipelines/audioldm.js";
import type { StepContext } from "../../src/engine/pipelines/denoise.js";
import type { PipelineEvent } from "../../src/engine/pipelines/events.js";
import { type JointEngine, runJointTask } from "../../src/engine/pipelines/joint.js";
import { randn } from "../../src/engine/pipelines/noise.js";
import { openJointEngine } from "../../src/engine/session.js";
import { openBundledEngine } from "../support/engines.js";
import { jointRequest } from "../support/task-cases.js";

let engine: JointEngine;
let close = async () => {};
const SLOW = 600_000;

beforeAll(async () => {
  ({ engine, close } = await openBundledEngine(openJointEngine));
}, SLOW);

afterAll(() => close());

const base = jointRequest;

/** A guided step's context for one model: random post-step latent and ε̂, a mid-schedule ᾱ. */
function context(shape: readonly number[], seed: number): StepContext {
  const n = shape.reduce((a, b) => a * b, 1);
  const latent = randn(n, seed);
  return {
    i: 2,
    t: 501,
    n: 4,
    latentIn: latent,
    latent,
    eps: randn(n, seed + 1),
    alphaBarT: 0.3,
    x0: latent,
  };
}

describe("joint video + audio on the default pack", () => {
  it("compare mode: lock-step runs give a 1-s WAV and 4 frames; the triangle loss falls below vanilla", {
    timeout: SLOW,
  }, async () => {
    const events: PipelineEvent[] = [];
    const t0 = performance.now();
    const r = await runJointTask(engine, base({ previewEvery: 2 }), { onEvent: (e) => events.push(e) });
    const ms = performance.now() - t0;
    expect(r.durationS).toBe(1); // ceil(4 frames / 4 fps), SPEC §8 Q7
    expect(r.latentShapes).toEqual({ audio: [1, 8, 25, 16], video: [1, 4, 4, 8, 8] });
    for (const run of ["vanilla", "guided"] as const) {
      const out = r.runs[run]!;
      expect(out.waveform.length).toBe(16000);
      expect(out.frames.length).toBe(4 * 64 * 64 * 3);
      expect(out.waveform.every(Number.isFinite)).toBe(true);
    }
    const steps = events.filter((e) => e.type === "step");
    expect(steps).toHaveLength(8); // one event per lock-step index and run
    const guided = steps.filter((e) => e.run === "guided" && e.guided);
    expect(guided.map((e) => e.i)).toEqual([1, 2, 3]); // i > int(0.2·4) = 0
    for (const e of guided) expect(Object.keys(e.terms ?? {})).toEqual([...TRIANGLE_TERMS]);
    const kinds = new Set(events.flatMap((e) => (e.type === "preview" ? [e.preview.kind] : [])));
    expect([...kinds].sort()).toEqual(["frames", "mel"]);
    expect(r.runs.guided!.loss).toBeLessThan(r.runs.vanilla!.loss);
    console.log(
      `joint triangle loss vanilla ${r.runs.vanilla!.loss} guided ${r.runs.guided!.loss} (${(ms / 1000).toFixed(1)} s)`,
      r.runs.vanilla!.scores,
      r.runs.guided!.scores,
    );
  });

  it("the triangle's gradient reaches both latents in one backward; each term can be switched off", {
    timeout: SLOW,
  }, async () => {
    const { audio: ae, video: ve } = engine;
    const geo = videoGeometry(ve.animatediff, { frames: 4, height: 64, width: 64, fps: 4 });
    const ageo = audioGeometry(ae.audioldm, 1);
    const text = await ve.encoders.embedText("a dog barking in a park");
    const ctx = { audio: context(ageo.latentShape, 11), video: context(geo.latentShape, 21) };
    const step = async (weights: TriangleWeights) => {
      let grads: Partial<Record<JointModality, Float32Array>> = {};
      const align = makeJointAligner({
        ops: ve.grad,
        text,
        weights,
        iterations: 1,
        audio: {
          embed: audioEmbedPath(ae.grad, ae.audioldm, ae.imagebind, 1),
          latentShape: ageo.latentShape,
          latentOptimizer: { kind: "sgd", lr: 1 },
        },
        video: {
          embed: videoEmbedPath(ve.grad, ve.animatediff, ve.imagebind, geo),
          latentShape: geo.latentShape,
          latentOptimizer: { kind: "sgd", lr: 1 },
        },
        onGrads: (g) => {
          grads = g;
        },
      });
      return { r: await align(ctx), grads };
    };
    const norm = (g?: Float32Array) => Math.hypot(...(g ?? []));
    const all = await step({ "text-video": 1, "audio-video": 1, "text-audio": 1 });
    expect(all.r.updated).toEqual(["audio", "video"]);
    const [ga, gv] = [all.grads.audio!, all.grads.video!];
    expect(norm(ga)).toBeGreaterThan(0);
    expect(norm(gv)).toBeGreaterThan(0);
    expect(ga.length).not.toBe(gv.length);
    // with SGD lr 1 each latent moves by exactly its own gradient
    expect(all.r.latents.audio[0]).toBeCloseTo(ctx.audio.latent[0] - ga[0], 5);
    expect(all.r.latents.video[0]).toBeCloseTo(ctx.video.latent[0] - gv[0], 5);
    const total = Object.values(all.r.terms).reduce((a, b) => a + b, 0);
    expect(all.r.loss).toBeCloseTo(total, 5);
    // the coupling term alone (1 − cos(e_a, e_v)) still reaches both latents
    const av = await step({ "text-video": 0, "audio-video": 1, "text-audio": 0 });
    expect(av.r.updated).toEqual(["audio", "video"]);
    expect(norm(av.grads.audio)).toBeGreaterThan(0);
    expect(norm(av.grads.video)).toBeGreaterThan(0);
    for (const off of TRIANGLE_TERMS) {
      const w = { "text-video": 1, "audio-video": 1, "text-audio": 1, [off]: 0 } as TriangleWeights;
      const s = await step(w);
      expect(Object.keys(s.r.terms)).not.toContain(off);
      expect(Object.keys(s.r.terms)).toHaveLength(2);
      // the remaining terms are the same numbers as with all three on; the loss lacks the switched-off one
      for (const [k, v] of Object.entries(s.r.terms)) expect(v).toBeCloseTo(all.r.terms[k], 6);
      expect(s.r.loss).toBeCloseTo(all.r.loss - all.r.terms[off], 5);
      // and the update changes: each latent the removed term reached gets a different gradient
      for (const m of ["audio", "video"] as const) {
        const reached =
          off === "audio-video" || (m === "audio" ? off === "text-audio" : off === "text-video");
        const diff = Math.max(...s.grads[m]!.map((g, k) => Math.abs(g - all.grads[m]![k])));
        if (reached) expect(diff, `${off} → ${m}`).toBeGreaterThan(0);
        else expect(diff, `${off} → ${m}`).toBe(0);
      }
    }
    console.log(`joint ∂L/∂z norms: audio ${norm(ga)}, video ${norm(gv)}; terms`, all.r.terms);
  });

  it("a text–video-only aligner leaves the audio run identical to vanilla; prompt tuning moves both prompts", {
    timeout: SLOW,
  }, async () => {
    const tvOnly = await runJointTask(
      engine,
      base({
        aligner: { ...base().aligner, weights: { "text-video": 1, "audio-video": 0, "text-audio": 0 } },
      }),
    );
    expect(tvOnly.runs.guided!.waveform).toEqual(tvOnly.runs.vanilla!.waveform); // the audio latent is never updated
    expect(tvOnly.runs.guided!.frames).not.toEqual(tvOnly.runs.vanilla!.frames);
    const events: PipelineEvent[] = [];
    const tuned = await runJointTask(
      engine,
      base({
        compare: false,
        steps: 3,
        aligner: { ...base().aligner, promptTuning: { audio: true, video: true, lambda: 0.01 } },
      }),
      { onEvent: (e) => events.push(e) },
    );
    const norms = tuned.runs.guided!.promptNorms;
    expect(norms.audio).toBeGreaterThan(0);
    expect(norms.video).toBeGreaterThan(0);
    console.log("joint prompt tuning ‖Δy‖", norms);
  });

  it("refuses mismatched step counts (one N for both models, SPEC §8 Q6) and other bad input", async () => {
    await expect(runJointTask(engine, base({ steps: 25, audioSteps: 30 }))).rejects.toThrow(
      /lock-step with ONE step count.*audio steps 30 but steps 25/,
    );
    await expect(runJointTask(engine, base({ prompt: " " }))).rejects.toBeInstanceOf(BadInputError);
    await expect(
      runJointTask(
        engine,
        base({
          aligner: { ...base().aligner, weights: { "text-video": 0, "audio-video": 0, "text-audio": 0 } },
        }),
      ),
    ).rejects.toThrow(/Every aligner loss term is switched off/);
  });
});
