/**
 * Owns one ffmpeg.wasm instance (@ffmpeg/ffmpeg runs the core in its own nested worker) and recreates it
 * after any failure or cancellation: after an ffmpeg error the wasm heap may be corrupt, and terminating
 * the nested worker is the only way to stop a running `exec` (DESIGN.md pitfalls).
 *
 * The core is loaded from the app's own origin (`coreURL`/`wasmURL`), never from a CDN.
 */
import { FFmpeg } from "@ffmpeg/ffmpeg";
import type { FfmpegSession } from "./mux.js";

export interface FfmpegAssets {
  coreURL: string;
  wasmURL: string;
}

export interface FfmpegProgress {
  /** 0..1 as reported by ffmpeg (approximate). */
  ratio: number;
}

const LOG_LINES = 40;

export class FfmpegHost {
  private instance: Promise<FFmpeg> | null = null;
  private readonly log: string[] = [];
  private progressListener: ((p: FfmpegProgress) => void) | null = null;

  constructor(private readonly assets: FfmpegAssets) {}

  /** Runs `fn` with a loaded session; on any error the instance is discarded before the error propagates. */
  async use<T>(
    fn: (session: FfmpegSession) => Promise<T>,
    onProgress?: (p: FfmpegProgress) => void,
  ): Promise<T> {
    const ff = await this.load();
    this.progressListener = onProgress ?? null;
    try {
      return await fn(this.session(ff));
    } catch (err) {
      this.discard();
      throw err;
    } finally {
      this.progressListener = null;
    }
  }

  /** Terminates the nested worker (stopping any running exec); the next `use` loads a fresh instance. */
  discard(): void {
    const old = this.instance;
    this.instance = null;
    old?.then((ff) => ff.terminate()).catch(() => undefined);
  }

  private load(): Promise<FFmpeg> {
    if (!this.instance) {
      const ff = new FFmpeg();
      ff.on("log", ({ message }) => {
        this.log.push(message);
        if (this.log.length > LOG_LINES) this.log.shift();
      });
      ff.on("progress", ({ progress }) => {
        if (Number.isFinite(progress)) this.progressListener?.({ ratio: Math.min(1, Math.max(0, progress)) });
      });
      const loading = ff.load({ coreURL: this.assets.coreURL, wasmURL: this.assets.wasmURL }).then(() => ff);
      loading.catch(() => {
        if (this.instance === loading) this.instance = null;
        ff.terminate();
      });
      this.instance = loading;
    }
    return this.instance;
  }

  private session(ff: FFmpeg): FfmpegSession {
    return {
      writeFile: async (path, data) => {
        // @ffmpeg/ffmpeg transfers (detaches) the buffer it is given; hand it a copy so callers keep theirs.
        await ff.writeFile(path, data.slice());
      },
      readFile: async (path) => {
        const out = await ff.readFile(path);
        if (typeof out === "string") throw new TypeError(`ffmpeg returned text for ${path}`);
        return out;
      },
      deleteFile: async (path) => {
        await ff.deleteFile(path);
      },
      exec: (args, signal) => {
        this.log.length = 0;
        return ff.exec([...args], -1, { signal });
      },
      logTail: () => this.log.join("\n"),
    };
  }
}
