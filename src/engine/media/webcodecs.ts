/**
 * Still images through WebCodecs' `ImageDecoder` where the browser has it, ffmpeg.wasm otherwise (issue #8).
 *
 * The WebCodecs path gives the same `DecodedImage` as `decodeImage` (decode.ts), pixel for pixel on lossless
 * formats: RGB24 of the first frame, with
 *  - EXIF orientation applied, as ffmpeg does: Chromium's decoder leaves the coded pixels as stored and reports
 *    the orientation as the frame's `rotation` (clockwise) and `flip` (horizontal, after the rotation; WebCodecs
 *    "VideoFrame orientation"), so `orientToRgb` turns the picture here and a portrait photo comes out h×w;
 *  - alpha dropped, not blended: ffmpeg's `-pix_fmt rgb24` keeps the straight (unpremultiplied) colour of a
 *    translucent pixel, so the decoder is asked for `premultiplyAlpha: "none"`;
 *  - embedded colour profiles ignored, as ffmpeg ignores them (`colorSpaceConversion: "none"`).
 * JPEG differs from ffmpeg's decode by a few levels (libjpeg-turbo's chroma upsampling vs swscale's).
 *
 * Anything WebCodecs cannot take (no `ImageDecoder`, a type it does not support, a file it fails on) goes to
 * ffmpeg.wasm, and the reason is logged. Video and audio go through WebCodecs in webcodecs-av.ts.
 */
import { BadInputError, CancelledError, StudioError } from "../errors.js";
import type { DecodedImage, MediaInfo } from "./decode.js";

export const InputDecoder = { WebCodecs: "webcodecs", Ffmpeg: "ffmpeg.wasm" } as const;
export type InputDecoderType = (typeof InputDecoder)[keyof typeof InputDecoder];

/** The parts of a WebCodecs `VideoFrame` this module reads (a fake implements it in unit tests). */
export interface ImageFrameLike {
  readonly format: string | null;
  readonly visibleRect: { readonly width: number; readonly height: number } | null;
  readonly codedWidth: number;
  readonly codedHeight: number;
  readonly rotation?: number;
  readonly flip?: boolean;
  copyTo(
    destination: Uint8Array,
    options?: { format?: "RGBA"; layout?: { offset: number; stride: number }[] },
  ): Promise<unknown>;
  close(): void;
}

export interface ImageDecoderLike {
  decode(options: { frameIndex: number }): Promise<{ image: ImageFrameLike }>;
  close(): void;
}

/** The parts of the WebCodecs `ImageDecoder` constructor this module uses. */
export interface ImageDecoderCtor {
  new (init: {
    type: string;
    data: Uint8Array;
    premultiplyAlpha?: "none" | "premultiply" | "default";
    colorSpaceConversion?: "none" | "default";
  }): ImageDecoderLike;
  isTypeSupported(type: string): Promise<boolean>;
}

/** `ImageDecoder` of this worker or page, if it has one. */
export const platformImageDecoder = (): ImageDecoderCtor | undefined =>
  (globalThis as { ImageDecoder?: ImageDecoderCtor }).ImageDecoder;

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

/**
 * The MIME type of an image from its first bytes (PNG, JPEG, GIF, WebP, AVIF), or null. The bytes decide, not the
 * file name or `File.type`: a renamed file still gets the decoder that can read it.
 */
export function sniffImageType(b: Uint8Array): string | null {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === "PNG" && b[4] === 0x0d && b[5] === 0x0a)
    return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 6 && /^GIF8[79]a$/.test(ascii(b, 0, 6))) return "image/gif";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return "image/webp";
  if (b.length >= 12 && ascii(b, 4, 4) === "ftyp") {
    // ISO-BMFF: the major brand, then compatible brands up to the end of the ftyp box
    const size = Math.min(b.length, ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
    for (let at = 8; at + 4 <= size; at += at === 8 ? 8 : 4)
      if (/^avi[fs]$/.test(ascii(b, at, 4))) return "image/avif";
  }
  return null;
}

/**
 * RGBA (or BGRA) pixels as stored → RGB24 as displayed: rotated clockwise by `rotation` (0, 90, 180, 270), then
 * mirrored left↔right when `flip` (the order WebCodecs defines for a VideoFrame's orientation). Alpha is dropped.
 */
export function orientToRgb(
  src: Uint8Array,
  width: number,
  height: number,
  rotation: number,
  flip: boolean,
  order: "rgba" | "bgra" = "rgba",
): { data: Uint8Array; width: number; height: number } {
  if (![0, 90, 180, 270].includes(rotation)) throw new RangeError(`unsupported frame rotation ${rotation}`);
  const turned = rotation === 90 || rotation === 270;
  const [w, h] = turned ? [height, width] : [width, height];
  const [r, b] = order === "rgba" ? [0, 2] : [2, 0];
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let xo = 0; xo < w; xo++) {
      const x = flip ? w - 1 - xo : xo; // the flip acts on the rotated picture
      // the stored pixel that lands at (x, y) after a clockwise rotation
      const [sx, sy] =
        rotation === 90
          ? [y, height - 1 - x]
          : rotation === 180
            ? [width - 1 - x, height - 1 - y]
            : rotation === 270
              ? [width - 1 - y, x]
              : [x, y];
      const s = (sy * width + sx) * 4;
      const o = (y * w + xo) * 3;
      out[o] = src[s + r]!;
      out[o + 1] = src[s + 1]!;
      out[o + 2] = src[s + b]!;
    }
  return { data: out, width: w, height: h };
}

