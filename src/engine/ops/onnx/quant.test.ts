import { describe, expect, it } from "vitest";
import { randn } from "../../../../test/support/naive.js";
import { dequantizeQ4, fromHalfBits, quantizeQ4, toHalfBits } from "./quant.js";

describe("fp16", () => {
  it("round-trips every finite half exactly and rounds to nearest even", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      if (Number.isNaN(v)) continue;
      expect(toHalfBits(v)).toBe(h);
    }
    // halfway between 1 and 1 + 2^-10 rounds to even (1); just above rounds up
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(toHalfBits(70000)).toBe(0x7c00);
  });
});

describe("q4 (MatMulNBits layout)", () => {
  it("reconstructs within half a step (one step where the positive side clamps at code 15), pads with zero", () => {
    const n = 5;
    const k = 40; // not a multiple of the block: the last block is padded
    const w = randn(n * k, 3);
    const q = quantizeQ4(w, n, k, 16);
    expect(q.codes.length).toBe(n * 3 * 8);
    const d = dequantizeQ4(q);
    for (let r = 0; r < n; r++)
      for (let b = 0; b < 3; b++) {
        const s = Math.abs(q.scales[r * 3 + b]);
        for (let i = b * 16; i < Math.min(k, b * 16 + 16); i++) {
          const err = Math.abs(d[r * k + i] - w[r * k + i]);
          // codes span −8…7 steps: values beyond +7.5 steps (opposite sign to the extreme) clamp
          const bound = Math.abs(w[r * k + i]) <= 7.5 * s ? s / 2 : s;
          expect(err).toBeLessThanOrEqual(bound + 1e-7);
        }
      }
    // padded codes are the zero point 8 (high nibble of the last byte of row 0's last block)
    const lastByte = q.codes[(0 * 3 + 2) * 8 + 7];
    expect(lastByte).toBe(0x88);
  });
});
