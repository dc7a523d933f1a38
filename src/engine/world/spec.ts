/**
 * The procedural audio-visual world (issue 9): constants shared by the scene sampler, the renderer, the
 * synthesiser, the captions, the training scripts and the evaluation harness.
 *
 * A clip is `durationS` seconds of `width × height` RGB frames at `fps` and mono PCM at `sampleRate`. Objects of
 * four kinds and six colours make one sound per visible event (a bounce, a drum hit, a bell strike, a bird's
 * hop); the kind sets the timbre and the colour the pitch, so both are audible and visible.
 */

export const WORLD = Object.freeze({
  width: 64,
  height: 64,
  fps: 8,
  durationS: 2,
  sampleRate: 16000,
  /** y of the floor line (pixels from the top). */
  floorY: 54,
});

export const KINDS = ["ball", "drum", "bell", "bird"] as const;
export type Kind = (typeof KINDS)[number];

/** What the kind does at each event (caption verb). */
export const ACTIONS: Readonly<Record<Kind, string>> = Object.freeze({
  ball: "bouncing",
  drum: "beating",
  bell: "ringing",
  bird: "chirping",
});

/** What an audio-only listener would call each kind's sound (the A2V captions name no colour). */
export const SOUNDS: Readonly<Record<Kind, string>> = Object.freeze({
  ball: "a ball bouncing",
  drum: "a drum beating",
  bell: "a bell ringing",
  bird: "a bird chirping",
});

export const COLOURS = ["red", "purple", "blue", "green", "yellow", "white"] as const;
export type Colour = (typeof COLOURS)[number];

/** sRGB of each colour and its pitch offset in semitones (low → high along the list). */
export const COLOUR_RGB: Readonly<Record<Colour, readonly [number, number, number]>> = Object.freeze({
  red: [222, 52, 48],
  purple: [168, 78, 214],
  blue: [58, 104, 232],
  green: [60, 198, 84],
  yellow: [236, 214, 58],
  white: [236, 236, 236],
});
export const COLOUR_SEMITONES: Readonly<Record<Colour, number>> = Object.freeze({
  red: -6,
  purple: -3,
  blue: 0,
  green: 3,
  yellow: 6,
  white: 9,
});

export const COUNT_WORDS = ["once", "twice", "three times", "four times"] as const;

/** Classes of the independent evaluators: one per (kind, colour) pair, kind-major. */
export const NUM_CLASSES = KINDS.length * COLOURS.length;
export function classIndex(kind: Kind, colour: Colour): number {
  return KINDS.indexOf(kind) * COLOURS.length + COLOURS.indexOf(colour);
}
/** The kind whose classes (one per colour) hold the most probability in `probs` [NUM_CLASSES]. */
export function topKind(probs: ArrayLike<number>): Kind {
  let best = 0;
  let bestP = -1;
  for (let k = 0; k < KINDS.length; k++) {
    let p = 0;
    for (let c = 0; c < COLOURS.length; c++) p += probs[k * COLOURS.length + c];
    if (p > bestP) [best, bestP] = [k, p];
  }
  return KINDS[best];
}

export function className(index: number): string {
  return `${COLOURS[index % COLOURS.length]} ${KINDS[Math.floor(index / COLOURS.length)]}`;
}

/**
 * Seed ranges. Training scripts draw from `train`; evaluation, demos and evaluator validation from `heldOut`
 * (disjoint seeds: the same distribution, never the same clip). `evaluator` trains the independent evaluator
 * networks on their own range, so they never see the generators' training clips either.
 */
export const SPLITS = Object.freeze({
  train: Object.freeze({ start: 0, count: 1_000_000 }),
  evaluator: Object.freeze({ start: 500_000_000, count: 1_000_000 }),
  heldOut: Object.freeze({ start: 1_000_000_000, count: 100_000 }),
});
export type Split = keyof typeof SPLITS;

/** The i-th seed of a split. */
export function splitSeed(split: Split, i: number): number {
  const s = SPLITS[split];
  if (!(Number.isInteger(i) && i >= 0 && i < s.count))
    throw new RangeError(`${split} split has seeds 0…${s.count - 1} (got ${i})`);
  return s.start + i;
}
