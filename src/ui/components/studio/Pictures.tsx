/**
 * Small pictures of audio and video: a time–frequency image on a canvas (x0 mel previews, spectrograms of
 * results), a strip of RGB frames, and the aligner's loss curve as SVG. Pure views of their props.
 */
import { useEffect, useMemo, useRef } from "react";
import { normalise, spectrogram, timeFreqToRgba } from "../../studio/spectrogram.js";

/** An image [frames, bins] (time-major) drawn with time on x and low frequencies at the bottom. */
export function TimeFreqCanvas({
  data,
  frames,
  bins,
  label,
  normalised = false,
}: {
  data: Float32Array;
  frames: number;
  bins: number;
  label: string;
  normalised?: boolean;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    const g = c?.getContext("2d");
    if (!c || !g || frames < 1 || bins < 1) return;
    c.width = frames;
    c.height = bins;
    const px = timeFreqToRgba(normalised ? data : normalise(data), frames, bins);
    g.putImageData(new ImageData(px, frames, bins), 0, 0);
  }, [data, frames, bins, normalised]);
  return <canvas ref={ref} className="tf-canvas" role="img" aria-label={label} />;
}

/** The spectrogram of a waveform (computed once per waveform). */
export function Spectrogram({ waveform, label }: { waveform: Float32Array; label: string }) {
  const s = useMemo(() => spectrogram(waveform), [waveform]);
  return <TimeFreqCanvas data={s.data} frames={s.frames} bins={s.bins} label={label} normalised />;
}

/** RGB frames [n, h, w, 3] side by side. */
export function FrameStrip({ data, shape, label }: { data: Uint8Array; shape: number[]; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [n = 0, h = 0, w = 0] = shape;
  useEffect(() => {
    const g = ref.current?.getContext("2d");
    if (!ref.current || !g || n * h * w === 0) return;
    ref.current.width = n * w;
    ref.current.height = h;
    const img = new ImageData(n * w, h);
    for (let f = 0; f < n; f++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const src = ((f * h + y) * w + x) * 3;
          const dst = (y * n * w + f * w + x) * 4;
          img.data[dst] = data[src]!;
          img.data[dst + 1] = data[src + 1]!;
          img.data[dst + 2] = data[src + 2]!;
          img.data[dst + 3] = 255;
        }
    g.putImageData(img, 0, 0);
  }, [data, n, h, w]);
  return <canvas ref={ref} className="frame-strip" role="img" aria-label={label} />;
}

export interface CurvePoint {
  i: number;
  loss: number;
}

const W = 320;
const H = 120;
const PAD = { l: 44, r: 8, t: 8, b: 22 };

/** The aligner's loss per guided step (one polyline per series). */
export function LossCurve({
  series,
  steps,
  title,
}: {
  series: { name: string; points: readonly CurvePoint[] }[];
  steps: number;
  title: string;
}) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return null;
  let lo = Math.min(...all.map((p) => p.loss));
  let hi = Math.max(...all.map((p) => p.loss));
  if (hi - lo < 1e-6) {
    lo -= 0.01;
    hi += 0.01;
  }
  const x = (i: number) => PAD.l + ((W - PAD.l - PAD.r) * i) / Math.max(1, steps - 1);
  const y = (v: number) => PAD.t + ((H - PAD.t - PAD.b) * (hi - v)) / (hi - lo);
  return (
    <figure className="loss-curve">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${title}: from ${all[0]!.loss.toFixed(4)} to ${all[all.length - 1]!.loss.toFixed(4)}`}
      >
        <title>{title}</title>
        <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} className="axis" />
        <line x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} className="axis" />
        <text x={PAD.l - 4} y={PAD.t + 8} textAnchor="end">
          {hi.toFixed(3)}
        </text>
        <text x={PAD.l - 4} y={H - PAD.b} textAnchor="end">
          {lo.toFixed(3)}
        </text>
        <text x={W - PAD.r} y={H - 6} textAnchor="end">
          step {steps}
        </text>
        <text x={PAD.l} y={H - 6}>
          step 1
        </text>
        {series.map((s, k) => (
          <g key={s.name} className={`series series-${k}`}>
            <polyline points={s.points.map((p) => `${x(p.i)},${y(p.loss)}`).join(" ")} />
            {s.points.map((p) => (
              <circle key={p.i} cx={x(p.i)} cy={y(p.loss)} r={2.5}>
                <title>{`${s.name} step ${p.i + 1}: ${p.loss.toFixed(4)}`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** One frame of RGB frames [F, H, W, 3] — the one shown at time `t` (seconds) at `shape.fps`. */
export function FrameAt({
  data,
  shape,
  t,
  label,
}: {
  data: Uint8Array;
  shape: { numFrames: number; width: number; height: number; fps: number };
  t: number;
  label: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { numFrames, width, height, fps } = shape;
  const f = Math.min(numFrames - 1, Math.max(0, Math.floor(t * fps)));
  useEffect(() => {
    const g = ref.current?.getContext("2d");
    if (!ref.current || !g) return;
    ref.current.width = width;
    ref.current.height = height;
    const img = new ImageData(width, height);
    const base = f * width * height * 3;
    for (let p = 0; p < width * height; p++) {
      img.data[p * 4] = data[base + p * 3]!;
      img.data[p * 4 + 1] = data[base + p * 3 + 1]!;
      img.data[p * 4 + 2] = data[base + p * 3 + 2]!;
      img.data[p * 4 + 3] = 255;
    }
    g.putImageData(img, 0, 0);
  }, [data, f, width, height]);
  return (
    <canvas
      ref={ref}
      className="compare-video frame-at"
      role="img"
      aria-label={`${label}, frame ${f + 1} of ${numFrames}`}
    />
  );
}
