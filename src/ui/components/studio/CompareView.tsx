/**
 * A result: vanilla and guided side by side (same seed) with synced players and an A/B toggle, each run's
 * spectrogram, the scores, the aligner's loss curve, exports, and the settings it was made with (re-runnable).
 */
import { useId } from "react";
import { useStudio, useStudioCommands } from "../../context.js";
import type { StudioTaskId } from "../../studio/settings.js";
import type { ResultView } from "../../studio/state.js";
import { FrameStrip, LossCurve, Spectrogram } from "./Pictures.js";
import { ScoresTable } from "./ScoresTable.js";
import { Transport } from "./Transport.js";

function ExportBar({ result, task }: { result: ResultView; task: StudioTaskId }) {
  const studio = useStudioCommands();
  const exporting = useStudio((s) => s.studio.tasks[task].exporting);
  const listen = useStudio((s) => s.studio.tasks[task].listen);
  const busy = exporting?.status === "running";
  // A video to mux: a run's generated frames (A2V, joint) or the input video/picture (V2A, I2A)
  const canMux =
    Object.values(result.media).some((m) => m?.frames) ||
    (result.inputFile !== null && (result.input?.kind === "video" || result.input?.kind === "image"));
  const go = (kind: "mp4" | "webm" | "wav" | "png") => void studio.exportResult(result.id, kind);
  return (
    <div className="export-bar">
      <fieldset className="buttons bare">
        <legend className="sr-only">Export ({listen} run)</legend>
        {canMux && (
          <>
            <button type="button" disabled={busy} onClick={() => go("mp4")} data-export="mp4">
              MP4 (H.264/AAC)
            </button>
            <button type="button" disabled={busy} onClick={() => go("webm")} data-export="webm">
              WebM (VP8/Opus)
            </button>
          </>
        )}
        <button type="button" disabled={busy} onClick={() => go("wav")} data-export="wav">
          WAV
        </button>
        <button type="button" disabled={busy} onClick={() => go("png")} data-export="png">
          PNG figure
        </button>
        <button type="button" disabled={busy} onClick={() => void studio.rerun(result.id)}>
          Re-run these settings
        </button>
      </fieldset>
      <p
        className="muted"
        aria-live="polite"
        data-testid="export-status"
        data-status={exporting?.status ?? "idle"}
      >
        {exporting
          ? exporting.status === "running"
            ? `Exporting ${exporting.what}…`
            : exporting.status === "done"
              ? `Saved ${exporting.what}`
              : `Export failed: ${exporting.error}`
          : `Exports use the ${listen} run (switch with A/B).`}
      </p>
    </div>
  );
}

const STRIP = 8;

/** A run's generated frames (a strip of up to 8) and/or the spectrogram of its audio. */
function RunPictures({ result, run }: { result: ResultView; run: "vanilla" | "guided" }) {
  const m = result.media[run];
  const v = result.runs[run]?.video;
  let strip: { data: Uint8Array; shape: number[] } | null = null;
  if (m?.frames && v) {
    const n = Math.min(STRIP, v.numFrames);
    const size = v.width * v.height * 3;
    const data = new Uint8Array(n * size);
    for (let k = 0; k < n; k++) {
      const f = Math.floor((k * v.numFrames) / n);
      data.set(m.frames.subarray(f * size, (f + 1) * size), k * size);
    }
    strip = { data, shape: [n, v.height, v.width, 3] };
  }
  return (
    <>
      {strip && <FrameStrip data={strip.data} shape={strip.shape} label={`Frames of the ${run} video`} />}
      {m?.waveform && <Spectrogram waveform={m.waveform} label={`Spectrogram of the ${run} audio`} />}
    </>
  );
}

/** The knobs a result was made with, in one line. */
function settingsLine(r: ResultView): string {
  const s = r.settings;
  const joint = r.task === "joint";
  const parts = [
    `seed ${s.seed}`,
    `${s.steps} steps`,
    joint ? `CFG ${s.cfg} / ${s.cfgVideo}` : `CFG ${s.cfg}`,
    `${joint ? `λ ${s.lambda} / ${s.lambdaVideo}` : `λ ${s.lambda}`} ${s.optimizer}`,
    `warm-up ${s.warmup}`,
  ];
  if (r.task === "a2v" || joint) parts.push(`${s.frames} frames ${s.width}×${s.height} at ${s.fps} fps`);
  const tuned = s.promptTuning || (joint && s.promptTuningVideo);
  if (tuned) parts.push(`prompt tuning λ2 ${s.lambda2}`);
  return parts.join(" · ");
}

export function CompareView({ task }: { task: StudioTaskId }) {
  const studio = useStudioCommands();
  const uid = useId();
  const resultId = useStudio((s) => s.studio.tasks[task].resultId);
  const result = useStudio((s) => (resultId ? s.studio.results[resultId] : undefined));
  const listen = useStudio((s) => s.studio.tasks[task].listen);
  if (!result) return null;
  const runs = (["vanilla", "guided"] as const).filter((n) => result.runs[n]);
  const curve = result.runs.guided?.lossCurve ?? [];
  const s = result.settings;
  return (
    <section className="compare" aria-labelledby={`${uid}-h`} data-testid="compare" data-result={result.id}>
      <div className="panel-head">
        <h3 id={`${uid}-h`}>{runs.length > 1 ? "Compare: vanilla vs guided" : "Result"}</h3>
        <span className="muted" data-testid="saved" data-saved={result.saved ?? "no"}>
          {result.saved === "saved"
            ? "in the gallery"
            : result.saved === "saving"
              ? "saving…"
              : result.saved === "failed"
                ? "not saved"
                : ""}
        </span>
      </div>
      {result.saved === "failed" && result.saveError && (
        <div role="alert" className="error" data-testid="save-error">
          <p>{result.saveError}</p>
          <button type="button" onClick={() => void studio.saveResult(result.id)} data-action="save-again">
            Save again
          </button>
        </div>
      )}
      <p className="prompt-used">
        Prompt{result.autoPrompt ? " (automatic)" : ""}: <q>{result.prompt}</q>
        <span className="muted">
          {" "}
          · {settingsLine(result)} · pack {result.packId} · {(result.runMs / 1000).toFixed(1)} s on{" "}
          {result.executors.forward} + {result.executors.grad}
        </span>
      </p>
      <Transport result={result} listen={listen} onListen={(r) => studio.listen(task, r)} />
      <div className="runs">
        {runs.map((n) => (
          <figure key={n} className={`run-col${n === listen ? " listening" : ""}`} data-run={n}>
            <figcaption>
              <strong>{n}</strong> {n === "guided" ? "(aligner on)" : "(aligner off)"}
            </figcaption>
            <RunPictures result={result} run={n} />
          </figure>
        ))}
      </div>
      <ScoresTable result={result} />
      {curve.length > 0 && (
        <LossCurve
          title="Aligner loss per guided step"
          steps={Number(s.steps) || curve.length}
          series={[{ name: "guided", points: curve }]}
        />
      )}
      <ExportBar result={result} task={task} />
    </section>
  );
}
