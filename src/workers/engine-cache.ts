/**
 * The engine worker's task engines, opened once per session and reused: at most one is held at a time (the pack
 * and executors it was opened with, and its kind). A joint engine serves the audio and video tasks too; asking
 * for a kind the held engine cannot serve closes it first (its runners' sessions and the tfjs executor's cached
 * weights), then opens the new one.
 */

import type { LoadComponentOptions, PackSource } from "../engine/packs/loader.js";
import type { AudioTaskEngine, EngineExecutors } from "../engine/pipelines/audio_engine.js";
import type { JointEngine } from "../engine/pipelines/joint.js";
import type { VideoTaskEngine } from "../engine/pipelines/video_engine.js";
import { openAudioEngine, openJointEngine, openVideoEngine } from "../engine/session.js";

export type EngineKind = "audio" | "video" | "joint";

export type Engines =
  | { kind: "audio"; audio: AudioTaskEngine }
  | { kind: "video"; video: VideoTaskEngine }
  | { kind: "joint"; joint: JointEngine };

interface Held {
  /** Pack and executors. */
  key: string;
  packId: string;
  kind: EngineKind;
  engines: Promise<Engines>;
  exec: EngineExecutors;
}

const serves = (held: EngineKind, want: EngineKind) => held === want || held === "joint";

export interface OpenRequest {
  key: string;
  kind: EngineKind;
  source: () => Promise<PackSource>;
  exec: () => EngineExecutors;
  load: LoadComponentOptions;
}

export class EngineCache {
  private held: Held | null = null;

  get count(): number {
    return this.held ? 1 : 0;
  }

  /** The held engines when they serve `r`; else the previous ones are closed and new ones opened. */
  async get(r: OpenRequest): Promise<{ engines: Engines; packId: string; fresh: boolean }> {
    const h = this.held;
    if (h && h.key === r.key && serves(h.kind, r.kind)) {
      try {
        return { engines: await h.engines, packId: h.packId, fresh: false };
      } catch {
        if (this.held === h) this.held = null; // a failed or cancelled load is retried below
      }
    }
    await this.close();
    const pack = await r.source();
    const exec = r.exec();
    const engines = open(r.kind, pack, exec, r.load);
    const entry: Held = { key: r.key, packId: pack.id, kind: r.kind, engines, exec };
    this.held = entry;
    engines.catch(() => {
      if (this.held === entry) this.held = null;
      exec.grad.dispose();
    });
    return { engines: await engines, packId: pack.id, fresh: true };
  }

  async close(): Promise<void> {
    const h = this.held;
    this.held = null;
    if (!h) return;
    const e = await h.engines.catch(() => null);
    if (e?.kind === "audio") await e.audio.dispose();
    else if (e?.kind === "video") await e.video.dispose();
    else if (e?.kind === "joint") await e.joint.dispose();
    h.exec.grad.dispose(); // the executor's cached weights on the device
  }
}

async function open(
  kind: EngineKind,
  pack: PackSource,
  exec: EngineExecutors,
  load: LoadComponentOptions,
): Promise<Engines> {
  if (kind === "audio") return { kind, audio: await openAudioEngine(pack, exec, load) };
  if (kind === "video") return { kind, video: await openVideoEngine(pack, exec, load) };
  return { kind, joint: await openJointEngine(pack, exec, load) };
}

/** The audio engine of held engines (a joint engine has one), or null. */
export function audioOf(e: Engines): AudioTaskEngine | null {
  return e.kind === "audio" ? e.audio : e.kind === "joint" ? e.joint.audio : null;
}

export function videoOf(e: Engines): VideoTaskEngine | null {
  return e.kind === "video" ? e.video : e.kind === "joint" ? e.joint.video : null;
}
