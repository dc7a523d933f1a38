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

/** Runs `npm run cli -- <args> --json` as a process and returns the JSON summary it prints last. */
async function cli<S>(args: string[], timeout = 300_000): Promise<S> {
  const { stdout } = await run("node", ["tools/run.mjs", "tools/cli.ts", ...args, "--json"], {
    cwd: repoRoot,
    timeout,
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as S;
}

describe("npm run cli -- generate", () => {
  it("t2a writes a WAV of the requested duration and a JSON summary", async () => {
    const out = await mkdtemp(join(tmpdir(), "cli-"));
    const summary = await cli<{ files: string[]; runs: Record<string, { loss: number }> }>([
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
    ]);
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
    const summary = await cli<{ files: string[]; runs: Record<string, { loss: number }>; durationS: number }>(
      ["generate", "v2a", "--video", clip, "--steps", "4", "--compare", "--out", out],
    );
    expect(summary.durationS).toBe(2);
    expect(Object.keys(summary.runs).sort()).toEqual(["guided", "vanilla"]);
    expect(summary.files.filter((f) => f.endsWith(".mp4"))).toHaveLength(2);
    const p = await probe(summary.files[1]);
    expect(p.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
    expect(Math.abs(Number(p.format.duration) - 2)).toBeLessThan(0.15);
  });

  it.skipIf(!hasFfmpeg)(
    "a2v --compare writes guided and vanilla MP4: generated frames + the input audio",
    async () => {
      const out = await mkdtemp(join(tmpdir(), "cli-"));
      const clip = join(out, "tone.wav");
      await run("ffmpeg", [
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=22050",
        "-t",
        "1.5",
        "-y",
        clip,
      ]);
      const summary = await cli<{
        files: string[];
        runs: Record<string, { loss: number }>;
        geometry: { durationS: number; latentShape: number[] };
      }>(
        [
          "generate",
          "a2v",
          "--audio",
          clip,
          "--prompt",
          "a bell ringing",
          ...["--frames", "4", "--height", "64", "--width", "64", "--fps", "4", "--steps", "3"],
          "--compare",
          "--memory-budget",
          "8",
          "--out",
          out,
        ],
        600_000,
      );
      expect(summary.geometry).toMatchObject({ durationS: 1, latentShape: [1, 4, 4, 8, 8] });
      expect(Object.keys(summary.runs).sort()).toEqual(["guided", "vanilla"]);
      expect(summary.files.map((f) => f.split("/").pop())).toEqual(["tone.vanilla.mp4", "tone.guided.mp4"]);
      const p = await probe(summary.files[1]);
      expect(p.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
      expect(p.streams.find((s) => s.codec_type === "video")).toMatchObject({ width: 64, height: 64 });
      expect(Math.abs(Number(p.format.duration) - 1)).toBeLessThan(0.15);
    },
    600_000,
  );

  it.skipIf(!hasFfmpeg)(
    "joint writes WAV + MP4 with the generated audio and video; mismatched steps are refused",
    async () => {
      const out = await mkdtemp(join(tmpdir(), "cli-"));
      const args = ["generate", "joint", "--prompt", "a dog barking", "--out", out];
      const small = ["--frames", "4", "--height", "64", "--width", "64", "--fps", "4", "--steps", "3"];
      const summary = await cli<{
        files: string[];
        runs: Record<string, { loss: number; scores: Record<string, number> }>;
        durationS: number;
      }>([...args, ...small], 600_000);
      expect(summary.durationS).toBe(1);
      expect(Object.keys(summary.runs)).toEqual(["guided"]);
      expect(Object.keys(summary.runs.guided.scores).sort()).toEqual([
        "AT-align_bind",
        "AV-align_bind",
        "VT-align_bind",
      ]);
      const [wavPath, mp4] = summary.files;
      const wav = decodeWav(new Uint8Array(await readFile(wavPath)));
      expect(wav.sampleRate).toBe(16000);
      expect(wav.channels[0].length).toBe(16000);
      const p = await probe(mp4);
      expect(p.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
      const bad = await cli([...args, ...small, "--audio-steps", "30"], 600_000).then(
        () => null,
        (e: { stderr: string; code: number }) => e,
      );
      expect(bad?.code).toBe(1);
      expect(bad?.stderr).toMatch(/BadInputError.*lock-step with ONE step count/);
    },
    600_000,
  );
});

async function probe(file: string) {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_type,width,height:format=duration",
    "-of",
    "json",
    file,
  ]);
  return JSON.parse(stdout) as {
    streams: { codec_type: string; width?: number; height?: number }[];
    format: { duration: string };
  };
}
