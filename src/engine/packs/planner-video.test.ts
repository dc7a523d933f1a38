/**
 * Video-job planning: the request's own ImageBind geometry, the adapter's frame limit, the fallback order
 * (q4 → no prompt tuning → largest size with the most frames) and the refusal, on the bundled pack; and the
 * numbers docs/memory.md quotes for the real checkpoints (16 frames at 512², 8 GB).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fullSizeManifest } from "../../../test/support/fullsize.js";
import { hasGolden, repoRoot } from "../../../test/support/golden.js";
import { BadInputError } from "../errors.js";
import { MemoryPlanner } from "./planner.js";
import { planVideoJob, smallerSizes, type VideoJobRequest, videoTaskOptions } from "./planner-video.js";
import { folderPack } from "./sink-node.js";

const MB = 1024 ** 2;
const GiB = 1024 ** 3;
let planner: MemoryPlanner;

beforeAll(async () => {
  planner = new MemoryPlanner((await folderPack(join(repoRoot, "public/models/default"))).manifest);
});

const a2v = (over: Partial<VideoJobRequest> = {}): VideoJobRequest => ({
  task: "a2v",
  frames: 16,
  height: 256,
  width: 256,
  fps: 8,
  guidance: true,
  promptTuning: false,
  ...over,
});

describe("planVideoJob (default pack)", () => {
  it("plans the guidance on the executor the job uses: joint on ORT holds both paths in one graph", () => {
    // small frames, so the guidance (not the UNet step) is the denoise phase's largest work
    const denoise = (r: VideoJobRequest) =>
      planner
        .estimate(videoTaskOptions({ ...r, frames: 4, fps: 4, height: 64, width: 64 }))
        .phases.find((p) => p.name === "denoise")!;
    const a2vOrt = denoise(a2v({ guidanceExecutor: "onnx" }));
    const jointOrt = denoise(a2v({ task: "joint", guidanceExecutor: "onnx" }));
    const jointTfjs = denoise(a2v({ task: "joint", guidanceExecutor: "tfjs" }));
    expect(a2vOrt.activationSource).toBe("guidance forward + backward (ONNX Runtime)");
    expect(jointOrt.activationSource).toBe("guidance forward + backward (ONNX Runtime)");
    expect(jointTfjs.activationSource).toBe("guidance backward");
    // the joint graph = the video path + the audio path: more than the video path alone
    expect(jointOrt.activationBytes).toBeGreaterThan(a2vOrt.activationBytes);
    // the guidance graph's weights are ORT copies (not tfjs), and ImageBind's audio and vision towers both
    expect(
      jointOrt.resident.filter((r) => r.component.includes("imagebind") && r.executor === "onnx").length,
    ).toBe(2);
    // with prompt tuning the whole path differentiates on tfjs, whatever was asked
    expect(
      denoise(a2v({ task: "joint", guidanceExecutor: "onnx", promptTuning: true })).activationSource,
    ).toMatch(/prompt tuning/);
  });

  it("derives clips and guided frames from frames/fps (SPEC §8 Q8): 16 @ 8 fps → 2 clips, 4 decoded frames", () => {
    expect(videoTaskOptions(a2v())).toMatchObject({ clips: 2, decodeFrames: 4, seconds: 2 });
    expect(videoTaskOptions(a2v({ frames: 4, fps: 4 }))).toMatchObject({
      clips: 1,
      decodeFrames: 2,
      seconds: 1,
    });
    expect(videoTaskOptions(a2v({ frames: 8, fps: 8 }))).toMatchObject({ clips: 1, decodeFrames: 2 });
  });

  it("refuses more frames than the motion adapter takes, whatever the memory", () => {
    expect(() =>
      planVideoJob(planner, a2v({ frames: 40 }), { budgetBytes: 64 * GiB, maxBufferSize: GiB }),
    ).toThrow(BadInputError);
  });

  it("accepts what fits; otherwise q4, no prompt tuning, then the largest size with the most frames", () => {
    const big = { budgetBytes: 64 * GiB, maxBufferSize: 64 * GiB };
    const asked = a2v({ promptTuning: true, onnxWeights: "fp16" });
    expect(planVideoJob(planner, asked, big)).toMatchObject({ ok: true, fallbacks: [] });
    const peak = (r: VideoJobRequest) => planner.estimate(videoTaskOptions(r)).peakBytes;
    const lean = { ...asked, promptTuning: false, onnxWeights: "q4" as const };
    const p1 = planVideoJob(planner, asked, { budgetBytes: peak(lean), maxBufferSize: 64 * GiB });
    expect(p1.fallbacks).toEqual([
      "UNet and text-encoder weights held as 4-bit (q4) instead of fp16",
      "prompt tuning turned off",
    ]);
    expect(p1.request).toMatchObject({ frames: 16, promptTuning: false, onnxWeights: "q4" });
    // without the aligner the UNet step is the peak and scales with frames: a budget 12 frames fit in, 16 not
    const vanilla = a2v({ guidance: false, onnxWeights: "fp16" });
    const budget = peak({ ...vanilla, frames: 12, onnxWeights: "q4" });
    expect(peak({ ...vanilla, onnxWeights: "q4" })).toBeGreaterThan(budget);
    const p2 = planVideoJob(planner, vanilla, { budgetBytes: budget, maxBufferSize: 64 * GiB });
    expect(p2.ok).toBe(true);
    expect(p2.fallbacks).toEqual([
      "UNet and text-encoder weights held as 4-bit (q4) instead of fp16",
      "12 frames instead of 16",
    ]);
    expect(p2.request).toMatchObject({ frames: 12, height: 256, onnxWeights: "q4" });
    expect(p2.estimate.options).toMatchObject({ clips: 2, decodeFrames: 4 }); // 12 @ 8 fps = 1.5 s → 2 clips
  });

  it("lowers the resolution in 64-px steps when frames are not enough, and refuses below that", () => {
    expect(smallerSizes(512, 512)).toEqual([
      [448, 448],
      [384, 384],
      [320, 320],
      [256, 256],
    ]);
    expect(smallerSizes(512, 768)[0]).toEqual([448, 704]); // long side 768 → 704, short side scaled and rounded
    const asked = a2v({ height: 384, width: 384, guidance: false, onnxWeights: "q4" });
    const at256 = planner.estimate(videoTaskOptions({ ...asked, height: 256, width: 256 })).peakBytes;
    const p = planVideoJob(planner, asked, { budgetBytes: at256, maxBufferSize: 64 * GiB });
    expect(p.ok).toBe(true);
    expect(p.fallbacks.at(-1)).toMatch(/^(256|320)×(256|320) instead of 384×384$/);
    const no = planVideoJob(planner, asked, { budgetBytes: 8 * MB, maxBufferSize: 64 * GiB });
    expect(no.ok).toBe(false);
    expect(no.message).toMatch(
      /^Even with every fallback \(8 frames at 256×256\): This run needs about \d+ MB/,
    );
  });
});

describe.skipIf(!hasGolden())("the real checkpoints at 16 frames, 512², 8 GB (docs/memory.md)", () => {
  it("vanilla fits after q4 with fewer frames / a lower resolution; guided runs are refused with the reason", () => {
    const real = new MemoryPlanner(fullSizeManifest());
    const gpu = { budgetBytes: 8 * GiB, maxBufferSize: 2 * GiB };
    const ask = a2v({ height: 512, width: 512 });
    const asked = real.estimate(videoTaskOptions({ ...ask, onnxWeights: "q4" }));
    const denoise = asked.phases.find((p) => p.name === "denoise")!;
    expect(denoise.activationSource).toBe("guidance backward");
    const vanilla = planVideoJob(real, { ...ask, guidance: false }, gpu);
    expect(vanilla.ok).toBe(true);
    expect(vanilla.fallbacks[0]).toMatch(/q4/);
    expect(vanilla.estimate.peakBytes).toBeLessThanOrEqual(8 * GiB);
    const guided = planVideoJob(real, ask, gpu);
    expect(guided.ok).toBe(false);
    expect(guided.message).toMatch(/guidance backward/);
    const joint = planVideoJob(real, { ...ask, task: "joint" }, gpu);
    expect(joint.ok).toBe(false);
    console.log(
      `real a2v 16×512² q4 guided: peak ${Math.round(asked.peakBytes / MB)} MB (denoise weights ${Math.round(denoise.weightsBytes / MB)} MB);`,
      `vanilla plan on 8 GB: ${vanilla.fallbacks.join("; ")} → ${Math.round(vanilla.estimate.peakBytes / MB)} MB;`,
      `guided: ${guided.message}`,
    );
  }, 600_000);
});
