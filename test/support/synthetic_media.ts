/** Small synthetic media for pipeline tests: a moving coloured square (video) and an image. */
import type { RgbImage } from "../../src/engine/preprocess/video/imagebind_image.js";
import type { VideoFrames } from "../../src/engine/preprocess/video/imagebind_video.js";

export function movingSquareVideo(seconds: number, fps: number, width = 32, height = 24): VideoFrames {
  const numFrames = Math.round(seconds * fps);
  const data = new Uint8Array(numFrames * height * width * 3);
  for (let f = 0; f < numFrames; f++) {
    const cx = Math.round(((f / Math.max(1, numFrames - 1)) * (width - 8)) as number);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const o = ((f * height + y) * width + x) * 3;
        const inside = x >= cx && x < cx + 8 && y >= 8 && y < 16;
        data[o] = inside ? 230 : 30;
        data[o + 1] = inside ? 40 : 90;
        data[o + 2] = inside ? 40 : 160;
      }
  }
  return { data, numFrames, height, width, fps };
}

export function gradientImage(width = 40, height = 30): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = 128;
    }
  return { data, width, height };
}

/** A stereo clip: a 440 Hz tone gated on and off 4 times a second (left) and a quieter 660 Hz tone (right). */
export function gatedStereoClip(
  sampleRate = 22050,
  seconds = 1,
): { channels: Float32Array[]; sampleRate: number } {
  const n = Math.round(sampleRate * seconds);
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const gate = Math.floor((i / sampleRate) * 4) % 2 === 0 ? 1 : 0.1;
    l[i] = 0.5 * gate * Math.sin((2 * Math.PI * 440 * i) / sampleRate);
    r[i] = 0.2 * Math.sin((2 * Math.PI * 660 * i) / sampleRate);
  }
  return { channels: [l, r], sampleRate };
}
