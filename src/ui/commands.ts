/**
 * The command layer: the only code that talks to the workers. Each command runs a job through the studio
 * client and feeds its lifecycle into the store through the reducers (STYLE.md 20).
 */
import { ErrorCode, StudioError } from "../engine/errors.js";
import { movingBarFrames, tone } from "../engine/media/signals.js";
import { encodeWav } from "../engine/media/wav.js";
import type { RunOptions } from "../workers/client.js";
import type { JobParams, JobResult, JobType } from "../workers/protocol.js";
import type { StudioClient } from "../workers/studio-client.js";
import { jobEvent, jobSettled, jobStarted, type StudioStore } from "./store.js";
import { summarize } from "./summaries.js";

export interface Commands {
  /** Runs a job, tracking it in the store; resolves with its validated result. */
  run<J extends JobType>(
    job: J,
    params: JobParams<J>,
    opts?: RunOptions & { label?: string },
  ): Promise<JobResult<J>>;
  cancel(jobId: string): void;
  cancelAll(): void;
  probe(): Promise<void>;
  /** Encodes a generated tone + moving-bar frames to MP4 and WebM. */
  muxSelftest(): Promise<JobResult<"mux">>;
}

export function createCommands(client: StudioClient, store: StudioStore): Commands {
  const cancels = new Map<string, () => void>();
  const apply = (f: (s: ReturnType<StudioStore["getState"]>) => object) => store.setState((s) => f(s));

  const run: Commands["run"] = (job, params, opts = {}) => {
    const handle = client.run(job, params, {
      ...opts,
      onEvent: (e) => {
        apply((s) => jobEvent(s, handle.id, e));
        opts.onEvent?.(e);
      },
    });
    cancels.set(handle.id, handle.cancel);
    apply((s) => jobStarted(s, handle.id, job, opts.label ?? job, Date.now()));
    return handle.result.then(
      (result) => {
        cancels.delete(handle.id);
        apply((s) => jobSettled(s, handle.id, { summary: summarize(job, result) }, Date.now()));
        return result;
      },
      (err: unknown) => {
        cancels.delete(handle.id);
        const e = err instanceof StudioError ? err : new StudioError(ErrorCode.Internal, String(err));
        apply((s) => jobSettled(s, handle.id, { error: { code: e.code, message: e.message } }, Date.now()));
        throw err;
      },
    );
  };

  return {
    run,
    cancel: (id) => cancels.get(id)?.(),
    cancelAll: () => {
      for (const c of cancels.values()) c();
    },
    probe: async () => {
      store.setState((s) => ({ capabilities: { ...s.capabilities, status: "running", error: null } }));
      try {
        const report = await run("probe", {}, { label: "Capability probe" });
        store.setState({ capabilities: { status: "ready", report, error: null } });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        store.setState((s) => ({ capabilities: { ...s.capabilities, status: "error", error: message } }));
      }
    },
    muxSelftest: () => {
      const [width, height, fps, seconds, sampleRate] = [64, 48, 10, 1, 16_000];
      const wav = encodeWav({ sampleRate, channels: [tone({ frequency: 440, seconds, sampleRate })] });
      const frames = movingBarFrames({ width, height, count: fps * seconds });
      return run(
        "mux",
        {
          video: { kind: "frames", width, height, fps, data: frames },
          audioWav: wav,
          formats: ["mp4", "webm"],
        },
        { label: "Self-test: mux MP4 + WebM", transfer: [wav.buffer, frames.buffer] },
      );
    },
  };
}
