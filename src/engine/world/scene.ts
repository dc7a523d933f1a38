/**
 * Scene sampling: a seed → objects (kind, colour, place, size) and their event times. Deterministic (mulberry32),
 * so a clip is reproduced exactly from its seed on any machine.
 */
import { SeededRng } from "../metrics/stats.js";
import { COLOURS, type Colour, KINDS, type Kind, WORLD } from "./spec.js";

export interface WorldObject {
  kind: Kind;
  colour: Colour;
  /** Horizontal centre (px). */
  x: number;
  /** Half-size (px): radius of the ball, half-width of the drum, … */
  size: number;
  /** Event times (s), sorted: each is a visible event and a sound onset. */
  events: number[];
  /** Kind-specific variation in [0, 1) (drop height, swing direction, …). */
  variant: number;
}

export interface Scene {
  seed: number;
  durationS: number;
  objects: WorldObject[];
  /** Background RGB. */
  background: [number, number, number];
}

export interface SceneOptions {
  /** Force the number of objects (default: 1 with p = 0.7, else 2). */
  objects?: 1 | 2;
  durationS?: number;
}

/** Event margins and spacing (s): onsets stay separable for the onset detector and the 8-fps flow. */
const EDGE = 0.25;
const GAP_SAME = 0.35;
const GAP_OTHER = 0.2;

function sampleEvents(rng: SeededRng, count: number, duration: number, taken: readonly number[]): number[] {
  for (let attempt = 0; attempt < 200; attempt++) {
    const ts = Array.from({ length: count }, () => EDGE + rng.next() * (duration - 2 * EDGE)).sort(
      (a, b) => a - b,
    );
    const ok =
      ts.every((t, i) => i === 0 || t - ts[i - 1] >= GAP_SAME) &&
      ts.every((t) => taken.every((u) => Math.abs(t - u) >= GAP_OTHER));
    if (ok) return ts.map((t) => Math.round(t * 1000) / 1000);
  }
  // fall back to evenly spaced events (always valid for count ≤ 4 in 2 s)
  const span = duration - 2 * EDGE;
  return Array.from({ length: count }, (_, i) => EDGE + ((i + 0.5) * span) / count);
}

/** The scene of `seed`. */
export function sampleScene(seed: number, opts: SceneOptions = {}): Scene {
  const rng = new SeededRng((seed ^ 0x5eed1e55) >>> 0);
  const duration = opts.durationS ?? WORLD.durationS;
  const n = opts.objects ?? (rng.next() < 0.7 ? 1 : 2);
  const tint = rng.next();
  const base = 18 + Math.floor(rng.next() * 22);
  const background: [number, number, number] = [
    base + Math.round(8 * tint),
    base + Math.round(6 * (1 - tint)),
    base + 10 + Math.round(10 * tint),
  ];
  const objects: WorldObject[] = [];
  const taken: number[] = [];
  const kinds = rng.permutation(KINDS.length);
  const colours = rng.permutation(COLOURS.length);
  for (let k = 0; k < n; k++) {
    const count = 1 + rng.int(4);
    const events = sampleEvents(rng, count, duration, taken);
    taken.push(...events);
    const slot = n === 1 ? 32 : k === 0 ? 19 : 45;
    objects.push({
      kind: KINDS[kinds[k]],
      colour: COLOURS[colours[k]],
      x: slot + (rng.next() - 0.5) * (n === 1 ? 16 : 6),
      size: 6 + rng.next() * 2.5,
      events,
      variant: rng.next(),
    });
  }
  return { seed, durationS: duration, objects, background };
}
