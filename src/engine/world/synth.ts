/**
 * Sound of a scene: one struck sound per event, starting exactly at the event time. The kind sets the timbre
 * (a pitched thump with a click, a drum's body and snare noise, inharmonic bell partials, an upward chirp) and
 * the colour the pitch (COLOUR_SEMITONES), over a faint noise floor; a tanh limiter keeps overlaps in [−1, 1].
 * Envelopes are running products and the noise is uniform, so a clip costs a few milliseconds.
 */
import { SeededRng } from "../metrics/stats.js";
import type { Scene, WorldObject } from "./scene.js";
import { COLOUR_SEMITONES, type Kind, WORLD } from "./spec.js";

/** Seconds each event's sound lasts (the tail is cut at the clip end). */
const LENGTH: Readonly<Record<Kind, number>> = { ball: 0.4, drum: 0.35, bell: 1.2, bird: 0.16 };

/** Zero-mean, unit-variance uniform noise (cheaper than Box–Muller; the mel cannot tell). */
function noise(rng: SeededRng): number {
  return (2 * rng.next() - 1) * 1.7320508075688772;
}

/** exp(−τ/T) at sample rate sr as a running product: `next()` returns the value at the current sample. */
class Decay {
  private value = 1;
  private readonly k: number;
  constructor(seconds: number, sr: number) {
    this.k = Math.exp(-1 / (seconds * sr));
  }
  next(): number {
    const v = this.value;
    this.value *= this.k;
    return v;
  }
}

/** One-pole smoothing coefficient for a cutoff `hz`. */
const pole = (hz: number, sr: number) => 1 - Math.exp((-2 * Math.PI * hz) / sr);

/** Add one event's sound for object `o` at sample `start` into `out`. */
function strike(o: WorldObject, start: number, out: Float32Array, sr: number, rng: SeededRng): void {
  const m = 2 ** (COLOUR_SEMITONES[o.colour] / 12);
  const n = Math.min(out.length - start, Math.round(LENGTH[o.kind] * sr));
  const attack = new Decay(0.0015, sr); // 1 − exp(−τ / 1.5 ms)
  const body: Decay[] = [];
  let phase = 0;
  switch (o.kind) {
    case "ball": {
      const sweep = new Decay(0.015, sr);
      const env = new Decay(0.07, sr);
      const click = new Decay(0.006, sr);
      for (let i = 0; i < n; i++) {
        phase += (2 * Math.PI * 120 * m * (1 + 0.8 * sweep.next())) / sr;
        const a = 1 - attack.next();
        out[start + i] += 0.75 * Math.sin(phase) * env.next() * a + 0.25 * noise(rng) * click.next();
      }
      return;
    }
    case "drum": {
      const env = new Decay(0.09, sr);
      const snare = new Decay(0.05, sr);
      const kh = pole(900 * m, sr);
      const kl = pole(3000 * m, sr);
      let hp = 0;
      let lp = 0;
      for (let i = 0; i < n; i++) {
        phase += (2 * Math.PI * 180 * m) / sr;
        const w = noise(rng);
        hp += (w - hp) * kh; // low-passed copy, subtracted below: a high-pass …
        lp += (w - hp - lp) * kl; // … then a low-pass: band-passed noise
        out[start + i] += 0.45 * Math.sin(phase) * env.next() * (1 - attack.next()) + 0.9 * lp * snare.next();
      }
      return;
    }
    case "bell": {
      const f0 = 520 * m;
      const partials: readonly [number, number, number][] = [
        [1, 1, 0.7],
        [2.76, 0.55, 0.45],
        [5.4, 0.3, 0.25],
        [8.93, 0.15, 0.15],
      ].filter(([ratio]) => f0 * ratio <= 0.47 * sr) as [number, number, number][];
      for (const [, , dec] of partials) body.push(new Decay(dec, sr));
      for (let i = 0; i < n; i++) {
        const tau = i / sr;
        let v = 0;
        partials.forEach(([ratio, amp], j) => {
          v += amp * Math.sin(2 * Math.PI * f0 * ratio * tau) * body[j].next();
        });
        out[start + i] += 0.3 * v * (1 - attack.next());
      }
      return;
    }
    case "bird": {
      const dur = LENGTH.bird;
      const slowAttack = new Decay(0.003, sr);
      for (let i = 0; i < n; i++) {
        const tau = i / sr;
        phase += (2 * Math.PI * 1800 * m * (3200 / 1800) ** (tau / dur)) / sr;
        const env = (1 - slowAttack.next()) * (1 - tau / dur) ** 1.5;
        out[start + i] += 0.45 * env * (Math.sin(phase) + 0.2 * Math.sin(2 * phase));
      }
      return;
    }
  }
}

/** The scene's mono waveform at `sampleRate` (default 16 kHz), `durationS · sampleRate` samples. */
export function synthesizeScene(scene: Scene, sampleRate: number = WORLD.sampleRate): Float32Array {
  const n = Math.round(scene.durationS * sampleRate);
  const mix = new Float32Array(n);
  const rng = new SeededRng((scene.seed ^ 0xa0d10) >>> 0);
  let lp = 0;
  const fade = 0.25 * sampleRate;
  for (let i = 0; i < n; i++) {
    lp += (noise(rng) - lp) * 0.2;
    // faded in over 0.25 s, so the clip start is not itself an onset
    mix[i] = 0.002 * lp * (i < fade ? i / fade : 1);
  }
  for (const o of scene.objects)
    for (const e of o.events) strike(o, Math.round(e * sampleRate), mix, sampleRate, rng);
  for (let i = 0; i < n; i++) mix[i] = 0.9 * Math.tanh(mix[i] / 0.9);
  return mix;
}
