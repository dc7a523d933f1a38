/**
 * The ONNX guidance graphs' session lifetime: a full-size guidance session holds GBs, so an engine keeps the
 * graph of the last embed path and the session of its last shape only (the loss and gradient themselves are
 * checked against tfjs and PyTorch by test/pipelines/onnx_guidance.test.ts and the guidance parity fixture).
 */
import * as ortNode from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { CancelledError } from "../errors.js";
import type { OrtModule } from "../ops/onnx/session.js";
import type { EmbedFn } from "./hook.js";
import { GuidanceGraphs, OnnxGuidance } from "./onnx_guidance.js";

const choice = { kind: "onnx", ort: ortNode as unknown as OrtModule } as const;
/** A stand-in embed path: x0 [1, 2, n] → tanh, flattened to [1, 2n]. */
const embed: EmbedFn = (ops, x0) => ops.reshape(ops.tanh(x0), [1, -1]);
const target = (n: number) => [
  { name: "t", embedding: Float32Array.from({ length: 2 * n }, (_, i) => i % 3), weight: 1 },
];
const x0 = (n: number) => Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i));

describe("guidance session lifetime", () => {
  it("OnnxGuidance keeps the session of the last shape only", async () => {
    const g = new OnnxGuidance("t", embed, choice);
    const a = await g.lossAndGrad(x0(3), [1, 2, 3], target(3));
    expect(g.sessionCount).toBe(1);
    await g.lossAndGrad(x0(5), [1, 2, 5], target(5));
    expect(g.sessionCount).toBe(1); // the 3-long session was released
    const again = await g.lossAndGrad(x0(3), [1, 2, 3], target(3)); // rebuilt on demand, same numbers
    expect(again.loss).toBe(a.loss);
    expect([...again.grad]).toEqual([...a.grad]);
    // ∂(1 − cos(t, tanh x))/∂x is finite and not zero
    expect(a.grad.some((v) => v !== 0) && a.grad.every(Number.isFinite)).toBe(true);
    await g.dispose();
    expect(g.sessionCount).toBe(0);
  });

  it("a cancel while the session is being built ends the wait with CancelledError; the next call works", async () => {
    const g = new OnnxGuidance("t", embed, choice);
    const ac = new AbortController();
    const pending = g.lossAndGrad(x0(6), [1, 2, 6], target(6), ac.signal);
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    const r = await g.lossAndGrad(x0(6), [1, 2, 6], target(6));
    expect(Number.isFinite(r.loss)).toBe(true);
    await g.dispose();
  });

  it("GuidanceGraphs hands out one path at a time and releases the previous path's sessions", async () => {
    const graphs = new GuidanceGraphs(choice);
    const p1 = graphs.get("audio-1", () => embed)!;
    await p1.lossAndGrad(x0(3), [1, 2, 3], target(3));
    expect(graphs.sessionCount).toBe(1);
    expect(graphs.get("audio-1", () => embed)).toBe(p1); // same key: the same graph
    const p2 = graphs.get("audio-2", () => embed)!;
    expect(p2).not.toBe(p1);
    await p2.lossAndGrad(x0(4), [1, 2, 4], target(4));
    await new Promise((r) => setTimeout(r, 0)); // p1's release was started, not awaited
    expect(p1.sessionCount).toBe(0);
    expect(graphs.sessionCount).toBe(1);
    await graphs.dispose();
    expect(graphs.sessionCount).toBe(0);
    expect(new GuidanceGraphs(null).get("audio-1", () => embed)).toBeNull(); // guiding on tfjs
  });
});
