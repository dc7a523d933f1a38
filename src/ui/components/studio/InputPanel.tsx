/**
 * The task's input: drop a file on the zone or pick one (keyboard: the picker is a labelled file input), then the
 * decoded facts, a preview, and the trim start when the file is longer than the model's window.
 */
import { type DragEvent, useEffect, useId, useState } from "react";
import { useStudio, useStudioCommands } from "../../context.js";
import type { StudioTaskId } from "../../studio/settings.js";
import type { InputView } from "../../studio/state.js";
import type { TaskInput } from "../../tabs.js";

const kib = (n: number) =>
  n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
const secs = (s: number | null) => (s === null ? "?" : `${s.toFixed(2)} s`);

function facts(i: InputView): string {
  const parts: string[] = [kib(i.bytes)];
  if (i.width && i.height) parts.push(`${i.width}×${i.height}`);
  if (i.fps) parts.push(`${Number(i.fps.toFixed(2))} fps`);
  if (i.numFrames) parts.push(`${i.numFrames} frames`);
  if (i.durationS !== null)
    parts.push(
      i.sourceDurationS !== null && i.sourceDurationS - i.durationS > 0.05
        ? `${secs(i.durationS)} from ${secs(i.trimStartS)} of ${secs(i.sourceDurationS)}`
        : secs(i.durationS),
    );
  if (i.decoder) parts.push(`decoded by ${i.decoder === "webcodecs" ? "WebCodecs" : "ffmpeg.wasm"}`);
  return parts.join(" · ");
}

function Trim({ task, input }: { task: StudioTaskId; input: InputView }) {
  const studio = useStudioCommands();
  const [start, setStart] = useState(input.trimStartS);
  useEffect(() => setStart(input.trimStartS), [input.trimStartS]);
  const max = Math.max(0, (input.sourceDurationS ?? 0) - (input.durationS ?? 0));
  if (input.kind === "image" || max < 0.05) return null;
  const commit = () => void studio.setTrim(task, start);
  return (
    <label className="field trim">
      <span>Start of the {secs(input.durationS)} the model hears/sees (s)</span>
      <input
        type="range"
        min={0}
        max={Number(max.toFixed(2))}
        step={0.05}
        value={start}
        disabled={input.status === "decoding"}
        onChange={(e) => setStart(Number(e.target.value))}
        onPointerUp={commit}
        onKeyUp={commit}
        aria-valuetext={`${start.toFixed(2)} seconds`}
      />
      <output>{start.toFixed(2)} s</output>
    </label>
  );
}

function Preview({ input }: { input: InputView }) {
  const studio = useStudioCommands();
  const url = studio.inputUrl(input.id);
  if (!url || input.status === "error") return null;
  if (input.kind === "image")
    return <img className="input-preview" src={url} alt={`The picked image, ${input.name}`} />;
  if (input.kind === "video")
    return (
      <video
        className="input-preview"
        src={`${url}#t=${input.trimStartS}`}
        muted
        controls
        preload="metadata"
        aria-label={`The picked video, ${input.name}`}
      />
    );
  return (
    // biome-ignore lint/a11y/useMediaCaption: the user's own audio file; the studio has no captions for it
    <audio
      className="input-preview"
      src={url}
      controls
      preload="metadata"
      aria-label={`The picked audio, ${input.name}`}
    />
  );
}

export function InputPanel({
  task,
  spec,
  disabled,
}: {
  task: StudioTaskId;
  spec: TaskInput;
  disabled: boolean;
}) {
  const studio = useStudioCommands();
  const input = useStudio((s) => s.studio.tasks[task].input);
  const uid = useId();
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file && !disabled) void studio.pickInput(task, file);
  };
  return (
    <div className="input-panel">
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target for the mouse; the labelled file input inside it is the keyboard path */}
      <div
        className={`dropzone${over ? " over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <label className="field">
          <span>{spec.label}</span>
          <small className="muted">
            Drop {spec.kind === "audio" || spec.kind === "image" ? "an" : "a"} {spec.kind} file on this box,
            or pick one.
          </small>
          <input
            type="file"
            accept={spec.accept}
            disabled={disabled}
            data-input={`${task}-file`}
            aria-describedby={input ? `${uid}-facts` : undefined}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void studio.pickInput(task, f);
            }}
          />
        </label>
      </div>
      {input && (
        <div className="input-facts" data-status={input.status}>
          <p id={`${uid}-facts`} aria-live="polite">
            <strong>{input.name}</strong>{" "}
            {input.status === "decoding" ? "decoding…" : input.status === "ready" ? facts(input) : ""}
          </p>
          {input.error && (
            <p className="job-error" role="alert">
              {input.error}
            </p>
          )}
          {input.note && <p className="muted">{input.note}</p>}
          <Preview input={input} />
          <Trim task={task} input={input} />
        </div>
      )}
    </div>
  );
}
