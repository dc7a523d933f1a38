/**
 * Renders a scene to RGB frames (anti-aliased signed-distance shapes on a plain background with a floor line).
 * Each kind moves at its events — the ball bounces off the floor, the drum jumps and swells, the bell jolts
 * sideways on its rope, the bird hops — so the optical flow peaks where the sounds start.
 */
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import type { Scene, WorldObject } from "./scene.js";
import { COLOUR_RGB, WORLD } from "./spec.js";

/** Where and how an object is drawn at one instant. */
export interface Pose {
  cx: number;
  cy: number;
  /** Horizontal / vertical scale of the shape. */
  sx: number;
  sy: number;
  /** 0…1 brightening at a hit. */
  flash: number;
}

/** Σ over past events of exp(−(t − e)/τ): a decaying impulse train. */
function decay(events: readonly number[], t: number, tau: number): number {
  let s = 0;
  for (const e of events) if (t >= e) s += Math.exp(-(t - e) / tau);
  return s;
}

const GRAVITY = 300; // px/s²
const MAX_APEX = 20; // px (keeps the ball slow enough for the 8-fps optical flow)

/** Height of the ball above its resting height at time t (bounces exactly at the events). */
function ballHeight(o: WorldObject, t: number, duration: number): number {
  const ev = o.events;
  const apex = (flight: number) => Math.min(MAX_APEX, (GRAVITY * flight * flight) / 8);
  if (t <= ev[0]) {
    const h0 = Math.min(MAX_APEX, 6 + 12 * o.variant + 12 * ev[0]);
    return h0 * (1 - (t / ev[0]) ** 2);
  }
  for (let k = 0; k < ev.length; k++) {
    const start = ev[k];
    // after the last bounce it flies on and has not landed when the clip ends
    const end = k + 1 < ev.length ? ev[k + 1] : start + 2 * (duration - start) + 0.3;
    if (t <= end) {
      const g = end - start;
      const u = (t - start) / g;
      return 4 * apex(g) * u * (1 - u);
    }
  }
  return 0;
}

export function poseAt(o: WorldObject, t: number, duration: number): Pose {
  const floor = WORLD.floorY;
  const r = o.size;
  switch (o.kind) {
    case "ball": {
      const drift = (o.variant - 0.5) * 8 * t;
      return { cx: o.x + drift, cy: floor - r - ballHeight(o, t, duration), sx: 1, sy: 1, flash: 0 };
    }
    case "drum": {
      const p = Math.min(1.5, decay(o.events, t, 0.1));
      return {
        cx: o.x,
        cy: floor - r * 0.85 - 3 * p,
        sx: 1 + 0.35 * p,
        sy: 1 + 0.35 * p,
        flash: Math.min(1, p),
      };
    }
    case "bell": {
      let dx = 0;
      o.events.forEach((e, k) => {
        if (t >= e) dx += (k % 2 === (o.variant < 0.5 ? 0 : 1) ? 1 : -1) * Math.exp(-(t - e) / 0.12);
      });
      return { cx: o.x + 7 * dx, cy: 20, sx: 1, sy: 1, flash: Math.min(1, decay(o.events, t, 0.15)) };
    }
    case "bird": {
      let h = 0;
      for (const e of o.events) {
        const u = t - e;
        if (u >= 0) h += u < 0.07 ? u / 0.07 : Math.exp(-(u - 0.07) / 0.12);
      }
      return { cx: o.x, cy: floor - r * 0.85 - 11 * Math.min(1.2, h), sx: 1, sy: 1, flash: 0 };
    }
  }
}

/** √(x² + y²) (Math.hypot is several times slower in V8). */
const len = (x: number, y: number) => Math.sqrt(x * x + y * y);

