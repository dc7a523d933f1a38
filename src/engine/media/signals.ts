/**
 * Deterministic test media: a sine tone and a moving RGBA pattern. Used by the mux self-test and e2e tests,
 * where a known signal makes the encoded file's streams and duration checkable.
 */

export interface ToneOptions {
  frequency: number;
  seconds: number;
  sampleRate: number;
  /** Peak amplitude in [0, 1]. Default 0.5. */
  amplitude?: number;
}

export function tone({ frequency, seconds, sampleRate, amplitude = 0.5 }: ToneOptions): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  const w = (2 * Math.PI * frequency) / sampleRate;
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin(w * i);
  return out;
}

export interface FrameOptions {
  width: number;
  height: number;
  count: number;
}

/** `count` RGBA frames, packed one after another: a colour gradient with a bar that moves one step per frame. */
export function movingBarFrames({ width, height, count }: FrameOptions): Uint8Array {
  const frameBytes = width * height * 4;
  const out = new Uint8Array(frameBytes * count);
  const bar = Math.max(1, Math.floor(width / 8));
  for (let f = 0; f < count; f++) {
    const x0 = Math.floor((f / Math.max(1, count)) * (width - bar));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = f * frameBytes + (y * width + x) * 4;
        const onBar = x >= x0 && x < x0 + bar;
        out[p] = onBar ? 255 : Math.floor((x / width) * 255);
        out[p + 1] = onBar ? 255 : Math.floor((y / height) * 255);
        out[p + 2] = onBar ? 255 : 96;
        out[p + 3] = 255;
      }
    }
  }
  return out;
}
