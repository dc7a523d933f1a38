/**
 * Synced players for a compare view: both runs' audio play together (one muted), with the input video following
 * along, so the A/B toggle switches what you hear without losing the place. One play button, one seek bar.
 */
import { useEffect, useId, useRef, useState } from "react";
import type { ResultView, RunName } from "../../studio/state.js";

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
  const vanillaUrl = useObjectUrl(result.runs.vanilla?.wav);
  const guidedUrl = useObjectUrl(result.runs.guided?.wav);
  const inputUrl = useObjectUrl(result.input?.kind === "audio" ? null : result.inputFile);
  const urls: Record<RunName, string | null> = { vanilla: vanillaUrl, guided: guidedUrl };
  const audio = useRef<Partial<Record<RunName, HTMLAudioElement | null>>>({});
  const video = useRef<HTMLVideoElement>(null);
  const [playing, setPlaying] = useState(false);
  const [t, setT] = useState(0);
  const offset = result.input?.trimStartS ?? 0;
  const duration = result.durationS;
  const selected = names.includes(listen) ? listen : names[0]!;

  const each = (f: (a: HTMLAudioElement, name: RunName) => void) => {
    for (const n of names) {
      const a = audio.current[n];
      if (a) f(a, n);
    }
  };
  const seek = (to: number) => {
    each((a) => {
      a.currentTime = to;
    });
    if (video.current) video.current.currentTime = offset + to;
    setT(to);
  };
  useEffect(() => each((a, n) => (a.muted = n !== selected)));
  const toggle = async () => {
    if (playing) {
      each((a) => a.pause());
      video.current?.pause();
      setPlaying(false);
      return;
    }
    const from = t >= duration - 0.01 ? 0 : t;
    seek(from);
    setPlaying(true);
    await Promise.all([
      ...names.map((n) => audio.current[n]?.play().catch(() => undefined)),
      video.current?.play().catch(() => undefined),
    ]);
  };
  const onTime = (n: RunName) => {
    const master = audio.current[n];
    if (!master || n !== selected) return;
    setT(master.currentTime);
    each((a, m) => {
      if (m !== n && Math.abs(a.currentTime - master.currentTime) > DRIFT_S)
        a.currentTime = master.currentTime;
    });
    const v = video.current;
    if (v && Math.abs(v.currentTime - offset - master.currentTime) > DRIFT_S)
      v.currentTime = offset + master.currentTime;
  };

  return (
    <div className="transport" data-testid="transport">
      {result.input?.kind === "video" && inputUrl && (
        <video
          ref={video}
          className="compare-video"
          src={`${inputUrl}#t=${offset}`}
          muted
          playsInline
          preload="auto"
          aria-label="Input video (plays with the selected audio)"
        />
      )}
      {result.input?.kind === "image" && inputUrl && (
        <img className="compare-video" src={inputUrl} alt="The input of this result" />
      )}
      {names.map((n) => (
        // biome-ignore lint/a11y/useMediaCaption: generated audio has no words to caption; the spectrograms and scores describe it
        <audio
          key={n}
          ref={(el) => {
            audio.current[n] = el;
          }}
          src={urls[n] ?? undefined}
          preload="auto"
          data-run={n}
          onTimeUpdate={() => onTime(n)}
          onEnded={() => n === selected && setPlaying(false)}
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
            <legend className="sr-only">Listen to</legend>
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
