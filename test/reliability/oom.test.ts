/**
 * Issue 11 item 3, out of memory at run time: an allocation that really fails (V8 refusing a huge ArrayBuffer)
 * inside a generate job reaches the UI as an OutOfMemoryError whose message keeps what ran out and adds the
 * memory planner's estimate and suggestions for that request, computed over the bundled pack's manifest.
 * Other failures pass through unchanged.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BadInputError, OutOfMemoryError } from "../../src/engine/errors.js";
import { parseManifest } from "../../src/engine/packs/schema.js";
import { isOutOfMemory, outOfMemoryError } from "../../src/engine/runtime/oom.js";
import { hostJobs, type JobHandlers } from "../../src/workers/host.js";
import { generateOomAdvice, generatePlanOptions } from "../../src/workers/oom-advice.js";
import type { FromWorker } from "../../src/workers/protocol.js";
import { repoRoot } from "../support/golden.js";
import { movingSquareVideo } from "../support/synthetic_media.js";

/** A real allocation failure. */
function allocationFailure(): unknown {
  try {
    new ArrayBuffer(2 ** 52);
  } catch (e) {
    return e;
  }
  throw new Error("a 4 PiB ArrayBuffer was allocated");
}

const manifest = parseManifest(
  new Uint8Array(readFileSync(`${repoRoot}/public/models/default/manifest.json`)),
  "default/manifest.json",
);

const v2a = {
  task: "v2a",
  pack: { kind: "bundled" },
  prompt: "a ball bouncing",
  seed: 1,
  steps: 2,
  guidanceScale: 2.5,
  compare: false,
  previewEvery: 0,
  aligner: {
    enabled: true,
    lambda: 0.1,
    warmup: 0.2,
    iterations: 1,
    optimizer: "adam",
    weights: { text: 1, vision: 1 },
    promptTuning: { enabled: false, lambda: 0.1 },
  },
  video: movingSquareVideo(3, 4),
};

describe("out of memory at run time", () => {
  it("recognises allocation failures of V8, wasm heaps, onnxruntime and WebGPU, and nothing else", () => {
    const oom = [
      allocationFailure(),
      new RangeError("WebAssembly.Memory.grow(): Maximum memory size exceeded; Cannot enlarge memory arrays"),
      new Error("Aborted(OOM). Build with -sASSERTIONS for more info."),
      new Error(
        "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer",
      ),
      new Error("std::bad_alloc"),
      Object.assign(new Error("Not enough memory left"), { name: "GPUOutOfMemoryError" }),
      new Error("Buffer size (4294967296) exceeds the max buffer size limit (maxBufferSize)."),
      new OutOfMemoryError("planned refusal"),
    ];
    for (const e of oom) expect(isOutOfMemory(e), String(e)).toBe(true);
    const other = [
      new TypeError("Cannot read properties of undefined (reading 'shape')"),
      new BadInputError("Steps must be an integer from 1 to 1000 (got 0)."),
      new Error("Session already started"),
      "out of memory", // a bare string is not an error object
      null,
    ];
    for (const e of other) expect(isOutOfMemory(e), String(e)).toBe(false);
  });

  it("maps the request to the planner's options (seconds from the video, the aligner, CFG)", () => {
    expect(generatePlanOptions(v2a)).toEqual({
      task: "v2a",
      seconds: 3,
      guidance: true,
      guidanceExecutor: "tfjs",
      promptTuning: false,
      cfg: true,
    });
    // the studio's default gradient path: the plan models the ONNX Runtime guidance graph
    expect(generatePlanOptions({ ...v2a, gradExecutor: "onnx" })).toMatchObject({ guidanceExecutor: "onnx" });
    expect(
      generatePlanOptions({ task: "a2v", frames: 8, height: 64, width: 96, guidanceScale: 1 }),
    ).toMatchObject({ task: "a2v", frames: 8, height: 64, width: 96, cfg: false, guidance: false });
    expect(generatePlanOptions({ task: "probe" })).toBeNull();
    expect(generatePlanOptions(null)).toBeNull();
  });

  it("a generate job whose allocation fails ends with OutOfMemoryError carrying the planner's advice", async () => {
    const posted: FromWorker[] = [];
    let send: (d: unknown) => void = () => {};
    const host = hostJobs(
      { postMessage: (m) => posted.push(m), onMessage: (h) => (send = h), onUnhandled: () => {} },
      "engine",
      {
        generate: async () => {
          throw allocationFailure();
        },
        "selftest-slow": async () => {
          throw new TypeError("not memory");
        },
      } as unknown as JobHandlers<"engine">,
      {
        heartbeatMs: 60_000,
        outOfMemoryAdvice: async (job, params) =>
          job === "generate" ? generateOomAdvice(params, manifest) : null,
      },
    );
    send({ kind: "run", id: "g", job: "generate", params: v2a });
    send({ kind: "run", id: "s", job: "selftest-slow", params: { iterations: 1, delayMs: 0 } });
    await expect.poll(() => posted.filter((m) => m.kind === "error").length).toBe(2);
    host.stop();
    const g = posted.find((m) => m.kind === "error" && m.id === "g");
    if (g?.kind !== "error") throw new Error("no answer for the generate job");
    expect(g.error).toMatchObject({ name: "OutOfMemoryError", code: "OUT_OF_MEMORY" });
    const msg = g.error.message;
    expect(msg).toMatch(/^Not enough memory for this run \(.*allocation failed.*\)\./i);
    expect(msg).toMatch(
      /The memory planner puts this run's peak at about \d+ MB \((encode|denoise|decode) phase\)/,
    );
    expect(msg).toMatch(/Try a shorter audio length \(now 3 s\), or running without the aligner/);
    // the same advice for a bigger request names the bigger peak: the numbers come from the planner
    const peak = (p: unknown) => Number(/about (\d+) MB/.exec(generateOomAdvice(p, manifest) ?? "")?.[1]);
    expect(peak({ ...v2a, durationS: 20 })).toBeGreaterThan(peak(v2a));
    // any other failure passes through as it was
    const s = posted.find((m) => m.kind === "error" && m.id === "s");
    expect(s).toMatchObject({ error: { code: "INTERNAL", message: "not memory" } });
  });

  it("without advice, the message still says what ran out and what to try", () => {
    const e = outOfMemoryError(allocationFailure(), null);
    expect(e).toBeInstanceOf(OutOfMemoryError);
    expect(e.message).toMatch(/Not enough memory for this run \(.*\)\. Try a shorter audio length/);
    const planned = new OutOfMemoryError("This run needs about 900 MB");
    expect(outOfMemoryError(planned, "ignored")).toBe(planned);
  });
});
