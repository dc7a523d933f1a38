/** ffmpeg.wasm in the media worker: a generated tone + frames muxed to MP4 and WebM, parsed back here. */
import { describe, expect, it } from "vitest";
import { parseMp4, parseWebm } from "./support/containers.js";
import { studioSession } from "./support/session.js";

const session = studioSession();

/** The self-test's input: 1 s of 440 Hz at 16 kHz, 10 frames of 64×48 at 10 fps (ui/commands.ts). */
const SECONDS = 1;
const FRAME = 1 / 10;
const AAC_FRAME = 1024 / 16_000;

type Files = Record<string, Uint8Array>;

async function muxSelftest(): Promise<Files> {
  const files = await session.studio.page.evaluate(async () => {
    const r = await window.__studio!.commands.muxSelftest();
    return r.files.map((f) => ({ format: f.format, bytes: Array.from(f.bytes) }));
  });
  return Object.fromEntries(files.map((f) => [f.format, Uint8Array.from(f.bytes)]));
}

describe("media worker (ffmpeg.wasm)", () => {
  let files: Files;

  it("muxes a generated tone and generated frames into MP4 (H.264/AAC) and WebM (VP8/Opus)", async () => {
    files = await muxSelftest();
    expect(Object.keys(files).sort()).toEqual(["mp4", "webm"]);
  });

  it("wrote an MP4 with one H.264 video and one AAC audio stream of the right duration", () => {
    const mp4 = parseMp4(files.mp4!);
    expect(Math.abs(mp4.duration - SECONDS)).toBeLessThanOrEqual(FRAME);
    const video = mp4.tracks.filter((t) => t.type === "video");
    const audio = mp4.tracks.filter((t) => t.type === "audio");
    expect(video).toHaveLength(1);
    expect(audio).toHaveLength(1);
    expect(video[0]).toMatchObject({ codec: "avc1", width: 64, height: 48 });
    expect(Math.abs(video[0]!.duration! - SECONDS)).toBeLessThanOrEqual(FRAME);
    expect(audio[0]).toMatchObject({ codec: "mp4a", sampleRate: 16_000 });
    // The AAC track carries encoder priming that the edit list hides: allow one AAC frame more.
    expect(Math.abs(audio[0]!.duration! - SECONDS)).toBeLessThanOrEqual(FRAME + AAC_FRAME);
  });

  it("wrote a WebM with one VP8 video and one Opus (48 kHz) audio stream of the right duration", () => {
    const webm = parseWebm(files.webm!);
    expect(webm.docType).toBe("webm");
    expect(Math.abs(webm.duration - SECONDS)).toBeLessThanOrEqual(FRAME);
    expect(webm.tracks.filter((t) => t.type === "video")).toEqual([
      { type: "video", codec: "V_VP8", width: 64, height: 48 },
    ]);
    expect(webm.tracks.filter((t) => t.type === "audio")).toEqual([
      { type: "audio", codec: "A_OPUS", sampleRate: 48_000 },
    ]);
  });

  it("cancels a mux, recreates ffmpeg, and muxes again", async () => {
    const { page } = session.studio;
    const outcome = await page.evaluate(async () => {
      const studio = window.__studio!;
      const started = studio.commands.muxSelftest();
      // Cancel as soon as the job reports its first phase.
      await new Promise<void>((resolve) => {
        const stop = studio.store.subscribe((s) => {
          const job = s.jobs.find((j) => j.job === "mux" && j.status === "running");
          if (job?.phase) {
            stop();
            studio.commands.cancel(job.id);
            resolve();
          }
        });
      });
      return started.then(
        () => "finished",
        (e: { code?: string }) => e.code ?? "unknown",
      );
    });
    expect(outcome).toBe("CANCELLED");
    const again = await muxSelftest();
    expect(parseMp4(again.mp4!).tracks).toHaveLength(2);
  });

  it("loaded ffmpeg from its own origin and sent nothing elsewhere", () => {
    expect(session.browser.requests).toContain(`${session.origin}/vendor/ffmpeg/ffmpeg-core.wasm`);
    session.expectClean();
  });
});
