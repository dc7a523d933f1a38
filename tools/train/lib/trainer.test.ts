/**
 * The training loop's wall-clock deadline (all.ts --finish-by): a job that cannot reach its planned steps in time
 * FINISHES at the deadline (final weights + done.json saying so) with its learning rate annealed on the clock;
 * without a deadline the same job runs to its planned steps and the loss falls.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Linear } from "../../../src/engine/nn/layers.js";
import { nameParams } from "../../../src/engine/ops/param.js";
import { type TfjsOps, tf } from "../../../src/engine/ops/tfjs.js";
import { initParams } from "./params.js";
import { cosineLr, train } from "./trainer.js";

const root = mkdtempSync(join(tmpdir(), "trainer-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function job(dir: string, steps: number, deadline?: number) {
  const model = { lin: new Linear(8, 4) };
  nameParams(model);
  const x = tf.randomNormal([16, 8], 0, 1, "float32", 1);
  const target = tf.randomNormal([16, 4], 0, 1, "float32", 2);
  return {
    name: "toy",
    dir,
    models: { toy: model },
    steps,
    lr: cosineLr(0.05, steps, 2),
    deadline,
    printEvery: 1_000_000,
    init: () => initParams(model, 3),
    batch: (step: number) => ({ step }),
    loss: (ops: TfjsOps) => tf.mean(tf.square(tf.sub(model.lin.forward(ops, x), target))) as tf.Scalar,
  };
}

const logOf = (dir: string) =>
  readFileSync(join(dir, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step: number; loss: number; lr: number });

describe("train()", () => {
  it("runs to the planned steps without a deadline, and the loss falls", async () => {
    const dir = join(root, "full");
    const res = await train(job(dir, 30));
    expect(res).toMatchObject({ step: 30, finished: true });
    const log = logOf(dir);
    expect(log).toHaveLength(30);
    expect(log[29].loss).toBeLessThan(0.8 * log[0].loss);
    const done = JSON.parse(readFileSync(join(dir, "done.json"), "utf8"));
    expect(done).toMatchObject({ step: 30, plannedSteps: 30, stoppedAtDeadline: false });
  });

  it("finishes at its deadline with the step reached and the learning rate annealed", async () => {
    const dir = join(root, "deadline");
    const t0 = Date.now();
    const res = await train({
      ...job(dir, 1_000_000),
      afterStep: () => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5),
      deadline: Date.now() + 1500,
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(res.finished).toBe(true);
    expect(res.step).toBeGreaterThan(2);
    expect(res.step).toBeLessThan(1_000_000);
    const done = JSON.parse(readFileSync(join(dir, "done.json"), "utf8"));
    expect(done).toMatchObject({ step: res.step, plannedSteps: 1_000_000, stoppedAtDeadline: true });
    const log = logOf(dir);
    // the schedule ran on the clock: far past warm-up and down to near its 10% floor by the end
    expect(log[log.length - 1].lr).toBeLessThan(0.2 * 0.05);
    expect(readFileSync(join(dir, "final", "toy.safetensors")).length).toBeGreaterThan(4 * 36);
  });
});
