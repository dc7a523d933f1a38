/**
 * Golden parity: every fixture with a runner, on the tfjs executor (outputs + gradients) and the ONNX
 * emitter run by onnxruntime-web (wasm), within the fixture's own tolerances. Same checks as `npm run parity`.
 */
import * as ortWeb from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import { type ParityRow, rowPasses } from "./parity/harness.js";
import { runnerFor } from "./parity/index.js";
import { goldenDir, hasGolden, listFixtures, loadFixture } from "./support/golden.js";

const env = { ort: ortWeb as unknown as OrtModule, quantized: false };
ortWeb.env.wasm.numThreads = 1;

function describeRow(r: ParityRow): string {
  return r.checks.map((c) => `${c.key}: rel ${c.rel.toExponential(2)} (tol ${c.tol})`).join("; ");
}

describe.skipIf(!hasGolden())(`golden parity (${goldenDir()})`, () => {
  const fixtures = hasGolden() ? listFixtures().filter((n) => runnerFor(n)) : [];
  for (const name of fixtures) {
    it(name, async () => {
      const fx = loadFixture(name);
      const rows = await runnerFor(name)!.run(fx, env);
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(r.checks.length, `${r.executor} compared nothing`).toBeGreaterThan(0);
        expect(rowPasses(r), `${r.executor}: ${describeRow(r)}`).toBe(true);
      }
    });
  }
});
