/**
 * npm run parity -- [DIR] [--ort web|node] [--no-quant]
 *
 * Finds every golden fixture in DIR (default $GOLDEN_DIR or ../shared/fixtures/golden), runs each one that
 * has a runner through the tfjs executor (outputs and gradients) and the ONNX executor (fp32 outputs; fp16 and
 * q4 variants reported as information), prints one row per fixture × executor, lists the fixtures without a
 * runner, and exits non-zero on any FAIL.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import type { OrtModule } from "../src/engine/ops/onnx/session.js";
import { type ParityRow, rowPasses } from "../test/parity/harness.js";
import { runnerFor } from "../test/parity/index.js";
import { goldenDir, listFixtures, loadFixture } from "../test/support/golden.js";

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flag = (name: string) => args.includes(name);
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
  };
  const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1] === "--ort"));
  const dir = positional[0] ?? goldenDir();
  const which = opt("--ort", "web");
  const ort: OrtModule =
    which === "node"
      ? ((await import("onnxruntime-node")) as unknown as OrtModule)
      : await (async () => {
          const m = await import("onnxruntime-web");
          m.env.wasm.numThreads = 1;
          return m as unknown as OrtModule;
        })();
  tf.env().set("PROD", true);
  await tf.setBackend("cpu");
  const env = { ort, quantized: !flag("--no-quant") };

  const names = listFixtures(dir);
  const unsupported: string[] = [];
  const rows: ParityRow[] = [];
  let failed = 0;
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`golden dir: ${dir}   onnx runtime: onnxruntime-${which}\n`);
  console.log(
    `${pad("fixture", 24)} ${pad("executor", 10)} ${pad("worst tensor", 34)} ${pad("max rel L2", 11)} ${pad("tol", 9)} status`,
  );
  for (const name of names) {
    const runner = runnerFor(name);
    if (!runner) {
      unsupported.push(name);
      continue;
    }
    let fxRows: ParityRow[];
    const t0 = performance.now();
    try {
      fxRows = await runner.run(loadFixture(name, dir), env);
    } catch (e) {
      failed++;
      console.log(`${pad(name, 24)} ${pad("-", 10)} ERROR ${(e as Error).message}`);
      continue;
    }
    const ms = performance.now() - t0;
    for (const r of fxRows) {
      rows.push(r);
      const worst = [...r.checks].sort((a, b) => b.rel / (b.tol ?? 1) - a.rel / (a.tol ?? 1))[0];
      const ok = rowPasses(r);
      if (!ok) failed++;
      const status = r.informational ? "INFO" : ok ? "PASS" : "FAIL";
      const tol = worst?.tol === null || worst === undefined ? "-" : worst.tol.toExponential(1);
      console.log(
        `${pad(name, 24)} ${pad(r.executor, 10)} ${pad(worst?.key ?? "(nothing compared)", 34)} ${pad(worst ? worst.rel.toExponential(2) : "-", 11)} ${pad(tol, 9)} ${status}`,
      );
      if (!ok && !r.informational)
        for (const c of r.checks)
          console.log(`    ${pad(c.key, 30)} rel ${c.rel.toExponential(2)} tol ${c.tol}`);
    }
    console.log(`${pad("", 24)} (${ms.toFixed(0)} ms)`);
  }
  console.log(`\n${rows.filter((r) => !r.informational).length} checked rows, ${failed} failed`);
  if (unsupported.length)
    console.log(`fixtures without a runner yet (${unsupported.length}): ${unsupported.join(", ")}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
