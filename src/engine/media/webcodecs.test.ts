/** Choosing WebCodecs or ffmpeg.wasm for an image, with a fake `ImageDecoder` (the real one runs in e2e/decode). */
import { describe, expect, it, vi } from "vitest";
import { BadInputError, CancelledError } from "../errors.js";
import type { DecodedImage } from "./decode.js";
import {
  decodeImagePreferWebCodecs,
  type ImageDecoderCtor,
  type ImageFrameLike,
  orientToRgb,
  sniffImageType,
} from "./webcodecs.js";

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// WPT webcodecs/videoFrame-orientation: a 4×2 picture "y y r r / b b g g"
const Y = [255, 255, 0];
const R = [255, 0, 0];
const B = [0, 0, 255];
const G = [0, 255, 0];
const rgba = (...px: number[][]) => Uint8Array.from(px.flatMap((p) => [...p, 255]));
const rgb = (...px: number[][]) => Uint8Array.from(px.flat());
const PICTURE = rgba(Y, Y, R, R, B, B, G, G);

interface Fake {
  Decoder: ImageDecoderCtor;
  made: { type: string; premultiplyAlpha?: string; colorSpaceConversion?: string }[];
  copies: unknown[];
  closed: string[];
}

/** An ImageDecoder whose one frame is PICTURE (in `format`, with `rotation`/`flip`), or whose decode fails. */
function fakeDecoder(
  opts: {
    supported?: readonly string[];
    format?: string | null;
    rotation?: number;
    flip?: boolean;
    fail?: Error;
    size?: [number, number];
  } = {},
): Fake {
  const fake: Fake = { Decoder: null as never, made: [], copies: [], closed: [] };
  const [width, height] = opts.size ?? [4, 2];
  const frame = (): ImageFrameLike => ({
    format: opts.format === undefined ? "RGBA" : opts.format,
    visibleRect: { width, height },
    codedWidth: width,
    codedHeight: height,
    rotation: opts.rotation ?? 0,
    flip: opts.flip ?? false,
    copyTo: async (dest, o) => {
      fake.copies.push(o);
      dest.set(PICTURE.subarray(0, dest.length));
      return [];
    },
    close: () => fake.closed.push("frame"),
  });
  fake.Decoder = class {
    static isTypeSupported = async (t: string) => (opts.supported ?? ["image/png", "image/jpeg"]).includes(t);
    constructor(init: Fake["made"][number]) {
      fake.made.push(init);
    }
    decode = async () => {
      if (opts.fail) throw opts.fail;
      return { image: frame() };
    };
    close = () => fake.closed.push("decoder");
  } as unknown as ImageDecoderCtor;
  return fake;
}

const FFMPEG_IMAGE: DecodedImage = {
  data: rgb(Y),
  width: 1,
  height: 1,
  info: { format: "png_pipe", durationS: null, video: null, audio: null, still: true },
};

function choice(
  fake: Fake | undefined,
  extra: { prefer?: "auto" | "ffmpeg.wasm"; signal?: AbortSignal } = {},
) {
  const ffmpeg = vi.fn(async () => FFMPEG_IMAGE);
  const logs: [string, string][] = [];
  return {
    ffmpeg,
    logs,
    opts: {
      ...extra,
      ffmpeg,
      imageDecoder: fake?.Decoder,
      log: (level: string, message: string) => logs.push([level, message]),
    },
  };
}

describe("sniffImageType", () => {
  it("names PNG, JPEG, GIF, WebP and AVIF from their first bytes, and nothing else", () => {
    expect(sniffImageType(PNG)).toBe("image/png");
    expect(sniffImageType(JPEG)).toBe("image/jpeg");
    expect(sniffImageType(bytes("GIF89a\x01\x00"))).toBe("image/gif");
    expect(sniffImageType(bytes("RIFF\x10\x00\x00\x00WEBPVP8 "))).toBe("image/webp");
    expect(sniffImageType(bytes("\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1"))).toBe("image/avif");
    // a compatible brand, not the major one
    expect(sniffImageType(bytes("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00avif"))).toBe("image/avif");
    expect(sniffImageType(bytes("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00mp41"))).toBeNull(); // an MP4
    expect(sniffImageType(bytes("RIFF\x10\x00\x00\x00WAVEfmt "))).toBeNull();
    expect(sniffImageType(new Uint8Array())).toBeNull();
  });
});

describe("orientToRgb", () => {
  it("rotates clockwise, then flips left↔right (the WPT VideoFrame orientation case), and drops alpha", () => {
    expect(orientToRgb(PICTURE, 4, 2, 0, false)).toEqual({
      data: rgb(Y, Y, R, R, B, B, G, G),
      width: 4,
      height: 2,
    });
    // WPT: rotation 90 + flip renders "y b / y b / r g / r g"
    expect(orientToRgb(PICTURE, 4, 2, 90, true)).toEqual({
      data: rgb(Y, B, Y, B, R, G, R, G),
      width: 2,
      height: 4,
    });
    expect(orientToRgb(PICTURE, 4, 2, 90, false).data).toEqual(rgb(B, Y, B, Y, G, R, G, R));
    expect(orientToRgb(PICTURE, 4, 2, 180, false).data).toEqual(rgb(G, G, B, B, R, R, Y, Y));
    expect(orientToRgb(PICTURE, 4, 2, 270, false).data).toEqual(rgb(R, G, R, G, Y, B, Y, B));
    expect(orientToRgb(PICTURE, 4, 2, 0, true).data).toEqual(rgb(R, R, Y, Y, G, G, B, B));
  });

  it("reads BGRA in BGRA order and refuses a rotation that is not a quarter turn", () => {
    expect(orientToRgb(Uint8Array.from([1, 2, 3, 4]), 1, 1, 0, false, "bgra").data).toEqual(rgb([3, 2, 1]));
    expect(() => orientToRgb(PICTURE, 4, 2, 45, false)).toThrow(RangeError);
  });
});

