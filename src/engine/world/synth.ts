/**
 * Sound of a scene: one struck sound per event, starting exactly at the event time. The kind sets the timbre
 * (a pitched thump with a click, a drum's body and snare noise, inharmonic bell partials, an upward chirp) and
 * the colour the pitch (COLOUR_SEMITONES), over a faint noise floor; a tanh limiter keeps overlaps in [−1, 1].
 */
import { SeededRng } from "../metrics/stats.js";
import type { Scene, WorldObject } from "./scene.js";
import { COLOUR_SEMITONES, type Kind, WORLD } from "./spec.js";

/** Seconds each event's sound lasts (the tail is cut at the clip end). */
const LENGTH: Readonly<Record<Kind, number>> = { ball: 0.4, drum: 0.35, bell: 1.2, bird: 0.16 };

function gaussianNoise(rng: SeededRng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Add one event's sound for object `o` at sample `start` into `out`. */
function strike(o: WorldObject, start: number, out: Float32Array, sr: number, rng: SeededRng): void {
  const m = 2 ** (COLOUR_SEMITONES[o.colour] / 12);
  const n = Math.min(out.length - start, Math.round(LENGTH[o.kind] * sr));
  const attack = (tau: number) => 1 - Math.exp(-tau / 0.0015);
  let phase = 0;
  let lp = 0;
  let hp = 0;
  for (let i = 0; i < n; i++) {
    const tau = i / sr;
    let v = 0;
    switch (o.kind) {
      case "ball": {
        const f = 120 * m * (1 + 0.8 * Math.exp(-tau / 0.015));
        phase += (2 * Math.PI * f) / sr;
        v = 0.75 * Math.sin(phase) * Math.exp(-tau / 0.07) * attack(tau);
        v += 0.25 * gaussianNoise(rng) * Math.exp(-tau / 0.006);
        break;
      }
      case "drum": {
        phase += (2 * Math.PI * 180 * m) / sr;
        v = 0.45 * Math.sin(phase) * Math.exp(-tau / 0.09) * attack(tau);
        // band-passed noise: a one-pole high-pass (~0.9 kHz·m) then a one-pole low-pass (~3 kHz·m)
        const w = gaussianNoise(rng);
        hp += (w - hp) * (1 - Math.exp((-2 * Math.PI * 900 * m) / sr)); // low-passed copy …
        const hpOut = w - hp; // … subtracted: high-pass
        lp += (hpOut - lp) * (1 - Math.exp((-2 * Math.PI * 3000 * m) / sr));
        v += 0.9 * lp * Math.exp(-tau / 0.05);
        break;
      }
      case "bell": {
        const f0 = 520 * m;
        const partials: readonly [number, number, number][] = [
          [1, 1, 0.7],
          [2.76, 0.55, 0.45],
          [5.4, 0.3, 0.25],
          [8.93, 0.15, 0.15],
        ];
        for (const [ratio, amp, dec] of partials) {
          if (f0 * ratio > 0.47 * sr) continue;
          v += amp * Math.sin(2 * Math.PI * f0 * ratio * tau) * Math.exp(-tau / dec);
        }
        v *= 0.3 * attack(tau);
        break;
      }
      case "bird": {
        const dur = LENGTH.bird;
        const f = 1800 * m * (3200 / 1800) ** (tau / dur);
        phase += (2 * Math.PI * f) / sr;
        const env = attack(tau * 0.5) * (1 - tau / dur) ** 1.5;
        v = 0.45 * env * (Math.sin(phase) + 0.2 * Math.sin(2 * phase));
        break;
      }
    }
    out[start + i] += v;
  }
}

/** The scene's mono waveform at `sampleRate` (default 16 kHz), `durationS · sampleRate` samples. */
export function synthesizeScene(scene: Scene, sampleRate: number = WORLD.sampleRate): Float32Array {
  const n = Math.round(scene.durationS * sampleRate);
  const mix = new Float32Array(n);
  const rng = new SeededRng((scene.seed ^ 0xa0d10) >>> 0);
  let lp = 0;
  for (let i = 0; i < n; i++) {
    lp += (gaussianNoise(rng) - lp) * 0.2;
    // faded in over 0.25 s, so the clip start is not itself an onset
    mix[i] = 0.002 * lp * Math.min(1, i / (0.25 * sampleRate));
  }
  for (const o of scene.objects)
    for (const e of o.events) strike(o, Math.round(e * sampleRate), mix, sampleRate, rng);
  for (let i = 0; i < n; i++) mix[i] = 0.9 * Math.tanh(mix[i] / 0.9);
  return mix;
}
