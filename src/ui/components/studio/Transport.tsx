/**
 * Synced players for a compare view: every run's sound plays together (all but the selected one muted) with the
 * picture following along — the input video (V2A), the input image (I2A), or the selected run's generated frames
 * (A2V, joint) — so the A/B toggle switches what you see and hear without losing the place.
 */
import { useEffect, useId, useRef, useState } from "react";
import type { ResultView, RunName } from "../../studio/state.js";
import { FrameAt } from "./Pictures.js";

/** An object URL for `blob`, created and revoked by an effect (safe under StrictMode's double effects). */
export function useObjectUrl(blob: Blob | null | undefined): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) {
      setUrl(null);
      return;
    }
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob]);
  return url;
}

const DRIFT_S = 0.08;
type Source = RunName | "condition";

export function Transport({
  result,
  listen,
  onListen,
}: {
  result: ResultView;
  listen: RunName;
  onListen: (run: RunName) => void;
}) {
  const uid = useId();
  const names = (["vanilla", "guided"] as const).filter((n) => result.runs[n]);
  const selected = names.includes(listen) ? listen : names[0]!;
  const urls: Record<Source, string | null> = {
    vanilla: useObjectUrl(result.media.vanilla?.wav),
    guided: useObjectUrl(result.media.guided?.wav),
    condition: useObjectUrl(result.conditionWav),
  };
  const inputUrl = useObjectUrl(
    result.input?.kind === "video" || result.input?.kind === "image" ? result.inputFile : null,
  );
  const sources = (["vanilla", "guided", "condition"] as const).filter((k) => urls[k]);
  const sourceOf = (n: RunName): Source => (urls[n] ? n : "condition");
  const audio = useRef<Partial<Record<Source, HTMLAudioElement | null>>>({});
  const video = useRef<HTMLVideoElement>(null);
  const [playing, setPlaying] = useState(false);
  const [t, setT] = useState(0);
  const offset = result.input?.kind === "video" ? result.input.trimStartS : 0;
  const duration = result.durationS;
  const master = sourceOf(selected);

  const each = (f: (a: HTMLAudioElement, k: Source) => void) => {
    for (const k of sources) {
      const a = audio.current[k];
      if (a) f(a, k);
    }
  };
  const seek = (to: number) => {
    each((a) => {
      a.currentTime = to;
    });
    if (video.current) video.current.currentTime = offset + to;
    setT(to);
  };
  useEffect(() =>
    each((a, k) => {
      a.muted = k !== master;
    }),
  );
  const toggle = async () => {
    if (playing) {
      each((a) => a.pause());
      video.current?.pause();
      setPlaying(false);
      return;
    }
    seek(t >= duration - 0.01 ? 0 : t);
    setPlaying(true);
    await Promise.all([
      ...sources.map((k) => audio.current[k]?.play().catch(() => undefined)),
      video.current?.play().catch(() => undefined),
    ]);
  };
  const onTime = (k: Source) => {
    const m = audio.current[k];
    if (!m || k !== master) return;
    setT(m.currentTime);
    each((a, other) => {
      if (other !== k && Math.abs(a.currentTime - m.currentTime) > DRIFT_S) a.currentTime = m.currentTime;
    });
    const v = video.current;
    if (v && Math.abs(v.currentTime - offset - m.currentTime) > DRIFT_S)
      v.currentTime = offset + m.currentTime;
  };
  const frames = result.media[selected]?.frames;
  const shape = result.runs[selected]?.video;

  return (
    <div className="transport" data-testid="transport">
      {frames && shape ? (
        <FrameAt data={frames} shape={shape} t={t} label={`Generated video of the ${selected} run`} />
      ) : result.input?.kind === "video" && inputUrl ? (
        <video
          ref={video}
          className="compare-video"
          src={`${inputUrl}#t=${offset}`}
          muted
          playsInline
          preload="auto"
          aria-label="Input video (plays with the selected audio)"
        />
      ) : result.input?.kind === "image" && inputUrl ? (
        <img className="compare-video" src={inputUrl} alt="The input of this result" />
      ) : null}
      {sources.map((k) => (
        // biome-ignore lint/a11y/useMediaCaption: generated audio has no words to caption; the spectrograms and scores describe it
        <audio
          key={k}
          ref={(el) => {
            audio.current[k] = el;
          }}
          src={urls[k] ?? undefined}
          preload="auto"
          data-source={k}
          onTimeUpdate={() => onTime(k)}
          onEnded={() => k === master && setPlaying(false)}
        />
      ))}
      <div className="transport-controls">
        <button type="button" onClick={() => void toggle()} aria-pressed={playing}>
          {playing ? "Pause" : "Play"}
        </button>
        <input
          type="range"
          min={0}
          max={duration}
          step={0.01}
          value={Math.min(t, duration)}
          aria-label="Position"
          aria-valuetext={`${t.toFixed(2)} of ${duration.toFixed(2)} seconds`}
          onChange={(e) => seek(Number(e.target.value))}
        />
        <span className="time">
          {t.toFixed(1)} / {duration.toFixed(1)} s
        </span>
        {names.length > 1 && (
          <fieldset className="ab" aria-keyshortcuts="Alt+B">
            <legend className="sr-only">Show and play</legend>
            {names.map((n, k) => (
              <label key={n} className={n === selected ? "on" : ""}>
                <input
                  type="radio"
                  name={`${uid}-ab`}
                  value={n}
                  checked={n === selected}
                  onChange={() => onListen(n)}
                />
                {k === 0 ? "A" : "B"}: {n}
              </label>
            ))}
          </fieldset>
        )}
      </div>
    </div>
  );
}