describe("decodeImagePreferWebCodecs", () => {
  it("decodes with WebCodecs when ImageDecoder supports the type: straight alpha, no colour conversion, oriented", async () => {
    const fake = fakeDecoder({ rotation: 90, flip: true });
    const c = choice(fake);
    const img = await decodeImagePreferWebCodecs("a.png", PNG, c.opts);
    expect(img.decoder).toBe("webcodecs");
    expect(img.fallback).toBeNull();
    expect(c.ffmpeg).not.toHaveBeenCalled();
    expect(fake.made).toEqual([
      { type: "image/png", data: PNG, premultiplyAlpha: "none", colorSpaceConversion: "none" },
    ]);
    expect([img.width, img.height]).toEqual([2, 4]);
    expect(img.data).toEqual(rgb(Y, B, Y, B, R, G, R, G));
    expect(img.info).toMatchObject({ format: "image/png", still: true, video: { width: 2, height: 4 } });
    expect(fake.closed.sort()).toEqual(["decoder", "frame"]);
    expect(c.logs).toEqual([]);
  });

  it("asks WebCodecs to convert a frame that is not 8-bit RGB (e.g. I420) to RGBA", async () => {
    const fake = fakeDecoder({ format: "I420" });
    const img = await decodeImagePreferWebCodecs("a.jpg", JPEG, choice(fake).opts);
    expect(fake.copies).toEqual([{ format: "RGBA", layout: [{ offset: 0, stride: 16 }] }]);
    expect(img.data).toEqual(rgb(Y, Y, R, R, B, B, G, G));
  });

  it("takes ffmpeg.wasm when there is no ImageDecoder, the type is unsupported or unknown, or ffmpeg is asked for", async () => {
    const none = choice(undefined);
    expect((await decodeImagePreferWebCodecs("a.png", PNG, none.opts)).decoder).toBe("ffmpeg.wasm");
    expect(none.logs[0]).toEqual(["info", expect.stringContaining("ImageDecoder is not available")]);

    const pngOnly = fakeDecoder({ supported: ["image/png"] });
    const jpeg = choice(pngOnly);
    const viaFfmpeg = await decodeImagePreferWebCodecs("a.jpg", JPEG, jpeg.opts);
    expect(viaFfmpeg).toMatchObject({ decoder: "ffmpeg.wasm", fallback: null, width: 1, height: 1 });
    expect(jpeg.logs[0]![1]).toContain("does not decode image/jpeg");
    expect(pngOnly.made).toEqual([]);

    const tiff = choice(pngOnly);
    expect((await decodeImagePreferWebCodecs("a.tif", bytes("II*\x00...."), tiff.opts)).decoder).toBe(
      "ffmpeg.wasm",
    );
    expect(pngOnly.made).toEqual([]);

    const forced = choice(pngOnly, { prefer: "ffmpeg.wasm" });
    expect((await decodeImagePreferWebCodecs("a.png", PNG, forced.opts)).decoder).toBe("ffmpeg.wasm");
    expect(pngOnly.made).toEqual([]);
    expect(forced.logs).toEqual([]);
  });

  it("falls back to ffmpeg.wasm when WebCodecs fails on the file, and says so", async () => {
    const fake = fakeDecoder({ fail: new DOMException("Failed to decode frame", "EncodingError") });
    const c = choice(fake);
    const img = await decodeImagePreferWebCodecs("broken.png", PNG, c.opts);
    expect(c.ffmpeg).toHaveBeenCalledOnce();
    expect(img.decoder).toBe("ffmpeg.wasm");
    expect(img.fallback).toContain("EncodingError: Failed to decode frame");
    expect(c.logs).toEqual([["warn", expect.stringMatching(/"broken.png".*falling back to ffmpeg.wasm/)]]);
    expect(fake.closed).toEqual(["decoder"]);
  });

  it("does not fall back on the pixel limit or a cancellation", async () => {
    const big = choice(fakeDecoder({ size: [4, 2] }));
    await expect(decodeImagePreferWebCodecs("big.png", PNG, { ...big.opts, maxPixels: 7 })).rejects.toThrow(
      BadInputError,
    );
    expect(big.ffmpeg).not.toHaveBeenCalled();

    const abort = new AbortController();
    abort.abort();
    const cancelled = choice(fakeDecoder({ fail: new DOMException("closed", "AbortError") }), {
      signal: abort.signal,
    });
    await expect(decodeImagePreferWebCodecs("a.png", PNG, cancelled.opts)).rejects.toThrow(CancelledError);
    expect(cancelled.ffmpeg).not.toHaveBeenCalled();
  });
});
