/**
 * The pack jobs as the engine worker runs them (over a memory cache): params and results pass the worker
 * protocol's schemas, a picked folder (File objects with relative paths) converts into the cache, and the pack
 * lists, loads, estimates, verifies and deletes; events are valid job events.
 */
import { describe, expect, it } from "vitest";
import { syntheticAudioLDM } from "../../../test/support/packs.js";
import { parseParams, parseResult } from "../../workers/protocol.js";
import { type JobContext, type JobEvent, JobEventSchema } from "../runtime/job.js";
import { memoryCache } from "./cache.js";
import { packJobHandlers } from "./jobs.js";

function context(events: JobEvent[]): JobContext {
  return { signal: new AbortController().signal, emit: (e) => events.push(JobEventSchema.parse(e)) };
}

describe("pack jobs", () => {
  it("convert → list → load → estimate → verify → remove, all through the protocol's schemas", {
    timeout: 300_000,
  }, async () => {
    const cache = memoryCache();
    const jobs = packJobHandlers({
      cache: async () => cache,
      limits: async () => ({ budgetBytes: 8 * 2 ** 30, maxBufferSize: 2 ** 30 }),
    });
    const { files } = syntheticAudioLDM({ root: "picked", unetShards: 2 });
    const picked = Object.entries(files).map(([path, bytes]) => ({
      path,
      file: new File([typeof bytes === "string" ? bytes : new Uint8Array(bytes)], path.split("/").at(-1)!),
    }));
    const params = parseParams("packs-convert", {
      model: "audioldm-m-full",
      quant: "q4",
      id: "mine",
      name: "Mine",
      files: picked,
    });
    expect(params.ok).toBe(true);
    if (!params.ok) return;
    const events: JobEvent[] = [];
    const converted = await jobs["packs-convert"](params.value, context(events));
    expect(parseResult("packs-convert", converted).ok).toBe(true);
    expect(converted).toMatchObject({ id: "mine" });
    expect(events.some((e) => e.type === "progress" && e.phase === "converting")).toBe(true);

    const list = await jobs["packs-list"]();
    expect(parseResult("packs-list", list).ok).toBe(true);
    expect(list.packs.map((p) => [p.id, p.complete])).toEqual([["mine", true]]);
    expect(list.packs[0].models[0].components.find((c) => c.id === "unet")).toMatchObject({
      quantization: "q4",
    });

    const loaded = await jobs["packs-load"]({ id: "mine" }, context([]));
    expect(parseResult("packs-load", loaded).ok).toBe(true);
    expect(loaded.components.map((c) => c.component).sort()).toEqual([
      "text_encoder",
      "unet",
      "vae",
      "vocoder",
    ]);

    const estimate = await jobs["packs-estimate"]({
      ids: ["mine"],
      options: { task: "v2a", seconds: 2, guidance: false },
    });
    expect(parseResult("packs-estimate", estimate).ok).toBe(true);
    expect(estimate.ok).toBe(true);
    // with the aligner, this pack alone lacks ImageBind: the message names what to install
    await expect(jobs["packs-estimate"]({ options: { task: "v2a" } })).rejects.toThrow(
      /has no imagebind component/,
    );
    expect(structuredClone(estimate)).toEqual(estimate);

    const verified = await jobs["packs-verify"]({ id: "mine" }, context([]));
    expect(verified.bad).toEqual([]);
    await jobs["packs-remove"]({ id: "mine" });
    expect((await jobs["packs-list"]()).packs).toEqual([]);
  });

  it("refuses bad params before any work: unknown model, unsafe id, non-http mirrors", () => {
    expect(
      parseParams("packs-convert", { model: "gpt-2", quant: "q4", id: "x", name: "x", files: [] }).ok,
    ).toBe(false);
    expect(parseParams("packs-verify", { id: "../escape" }).ok).toBe(false);
    expect(parseParams("packs-install", { mirrors: ["file:///etc/"] }).ok).toBe(false);
    expect(parseParams("packs-install", { mirrors: ["https://example.org/packs/default/"] }).ok).toBe(true);
  });

  it("a failed conversion leaves no half-written pack in the cache", { timeout: 300_000 }, async () => {
    const cache = memoryCache();
    const jobs = packJobHandlers({
      cache: async () => cache,
      limits: async () => ({ budgetBytes: 1, maxBufferSize: 1 }),
    });
    const { files } = syntheticAudioLDM({ editUnet: (sd) => delete sd["conv_in.weight"] });
    // every component's keys are checked before anything is written
    const picked = Object.entries(files).map(([path, bytes]) => ({
      path,
      file: new File([typeof bytes === "string" ? bytes : new Uint8Array(bytes)], path),
    }));
    await expect(
      jobs["packs-convert"](
        { model: "audioldm-m-full", quant: "fp16", id: "bad", name: "bad", files: picked },
        context([]),
      ),
    ).rejects.toThrow(/missing 1: conv_in\.weight/);
    expect(cache.committed.size + cache.partial.size).toBe(0);
  });
});
