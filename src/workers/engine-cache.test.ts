/**
 * The engine worker's engine cache: one held engine reused while the pack, executors and task kind allow it, a
 * joint engine serving the audio and video tasks, the previous engine closed (with its executor's weights)
 * before another opens, and a failed open retried. The engines are stand-ins: this is the cache's bookkeeping.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { PackSource } from "../engine/packs/loader.js";
import type { EngineExecutors } from "../engine/pipelines/audio_engine.js";

const log: string[] = [];
const fake = (name: string) => ({ name, dispose: async () => void log.push(`dispose ${name}`) });
let failNext = false;

vi.mock("../engine/session.js", () => ({
  openAudioEngine: async () => fake("audio"),
  openVideoEngine: async () => {
    if (failNext) {
      failNext = false;
      throw new Error("load failed");
    }
    return fake("video");
  },
  openJointEngine: async () => ({ ...fake("joint"), audio: fake("joint.audio"), video: fake("joint.video") }),
}));

const { EngineCache, audioOf, videoOf } = await import("./engine-cache.js");

let opened = 0;
function request(kind: "audio" | "video" | "joint", key = "bundled · wasm") {
  return {
    key,
    kind,
    source: async () => {
      opened++;
      return { id: "default" } as unknown as PackSource;
    },
    exec: () =>
      ({ forward: {}, grad: { dispose: () => void log.push(`grad ${kind}`) } }) as unknown as EngineExecutors,
    load: {},
  };
}

beforeEach(() => {
  log.length = 0;
  opened = 0;
});

describe("EngineCache", () => {
  it("reuses the held engine for the same pack and kind, and a joint engine for audio and video tasks", async () => {
    const cache = new EngineCache();
    const a = await cache.get(request("joint"));
    expect(a.fresh).toBe(true);
    expect(a.packId).toBe("default");
    const b = await cache.get(request("audio"));
    const c = await cache.get(request("video"));
    expect([b.fresh, c.fresh]).toEqual([false, false]);
    expect(opened).toBe(1);
    expect((audioOf(b.engines) as unknown as { name: string }).name).toBe("joint.audio");
    expect((videoOf(c.engines) as unknown as { name: string }).name).toBe("joint.video");
    expect(cache.count).toBe(1);
  });

  it("closes the held engine and its executor's weights before opening another kind or pack", async () => {
    const cache = new EngineCache();
    await cache.get(request("audio"));
    await cache.get(request("video"));
    expect(log).toEqual(["dispose audio", "grad audio"]);
    expect(videoOf((await cache.get(request("video"))).engines)).not.toBeNull();
    expect(audioOf((await cache.get(request("video"))).engines)).toBeNull();
    await cache.get(request("video", "installed:x · wasm"));
    expect(log.slice(2)).toEqual(["dispose video", "grad video"]);
    await cache.close();
    expect(cache.count).toBe(0);
    expect(opened).toBe(3);
  });

  it("forgets a failed open, so the next request opens again", async () => {
    const cache = new EngineCache();
    failNext = true;
    await expect(cache.get(request("video"))).rejects.toThrow("load failed");
    expect(cache.count).toBe(0);
    expect(log).toContain("grad video"); // the failed open's executor is released too
    const r = await cache.get(request("video"));
    expect(r.fresh).toBe(true);
    expect(opened).toBe(2);
  });
});
