/** Results between the worker, the store and the gallery: the round trip through blobs, and AV-align's pairs. */
import { describe, expect, it } from "vitest";
import type { GenerateResult } from "../../workers/generate-schemas.js";
import type { DecodeResult } from "../../workers/media-schemas.js";
import {
  avAlignParams,
  blobsOf,
  metaOf,
  resultFrom,
  resultFromGallery,
  saveFailureMessage,
} from "./results.js";
import { defaultFields } from "./settings.js";
import type { InputView } from "./state.js";

const frames = (seed: number) => {
  const data = new Uint8Array(4 * 8 * 8 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 17) % 256;
  return { data, numFrames: 4, width: 8, height: 8, fps: 4 };
};
const tone = (f: number) =>
  Float32Array.from({ length: 1600 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / 16000));

function generated(task: GenerateResult["task"], withAudio: boolean, withFrames: boolean): GenerateResult {
  const run = (k: number) => ({
    ...(withAudio ? { waveform: tone(300 + 100 * k), sampleRate: 16000 } : {}),
    ...(withFrames ? { frames: frames(k) } : {}),
    scores: { "AV-align_bind": 0.1 * k },
    loss: 1 - 0.1 * k,
    lossCurve: [{ i: 1, loss: 1 }],
  });
  return {
    task,
    packId: "default",
    prompt: "a bell",
    autoPrompt: false,
    durationS: 1,
    runs: { vanilla: run(1), guided: run(2) },
    executors: { forward: "onnxruntime-web wasm", grad: "tfjs wasm" },
    loadMs: 0,
    runMs: 10,
  };
}

const audioInput: InputView = {
  id: "in-1",
  kind: "audio",
  name: "beeps.wav",
  type: "audio/wav",
  bytes: 100,
  status: "ready",
  error: null,
  durationS: 1,
  sourceDurationS: 2,
  trimStartS: 0.5,
  width: null,
  height: null,
  fps: null,
  numFrames: null,
  note: null,
  decoder: "ffmpeg.wasm",
};
const decodedAudio: DecodeResult = {
  kind: "audio",
  channels: [tone(440), tone(660)],
  sampleRate: 16000,
  durationS: 0.1,
  sourceDurationS: 2,
  info: { format: "wav", durationS: 2, hasAudio: true, hasVideo: false, decoder: "ffmpeg.wasm" },
};

describe("results", () => {
  it("survive the gallery: frames and audio back byte for byte, the condition WAV kept (A2V)", async () => {
    const file = new Blob([new Uint8Array([1, 2, 3])], { type: "audio/wav" });
    const r = resultFrom(
      "a2v",
      defaultFields("a2v"),
      audioInput,
      file,
      decodedAudio,
      generated("a2v", false, true),
    );
    expect(r.runs.guided?.video).toEqual({ numFrames: 4, width: 8, height: 8, fps: 4 });
    expect(r.conditionWav).not.toBeNull();
    const blobs = blobsOf(r);
    expect(Object.keys(blobs).sort()).toEqual(["condition.wav", "guided.rgb", "input", "vanilla.rgb"]);
    const back = await resultFromGallery(JSON.parse(JSON.stringify(metaOf(r))), blobs);
    expect(back.media.guided?.frames).toEqual(r.media.guided?.frames);
    expect(back.media.vanilla?.frames).not.toEqual(back.media.guided?.frames);
    expect(back.conditionWav).toBe(blobs["condition.wav"]);
    expect(back.saved).toBe("saved");
  });

  it("decode each joint run's WAV back to its waveform (16-bit PCM)", async () => {
    const r = resultFrom("joint", defaultFields("joint"), null, null, null, generated("joint", true, true));
    const back = await resultFromGallery(metaOf(r), blobsOf(r));
    for (const run of ["vanilla", "guided"] as const) {
      const a = r.media[run]!.waveform!;
      const b = back.media[run]!.waveform!;
      expect(b.length).toBe(a.length);
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1 / 16384);
      expect(back.media[run]?.frames).toEqual(r.media[run]?.frames);
    }
  });

  it("pair AV-align's audio and video per task, and skip I2A", () => {
    const v2aVideo: DecodeResult = {
      kind: "video",
      frames: frames(9),
      durationS: 1,
      sourceDurationS: 1,
      scaledFrom: null,
      info: { format: "mov,mp4", durationS: 1, hasAudio: false, hasVideo: true, decoder: "ffmpeg.wasm" },
    };
    const v2a = resultFrom("v2a", defaultFields("v2a"), null, null, v2aVideo, generated("v2a", true, false));
    const pv = avAlignParams(v2a, v2aVideo)!;
    expect(pv.video).toBe(v2aVideo.frames);
    expect(pv.audios.map((a) => a.name)).toEqual(["vanilla", "guided"]);
    expect(avAlignParams(v2a, null)).toBeNull(); // V2A without its input video: nothing to align

    const a2v = resultFrom(
      "a2v",
      defaultFields("a2v"),
      audioInput,
      null,
      decodedAudio,
      generated("a2v", false, true),
    );
    const pa = avAlignParams(a2v, decodedAudio)!;
    expect(pa.video).toBeUndefined();
    // each run's frames against the condition audio (mono mix)
    expect(pa.audios.map((a) => a.video?.data)).toEqual([
      a2v.media.vanilla?.frames,
      a2v.media.guided?.frames,
    ]);
    expect(pa.audios[0]!.waveform[5]).toBeCloseTo((tone(440)[5]! + tone(660)[5]!) / 2, 6);

    const joint = resultFrom(
      "joint",
      defaultFields("joint"),
      null,
      null,
      null,
      generated("joint", true, true),
    );
    const pj = avAlignParams(joint, null)!;
    expect(pj.audios.map((a) => [a.waveform, a.video?.data])).toEqual([
      [joint.media.vanilla?.waveform, joint.media.vanilla?.frames],
      [joint.media.guided?.waveform, joint.media.guided?.frames],
    ]);

    const i2a = resultFrom("i2a", defaultFields("i2a"), null, null, null, generated("i2a", true, false));
    expect(avAlignParams(i2a, null)).toBeNull();
    expect(i2a.avAlign?.status).toBe("n/a");
  });
});

describe("a gallery save that fails", () => {
  it("tells the user the storage is full, and what to do, for every form a quota error takes", () => {
    const quota = [
      new DOMException("The quota has been exceeded.", "QuotaExceededError"),
      Object.assign(new Error("write failed"), { code: 22 }),
      new Error("QuotaExceeded: origin over its storage quota"),
    ];
    for (const e of quota) {
      const m = saveFailureMessage(e);
      expect(m).toMatch(/storage for the studio is full/);
      expect(m).toMatch(/Export the result now/);
    }
  });

  it("names any other failure and says the result stays open", () => {
    const m = saveFailureMessage(new DOMException("Transaction was aborted", "AbortError"));
    expect(m).toMatch(/Transaction was aborted/);
    expect(m).toMatch(/stays open in this tab/);
    expect(m).not.toMatch(/full/);
  });
});
