import * as ortNode from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { maxAbsDiff, randn } from "../../../test/support/naive.js";
import { Linear } from "../nn/layers.js";
import type { OrtModule } from "./onnx/session.js";
import { nameParams } from "./param.js";
import { type ForwardFn, forwardRunner } from "./runner.js";

describe("forwardRunner", () => {
  const lin = nameParams({ proj: new Linear(4, 3) }).proj;
  lin.weight.set(randn(12, 1));
  lin.bias!.set(randn(3, 2));
  const fwd: ForwardFn = (ops, xs) => ({ y: ops.tanh(lin.forward(ops, xs.x)), s: ops.sum(xs.x, -1) });

  it("gives the same outputs on tfjs and onnx, and caches one session per input shape", async () => {
    const tf = forwardRunner("lin", fwd, { kind: "tfjs" });
    const ox = forwardRunner("lin", fwd, { kind: "onnx", ort: ortNode as unknown as OrtModule });
    for (const rows of [2, 5, 2]) {
      const x = { data: randn(rows * 4, rows), shape: [rows, 4] };
      const a = await tf.run({ x });
      const b = await ox.run({ x });
      expect(a.y.shape).toEqual([rows, 3]);
      expect(b.y.shape).toEqual([rows, 3]);
      expect(maxAbsDiff(a.y.data, b.y.data)).toBeLessThan(1e-6);
      expect(maxAbsDiff(a.s.data, b.s.data)).toBeLessThan(1e-6);
    }
    expect((ox as unknown as { sessions: Map<string, unknown> }).sessions.size).toBe(2);
    await tf.dispose();
    await ox.dispose();
  });
});