/** Signed distance (px, negative inside) of the object's shape at local offset (x, y) from its centre. */
function shapeDistance(o: WorldObject, x: number, y: number): number {
  const r = o.size;
  switch (o.kind) {
    case "ball":
      return len(x, y) - r;
    case "drum": {
      const qx = Math.abs(x) - r;
      const qy = Math.abs(y) - r * 0.85;
      return len(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
    }
    case "bell": {
      // a flared bell: half-width grows from 0.45 r at the top to r at the rim, plus a clapper below
      const w = r * (0.45 + (0.55 * (y + r)) / (2 * r));
      const body = Math.max(Math.abs(y) - r, Math.abs(x) - w);
      const clapper = len(x, y - r - 1.5) - 1.8;
      return Math.min(body, clapper);
    }
    case "bird": {
      const a = 1.25 * r;
      const b = 0.8 * r;
      const body = (len(x / a, y / b) - 1) * b;
      const bx = x - a * 0.95;
      const beak = Math.max(Math.abs(y + 1) - (3 - bx) * 0.6, -bx, bx - 3.5);
      return Math.min(body, beak);
    }
  }
}

function coverage(d: number): number {
  return Math.min(1, Math.max(0, 0.5 - d));
}

/** Paint one frame at time t into `out` (RGB, row-major). */
export function renderFrame(scene: Scene, t: number, out: Uint8Array): void {
  const { width: W, height: H, floorY } = WORLD;
  const img = new Float32Array(W * H * 3);
  const [br, bg, bb] = scene.background;
  for (let i = 0; i < W * H; i++) {
    const y = Math.floor(i / W);
    const shade = y >= floorY ? 0.75 : 1;
    img[3 * i] = br * shade;
    img[3 * i + 1] = bg * shade;
    img[3 * i + 2] = bb * shade;
  }
  for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) img[3 * (floorY * W + x) + c] = 96;
  for (const o of scene.objects) {
    const p = poseAt(o, t, scene.durationS);
    const rgb = COLOUR_RGB[o.colour].map((c) => c + (255 - c) * 0.45 * p.flash);
    if (o.kind === "bell") {
      // the rope from the top edge to the bell's crown
      const top = Math.round(p.cy - o.size);
      for (let y = 0; y < top; y++) {
        const fx = o.x + ((p.cx - o.x) * y) / Math.max(1, top);
        for (let x = Math.floor(fx) - 1; x <= Math.floor(fx) + 1; x++) {
          const a = coverage(Math.abs(x + 0.5 - fx) - 0.5) * 0.8;
          if (x < 0 || x >= W || a <= 0) continue;
          for (let c = 0; c < 3; c++) img[3 * (y * W + x) + c] += (150 - img[3 * (y * W + x) + c]) * a;
        }
      }
    }
    const reach = o.size * 1.6 * Math.max(p.sx, p.sy) + 5;
    const x0 = Math.max(0, Math.floor(p.cx - reach));
    const x1 = Math.min(W - 1, Math.ceil(p.cx + reach));
    const y0 = Math.max(0, Math.floor(p.cy - reach));
    const y1 = Math.min(H - 1, Math.ceil(p.cy + reach));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const lx = (x + 0.5 - p.cx) / p.sx;
        const ly = (y + 0.5 - p.cy) / p.sy;
        const a = coverage(shapeDistance(o, lx, ly) * Math.min(p.sx, p.sy));
        if (a <= 0) continue;
        // simple shading: lighter towards the top-left, and a dark eye for the bird
        const light = 1 + 0.18 * (-(lx + ly) / (2 * o.size));
        const eye = o.kind === "bird" && len(lx - 0.45 * o.size, ly + 0.2 * o.size) < 1.3;
        const i = 3 * (y * W + x);
        for (let c = 0; c < 3; c++) {
          const v = eye ? 10 : Math.min(255, rgb[c] * light);
          img[i + c] += (v - img[i + c]) * a;
        }
      }
    }
  }
  for (let i = 0; i < img.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img[i])));
}

/** All frames of the scene: `fps · duration` frames at t = i / fps. */
export function renderScene(scene: Scene, fps: number = WORLD.fps): VideoFrames {
  const { width: W, height: H } = WORLD;
  const n = Math.round(scene.durationS * fps);
  const data = new Uint8Array(n * W * H * 3);
  for (let i = 0; i < n; i++) renderFrame(scene, i / fps, data.subarray(i * W * H * 3, (i + 1) * W * H * 3));
  return { data, numFrames: n, height: H, width: W, fps };
}
