/** One emitted graph on an onnxruntime (onnxruntime-node CPU, or onnxruntime-web wasm in Node): time and memory. */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InferenceSession } from "onnxruntime-common";
import type { WeightFormat } from "../../src/engine/ops/onnx/emitter.js";
import {
  createSession,
  type OrtModule,
  runSession,
  type SessionOptions,
} from "../../src/engine/ops/onnx/session.js";
import type { Case, Emitted } from "./cases.js";
import { gc, procMem, resetPeak, type Stats, stats, timed } from "./measure.js";
import { type ProfileSummary, summarizeProfile } from "./profile.js";

export type OrtExecutor = "ort-node" | "ort-web-wasm";

export interface OrtResult {
  executor: OrtExecutor;
  weights: WeightFormat;
  threads: number;
  createMs: number;
  /** the first run (allocations, lazy kernel set-up), not part of `stats` unless `repeats` is 0 */
  firstRunMs: number;
  stats: Stats;
  /** RSS growth from creating the session (after a GC), bytes */
  sessionBytes: number;
  /** RSS growth since `baseline` (before the graph was emitted): graph + weight buffers + session */
  heldBytes: number | null;
  /** peak RSS of the process while the session existed, bytes */
  peakBytes: number;
  outputFinite: boolean;
  /** per-op kernel time of the timed runs (ORT profiler), when asked */
  profile?: ProfileSummary;
}

export interface OrtRunOptions {
  executor: OrtExecutor;
  weights: WeightFormat;
  threads: number;
  /** timed runs after the untimed first run; 0 = time the first run only (too slow to repeat) */
  repeats: number;
  profile?: boolean;
  extra?: SessionOptions["extra"];
  /** keep the session open and hand it back (the caller releases it) */
  keep?: boolean;
  /** process RSS before the graph was emitted (for `heldBytes`) */
  baseline?: number;
}

function newestProfile(prefix: string): string | null {
  const dir = tmpdir();
  const base = prefix.slice(dir.length + 1);
  const hits = readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith(".json"));
  return hits.length ? join(dir, hits.sort().at(-1)!) : null;
}

export async function runOrt(
  ort: OrtModule,
  em: Emitted,
  c: Case,
  o: OrtRunOptions,
): Promise<{ result: OrtResult; session: InferenceSession | null }> {
  gc();
  const before = procMem().rss;
  resetPeak();
  const prefix = join(tmpdir(), `bench_ort_${process.pid}_${Date.now()}`);
  const extra: SessionOptions["extra"] = {
    ...o.extra,
    ...(o.profile && o.executor === "ort-node" ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
  };
  const created = await timed(() =>
    createSession(ort, em.built, {
      intraOpNumThreads: o.executor === "ort-node" ? o.threads : undefined,
      extra,
    }),
  );
  const session = created.value;
  gc();
  const afterCreate = procMem().rss;
  const sessionBytes = afterCreate - before;
  const first = await timed(() => runSession(ort, session, c.inputs));
  let finite = true;
  for (const t of Object.values(first.value)) for (const v of t.data) if (!Number.isFinite(v)) finite = false;
  const runs = [];
  for (let i = 0; i < o.repeats; i++) runs.push((await timed(() => runSession(ort, session, c.inputs))).run);
  let profile: ProfileSummary | undefined;
  if (o.profile && o.executor === "ort-node") {
    (session as unknown as { endProfiling(): void }).endProfiling();
    const file = newestProfile(prefix);
    if (file) {
      const events = JSON.parse(readFileSync(file, "utf8")) as Parameters<typeof summarizeProfile>[0];
      profile = summarizeProfile(events, 12, o.repeats + 1);
      rmSync(file);
    }
  }
  const peakBytes = procMem().peak;
  if (!o.keep) await session.release();
  return {
    result: {
      executor: o.executor,
      weights: o.weights,
      threads: o.threads,
      createMs: created.run.wallMs,
      firstRunMs: first.run.wallMs,
      // repeats 0 (a component too slow to repeat on this box): the first run is the only measurement
      stats: stats(runs.length ? runs : [first.run]),
      sessionBytes,
      heldBytes: o.baseline !== undefined ? afterCreate - o.baseline : null,
      peakBytes,
      outputFinite: finite,
      profile,
    },
    session: o.keep ? session : null,
  };
}
