/**
 * The studio's tabs and the task descriptors behind the four generation tabs. A task tab is rendered from its
 * descriptor (components/TaskTab.tsx), so wiring a pipeline means filling in a descriptor, not a new view.
 */

export type InputKind = "video" | "image" | "audio";

export interface TaskInput {
  kind: InputKind;
  label: string;
  /** `accept` attribute of the file picker. */
  accept: string;
}

export interface TaskDescriptor {
  id: "v2a" | "i2a" | "a2v" | "joint";
  title: string;
  summary: string;
  inputs: readonly TaskInput[];
  /** What the task generates. */
  produces: readonly ("audio" | "video")[];
  /** The networks it runs, for the user's orientation. */
  models: readonly string[];
  /** Null while the pipeline is not wired; then the form is shown disabled with this note. */
  pipeline: null | { job: "generate" };
  pendingNote: string;
}

const video: TaskInput = { kind: "video", label: "Input video", accept: "video/*" };
const image: TaskInput = { kind: "image", label: "Input image", accept: "image/*" };
const audio: TaskInput = { kind: "audio", label: "Input audio", accept: "audio/*,.wav" };

export const tasks = Object.freeze({
  v2a: {
    id: "v2a",
    title: "Video → Audio",
    summary:
      "Generate a soundtrack for a silent video: AudioLDM denoises, ImageBind pulls the audio toward the video.",
    inputs: [video],
    produces: ["audio"],
    models: ["AudioLDM", "ImageBind"],
    pipeline: { job: "generate" },
    pendingNote: "The video-to-audio pipeline is not wired into the studio yet.",
  },
  i2a: {
    id: "i2a",
    title: "Image → Audio",
    summary: "Generate the sound of a still image, guided by ImageBind's image–audio similarity.",
    inputs: [image],
    produces: ["audio"],
    models: ["AudioLDM", "ImageBind"],
    pipeline: { job: "generate" },
    pendingNote: "The image-to-audio pipeline is not wired into the studio yet.",
  },
  a2v: {
    id: "a2v",
    title: "Audio → Video",
    summary:
      "Generate a short video that matches an audio clip: AnimateDiff denoises, ImageBind aligns it to the sound.",
    inputs: [audio],
    produces: ["video"],
    models: ["AnimateDiff", "Stable Diffusion", "ImageBind"],
    pipeline: { job: "generate" },
    pendingNote: "The audio-to-video pipeline is not wired into the studio yet.",
  },
  joint: {
    id: "joint",
    title: "Joint Video + Audio",
    summary:
      "Generate video and audio together from a prompt, both latents steered by one ImageBind triangle loss.",
    inputs: [],
    produces: ["video", "audio"],
    models: ["AnimateDiff", "AudioLDM", "ImageBind"],
    pipeline: { job: "generate" },
    pendingNote: "The joint video+audio pipeline is not wired into the studio yet.",
  },
} as const satisfies Record<TaskDescriptor["id"], TaskDescriptor>);

export const tabs = Object.freeze([
  { id: "v2a", label: "Video → Audio", kind: "task" },
  { id: "i2a", label: "Image → Audio", kind: "task" },
  { id: "a2v", label: "Audio → Video", kind: "task" },
  { id: "joint", label: "Joint Video + Audio", kind: "task" },
  { id: "models", label: "Models", kind: "models" },
  { id: "system", label: "System", kind: "system" },
  { id: "gallery", label: "Gallery", kind: "gallery" },
] as const);

export type TabId = (typeof tabs)[number]["id"];
