/**
 * A world clip from a seed: frames, waveform, captions and labels, plus the captions' template grammar.
 *
 * Captions (what each task's text is in the evaluation):
 *  - `caption`: the full description, "a red ball bouncing twice and a blue bell ringing once" (Joint-VA prompt;
 *    ImageBind/CLAP/CLIP training text);
 *  - `keyFrameCaption`: what one frame shows, "a red ball and a blue bell" (V2A/I2A vanilla prompt — the paper
 *    captions a key frame, which shows objects but not when they sound);
 *  - `audioCaption`: what a listener can name, "a ball bouncing twice" (A2V vanilla prompt — the paper captions
 *    the audio; our listener hears the kind and the count, not the colour).
 */
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import { renderScene } from "./render.js";
import { type Scene, type SceneOptions, sampleScene, type WorldObject } from "./scene.js";
import {
  ACTIONS,
  COLOURS,
  COUNT_WORDS,
  classIndex,
  className,
  KINDS,
  NUM_CLASSES,
  SOUNDS,
  WORLD,
} from "./spec.js";
import { synthesizeScene } from "./synth.js";

export interface WorldClip {
  seed: number;
  scene: Scene;
  video: VideoFrames;
  audio: Float32Array;
  sampleRate: number;
  caption: string;
  keyFrameCaption: string;
  audioCaption: string;
  /** Multi-hot over NUM_CLASSES (kind × colour) of the objects present. */
  classes: Float32Array;
  /** Multi-hot over KINDS. */
  kinds: Float32Array;
  /** All event (onset) times, sorted. */
  onsets: number[];
}

const countWord = (n: number) => COUNT_WORDS[Math.min(n, COUNT_WORDS.length) - 1];

export function objectCaption(o: WorldObject): string {
  return `a ${o.colour} ${o.kind} ${ACTIONS[o.kind]} ${countWord(o.events.length)}`;
}

export function sceneCaptions(scene: Scene): Pick<WorldClip, "caption" | "keyFrameCaption" | "audioCaption"> {
  const os = scene.objects;
  return {
    caption: os.map(objectCaption).join(" and "),
    keyFrameCaption: os.map((o) => `a ${o.colour} ${o.kind}`).join(" and "),
    audioCaption: os.map((o) => `${SOUNDS[o.kind]} ${countWord(o.events.length)}`).join(" and "),
  };
}

export function sceneLabels(scene: Scene): Pick<WorldClip, "classes" | "kinds" | "onsets"> {
  const classes = new Float32Array(NUM_CLASSES);
  const kinds = new Float32Array(KINDS.length);
  for (const o of scene.objects) {
    classes[classIndex(o.kind, o.colour)] = 1;
    kinds[KINDS.indexOf(o.kind)] = 1;
  }
  const onsets = scene.objects.flatMap((o) => o.events).sort((a, b) => a - b);
  return { classes, kinds, onsets };
}

/** The clip of `seed` (frames at WORLD.fps, audio at WORLD.sampleRate). */
export function worldClip(seed: number, opts: SceneOptions = {}): WorldClip {
  const scene = sampleScene(seed, opts);
  return {
    seed,
    scene,
    video: renderScene(scene),
    audio: synthesizeScene(scene),
    sampleRate: WORLD.sampleRate,
    ...sceneCaptions(scene),
    ...sceneLabels(scene),
  };
}

/** The middle frame of a clip as an RGB image (the I2A condition: the paper's key frame). */
export function keyFrame(clip: Pick<WorldClip, "video">): {
  data: Uint8Array;
  width: number;
  height: number;
} {
  const { width, height, numFrames } = clip.video;
  const n = width * height * 3;
  const f = Math.floor(numFrames / 2);
  return { data: clip.video.data.subarray(f * n, (f + 1) * n) as Uint8Array, width, height };
}

/** Every distinct caption of one-object scenes (label vocabularies, text-encoder sanity checks). */
export function allSingleObjectCaptions(): string[] {
  const out: string[] = [];
  for (const kind of KINDS)
    for (const colour of COLOURS)
      for (let n = 1; n <= COUNT_WORDS.length; n++)
        out.push(`a ${colour} ${kind} ${ACTIONS[kind]} ${countWord(n)}`);
  return out;
}

/** The world's automatic-prompt vocabulary: "a red ball", … (kind × colour), for AudioTaskEngine `labels`. */
export function worldLabels(): string[] {
  return Array.from({ length: NUM_CLASSES }, (_, c) => `a ${className(c)}`);
}

export { WORLD };
