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
