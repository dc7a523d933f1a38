/** The CLI as a user runs it: a real process, real files, parsed outputs. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { decodeWav } from "../src/engine/media/wav.js";
import { repoRoot } from "../test/support/golden.js";

const run = promisify(execFile);
const hasFfmpeg = await run("ffmpeg", ["-version"]).then(
  () => true,
  () => false,
);

describe("npm run cli -- generate", () => {
  it("t2a writes a WAV of the requested duration and a JSON summary", async () => {
    const out = await mkdtemp(join(tmpdir(), "cli-"));
    const { stdout } = await run(
      "node",
      [
        "tools/run.mjs",
        "tools/cli.ts",
        "generate",
        "t2a",
        "--prompt",
        "rain on a roof",
        "--duration",
        "1",
        "--steps",
        "3",
        "--out",
        out,
        "--json",
      ],
      { cwd: repoRoot, timeout: 300_000 },
    );
    const summary = JSON.parse(stdout.trim().split("\n").pop()!) as {
      files: string[];
      runs: Record<string, { loss: number }>;
    };
    expect(Object.keys(summary.runs)).toEqual(["vanilla"]);
    const wav = decodeWav(new Uint8Array(await readFile(summary.files[0])));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.channels[0].length).toBe(16000);
  });

  it.skipIf(!hasFfmpeg)("v2a --compare writes guided and vanilla WAV + MP4 on the input video", async () => {
    const out = await mkdtemp(join(tmpdir(), "cli-"));
    const clip = join(out, "clip.mp4");
    await run("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=64x48:rate=8",
      "-t",
      "2",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      "-y",
      clip,
    ]);
    const { stdout } = await run(
      "node",
      [
        "tools/run.mjs",
        "tools/cli.ts",
        "generate",
        "v2a",
        "--video",
        clip,
        "--steps",
        "4",
        "--compare",
        "--out",
        out,
        "--json",
      ],
      { cwd: repoRoot, timeout: 300_000 },
    );
    const summary = JSON.parse(stdout.trim().split("\n").pop()!) as {
      files: string[];
      runs: Record<string, { loss: number }>;
      durationS: number;
    };
    expect(summary.durationS).toBe(2);
    expect(Object.keys(summary.runs).sort()).toEqual(["guided", "vanilla"]);
    expect(summary.files.filter((f) => f.endsWith(".mp4"))).toHaveLength(2);
    const { stdout: probe } = await run("ffprobe", [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type:format=duration",
      "-of",
      "json",
      summary.files[1],
    ]);
    const p = JSON.parse(probe) as { streams: { codec_type: string }[]; format: { duration: string } };
    expect(p.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
    expect(Math.abs(Number(p.format.duration) - 2)).toBeLessThan(0.15);
  });
});
