/**
 * Training data from the procedural world: N clips of a seed split, generated once (≈ 50 ms each) and cached
 * on disk per field (.cache/train/data/), plus deterministic epoch-shuffled batch indices.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SeededRng } from "../../../src/engine/metrics/stats.js";
import { sceneCaptions, sceneLabels, worldClip } from "../../../src/engine/world/clip.js";
import { type Scene, sampleScene } from "../../../src/engine/world/scene.js";
import { type Split, splitSeed, WORLD } from "../../../src/engine/world/spec.js";
import { melFrames, melHost } from "./mel.js";

export type Field = "video" | "audio" | "mel";

const FRAMES = WORLD.fps * WORLD.durationS;
const SAMPLES = WORLD.sampleRate * WORLD.durationS;
export const MEL_FRAMES = melFrames(SAMPLES);
const VIDEO_BYTES = FRAMES * WORLD.width * WORLD.height * 3;

export interface ClipMeta {
  seed: number;
  scene: Scene;
  caption: string;
  keyFrameCaption: string;
  audioCaption: string;
  classes: Float32Array;
  kinds: Float32Array;
}

export class WorldDataset {
  readonly meta: ClipMeta[];
  video: Uint8Array | null = null;
  audio: Float32Array | null = null;
  mel: Float32Array | null = null;

  constructor(
    readonly split: Split,
    readonly count: number,
    readonly first = 0,
  ) {
    this.meta = Array.from({ length: count }, (_, i) => {
      const seed = splitSeed(split, first + i);
      const scene = sampleScene(seed);
      return { seed, scene, ...sceneCaptions(scene), ...sceneLabels(scene) };
    });
  }

  /** Generate (or read from the cache) the requested fields. */
  async load(fields: readonly Field[], cacheDir = ".cache/train/data", log = true): Promise<this> {
    await mkdir(cacheDir, { recursive: true });
    const need = fields.filter((f) => !this[f]);
    const paths = Object.fromEntries(
      need.map((f) => [f, join(cacheDir, `${this.split}-${this.first}-${this.count}.${f}.bin`)]),
    ) as Record<Field, string>;
    const missing: Field[] = [];
    // a cache of more clips of the same split and start holds these clips as its prefix (same seeds)
    const larger = (await readdir(cacheDir))
      .map((n) => ({ n, m: /^(\w+)-(\d+)-(\d+)\.(\w+)\.bin$/.exec(n) }))
      .filter(({ m }) => m && m[1] === this.split && Number(m[2]) === this.first && Number(m[3]) > this.count)
      .sort((a, b) => Number(a.m![3]) - Number(b.m![3]));
    for (const f of need) {
      const from = larger.find(({ m }) => m![4] === f);
      const full = await readFile(paths[f]).catch(() =>
        from ? readFile(join(cacheDir, from.n)).catch(() => null) : null,
      );
      if (!full) {
        missing.push(f);
        continue;
      }
      const per = f === "video" ? VIDEO_BYTES : 4 * (f === "audio" ? SAMPLES : MEL_FRAMES * 64);
      const bytes = full.subarray(0, this.count * per);
      if (bytes.length !== this.count * per)
        throw new Error(`${paths[f]}: truncated cache (${full.length} bytes)`);
      const copy = new Uint8Array(bytes);
      if (f === "video") this.video = copy;
      else this[f] = new Float32Array(copy.buffer);
    }
    if (!missing.length) return this;
    const t0 = performance.now();
    if (missing.includes("video")) this.video = new Uint8Array(this.count * VIDEO_BYTES);
    if (missing.includes("audio")) this.audio = new Float32Array(this.count * SAMPLES);
    if (missing.includes("mel")) this.mel = new Float32Array(this.count * MEL_FRAMES * 64);
    for (let i = 0; i < this.count; i++) {
      const c = worldClip(this.meta[i].seed);
      if (missing.includes("video")) this.video!.set(c.video.data, i * VIDEO_BYTES);
      if (missing.includes("audio")) this.audio!.set(c.audio, i * SAMPLES);
      if (missing.includes("mel")) this.mel!.set(melHost(c.audio), i * MEL_FRAMES * 64);
      if (log && (i + 1) % 500 === 0)
        process.stderr.write(`  world data: ${i + 1}/${this.count} clips (${missing.join(", ")})\n`);
    }
    for (const f of missing) {
      const a = this[f]!;
      await writeFile(paths[f], new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    if (log)
      process.stderr.write(
        `  world data: ${this.count} ${this.split} clips (${missing.join(", ")}) in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
      );
    return this;
  }

  frames(i: number): Uint8Array {
    return this.video!.subarray(i * VIDEO_BYTES, (i + 1) * VIDEO_BYTES);
  }
  wave(i: number): Float32Array {
    return this.audio!.subarray(i * SAMPLES, (i + 1) * SAMPLES);
  }
  /** [MEL_FRAMES, 64] */
  logMel(i: number): Float32Array {
    return this.mel!.subarray(i * MEL_FRAMES * 64, (i + 1) * MEL_FRAMES * 64);
  }
}

/** Rows `idx` of a row-major array of `per`-value rows, stacked [idx.length · per] (a batch of cached latents). */
export function gatherRows(all: Float32Array, idx: readonly number[], per: number): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((i, b) => {
    out.set(all.subarray(i * per, (i + 1) * per), b * per);
  });
  return out;
}

/** Indices of batch `step` (size `b`) in an epoch-wise shuffled order of `n` items (a pure function). */
export function batchIndices(n: number, b: number, step: number, seed: number): number[] {
  const out: number[] = [];
  let perm: Int32Array | null = null;
  let permEpoch = -1;
  for (let k = 0; k < b; k++) {
    const pos = step * b + k;
    const epoch = Math.floor(pos / n);
    if (epoch !== permEpoch) {
      perm = new SeededRng((seed * 7919 + epoch * 104729) >>> 0).permutation(n);
      permEpoch = epoch;
    }
    out.push(perm![pos % n]);
  }
  return out;
}

/** A seeded RNG for step-dependent randomness (noise, timesteps, crops). */
export function stepRng(seed: number, step: number, salt = 0): SeededRng {
  return new SeededRng((Math.imul(seed, 2654435761) ^ Math.imul(step + 1, 40503) ^ salt) >>> 0);
}

export function gaussian(rng: SeededRng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rng.next(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** Frame `fi` of RGB frames [F, H, W, 3] as planar [3, H, W] in [−1, 1] (the SD VAE's input range), at `offset`. */
export function planarFrame(frames: Uint8Array, fi: number, out: Float32Array, offset: number): void {
  const n = WORLD.width * WORLD.height;
  const base = fi * n * 3;
  for (let p = 0; p < n; p++)
    for (let c = 0; c < 3; c++) out[offset + c * n + p] = frames[base + 3 * p + c] / 127.5 - 1;
}

/**
 * 1 + w where frame `fi` of clip `frames` differs from its scene's plain background (0.75× below the floor, grey 96
 * on the floor line) by more than 24/255 in any channel, else 1; planar [H, W] at `offset`.
 */
export function objectPixelWeights(
  meta: ClipMeta,
  frames: Uint8Array,
  fi: number,
  w: number,
  out: Float32Array,
  offset: number,
) {
  const { width: W, height: H, floorY } = WORLD;
  const bg = meta.scene.background;
  const base = fi * W * H * 3;
  for (let p = 0; p < W * H; p++) {
    const y = Math.floor(p / W);
    let diff = 0;
    for (let c = 0; c < 3; c++) {
      const expect = y === floorY ? 96 : y > floorY ? bg[c] * 0.75 : bg[c];
      diff = Math.max(diff, Math.abs(frames[base + 3 * p + c] - expect));
    }
    out[offset + p] = diff > 24 ? 1 + w : 1;
  }
}

export { FRAMES, SAMPLES, VIDEO_BYTES };