const NATIVE_ORDER: Readonly<Record<string, "rgba" | "bgra">> = {
  RGBA: "rgba",
  RGBX: "rgba",
  BGRA: "bgra",
  BGRX: "bgra",
};

function checkPixels(name: string, width: number, height: number, maxPixels: number): void {
  // decode.ts decodeImage's limit and message
  if (width * height > maxPixels)
    throw new BadInputError(
      `"${name}" is ${width}×${height}, over the ${maxPixels.toLocaleString("en-US")}-pixel limit: use a smaller image.`,
    );
}

/** The first frame of an image through `ImageDecoder` → RGB24 as displayed (see the module comment). */
export async function decodeImageWebCodecs(
  Decoder: ImageDecoderCtor,
  name: string,
  data: Uint8Array,
  type: string,
  opts: { maxPixels?: number; signal?: AbortSignal } = {},
): Promise<DecodedImage> {
  const decoder = new Decoder({ type, data, premultiplyAlpha: "none", colorSpaceConversion: "none" });
  const stop = () => decoder.close(); // a pending decode rejects; the caller sees the abort
  opts.signal?.addEventListener("abort", stop, { once: true });
  try {
    const { image } = await decoder.decode({ frameIndex: 0 });
    try {
      const width = image.visibleRect?.width ?? image.codedWidth;
      const height = image.visibleRect?.height ?? image.codedHeight;
      checkPixels(name, width, height, opts.maxPixels ?? 64 * 1024 ** 2);
      const rgba = new Uint8Array(width * height * 4);
      const layout = [{ offset: 0, stride: width * 4 }];
      const order = image.format ? NATIVE_ORDER[image.format] : undefined;
      // 8-bit RGB formats are copied as they are; anything else (I420 from a YUV decode, …) is converted
      await image.copyTo(rgba, order ? { layout } : { format: "RGBA", layout });
      const out = orientToRgb(rgba, width, height, image.rotation ?? 0, image.flip ?? false, order ?? "rgba");
      const codec = type.replace(/^image\//, "");
      const info: MediaInfo = {
        format: type,
        durationS: null,
        video: { codec, width: out.width, height: out.height, fps: null },
        audio: null,
        still: true,
      };
      return { ...out, info };
    } finally {
      image.close();
    }
  } finally {
    opts.signal?.removeEventListener("abort", stop);
    decoder.close();
  }
}

export interface ImageDecodeChoice {
  /** "auto": WebCodecs when the browser can, else ffmpeg.wasm; "ffmpeg.wasm": always ffmpeg.wasm. */
  prefer?: "auto" | "ffmpeg.wasm";
  maxPixels?: number;
  signal?: AbortSignal;
  /** The decode through ffmpeg.wasm (decode.ts `decodeImage` in an `FfmpegHost` session). */
  ffmpeg: () => Promise<DecodedImage>;
  /** Defaults to this scope's `ImageDecoder`; tests pass a fake (or undefined for a browser without one). */
  imageDecoder?: ImageDecoderCtor | undefined;
  /** Where the reasons for taking ffmpeg.wasm go (the job's log events). */
  log?: (level: "info" | "warn", message: string) => void;
}

export interface ChosenImage extends DecodedImage {
  decoder: InputDecoderType;
  /** Why WebCodecs was tried and ffmpeg.wasm decoded the file after all; null otherwise. */
  fallback: string | null;
}

const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/**
 * Decodes with WebCodecs when `ImageDecoder` exists and supports the file's type, and with ffmpeg.wasm otherwise or
 * when WebCodecs fails on the file (a cancellation and the pixel limit are not failures of the decoder: they end
 * the job either way).
 */
export async function decodeImagePreferWebCodecs(
  name: string,
  data: Uint8Array,
  choice: ImageDecodeChoice,
): Promise<ChosenImage> {
  const log = choice.log ?? (() => undefined);
  const viaFfmpeg = async (fallback: string | null): Promise<ChosenImage> => ({
    ...(await choice.ffmpeg()),
    decoder: InputDecoder.Ffmpeg,
    fallback,
  });
  if (choice.prefer === "ffmpeg.wasm") return viaFfmpeg(null);
  const Decoder = "imageDecoder" in choice ? choice.imageDecoder : platformImageDecoder();
  if (!Decoder) {
    log("info", `"${name}": WebCodecs ImageDecoder is not available here; decoding with ffmpeg.wasm.`);
    return viaFfmpeg(null);
  }
  const type = sniffImageType(data);
  const supported = type ? await Decoder.isTypeSupported(type).catch(() => false) : false;
  if (!type || !supported) {
    log(
      "info",
      `"${name}": ${type ? `WebCodecs does not decode ${type} here` : "not a PNG, JPEG, GIF, WebP or AVIF file"}; ` +
        "decoding with ffmpeg.wasm.",
    );
    return viaFfmpeg(null);
  }
  try {
    const image = await decodeImageWebCodecs(Decoder, name, data, type, choice);
    return { ...image, decoder: InputDecoder.WebCodecs, fallback: null };
  } catch (e) {
    if (choice.signal?.aborted) throw new CancelledError();
    if (e instanceof StudioError) throw e;
    const fallback = `WebCodecs could not decode ${type} (${describe(e)}); ffmpeg.wasm decoded it`;
    log("warn", `"${name}": WebCodecs could not decode it (${describe(e)}); falling back to ffmpeg.wasm.`);
    return viaFfmpeg(fallback);
  }
}
