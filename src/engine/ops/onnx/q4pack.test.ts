/**
 * q4 weights stored in a model pack: a Param holding only MatMulNBits blocks (`setQ4`) must give the ONNX
 * emitter exactly those blocks (no re-quantization, the pack's own block size), and everything else the
 * dequantized values.
 */
import * as ortNode from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { maxAbsDiff, randn } from "../../../../test/support/naive.js";
import { Param } from "../param.js";
import { OnnxEmitter, type WeightFormat } from "./emitter.js";
import { dequantizeQ4, quantizeQ4 } from "./quant.js";
import { createSession, type OrtModule, runSession } from "./session.js";

const ort = ortNode as unknown as OrtModule;
const [N, K] = [24, 80]; // K not a multiple of the block: the last block is padded

function weights() {
  const w = randn(N * K, 7, 0.2);
  const bias = new Param([N]);
  bias.name = "lin.bias";
  bias.set(randn(N, 8, 0.1));
  return { w, bias };
}

async function runLinear(weight: Param, bias: Param, fmt: WeightFormat, x: Float32Array) {
  const em = new OnnxEmitter({ weights: fmt, q4BlockSize: 32 });
  const xs = em.input("x", [3, K]);
  em.output("y", em.linear(xs, weight, bias));
  const built = em.build();
  const session = await createSession(ort, built);
  try {
    return { y: (await runSession(ort, session, { x: { data: x, shape: [3, K] } })).y.data, built };
  } finally {
    await session.release();
  }
}

describe("Param.setQ4 + the emitter", () => {
  it("uses stored blocks verbatim with their own block size, and dequantizes for float consumers", async () => {
    const { w, bias } = weights();
    const packed = quantizeQ4(w, N, K, 16);
    const p = new Param([N, K]);
    p.name = "lin.weight";
    p.setQ4({ codes: packed.codes, scales: packed.scales, blockSize: 16 });
    expect(p.data).toBeNull();
    const x = randn(3 * K, 9);

    const q = await runLinear(p, bias, "q4", x);
    // the graph's initializers are exactly the stored blocks (block size 16, although the emitter default is 32)
    const bytes = q.built.model;
    const find = (needle: Uint8Array) => {
      outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
        for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
        return true;
      }
      return false;
    };
    expect(find(packed.codes)).toBe(true);

    // reference: the dequantized weight in an fp32 graph (the same numbers MatMulNBits computes with)
    const ref = new Param([N, K]);
    ref.name = "lin.weight";
    ref.set(dequantizeQ4(packed));
    const f = await runLinear(ref, bias, "fp32", x);
    expect(maxAbsDiff(q.y as Float32Array, f.y as Float32Array)).toBeLessThan(1e-5);

    // a float consumer (fp16 graph, tfjs) gets the dequantized values; the blocks stay for later q4 graphs
    expect(maxAbsDiff(p.values() as Float32Array, dequantizeQ4(packed))).toBe(0);
    expect(p.q4).not.toBeNull();
    const h = await runLinear(p, bias, "fp16", x);
    expect(maxAbsDiff(h.y as Float32Array, f.y as Float32Array)).toBeLessThan(1e-2);
  });

  it("refuses blocks that do not fit the shape, and drops them when new values are set", () => {
    const { w } = weights();
    const packed = quantizeQ4(w, N, K, 32);
    const p = new Param([N, K]);
    p.name = "lin.weight";
    expect(() => p.setQ4({ codes: packed.codes.subarray(1), scales: packed.scales, blockSize: 32 })).toThrow(
      /do not fit/,
    );
    expect(() => p.setQ4({ codes: packed.codes, scales: packed.scales, blockSize: 16 })).toThrow(
      /do not fit/,
    );
    p.setQ4({ codes: packed.codes, scales: packed.scales, blockSize: 32 });
    p.set(w);
    expect(p.q4).toBeNull();
    expect(p.values()).toBe(p.data);
  });
});
