/**
 * The training run's jobs, in two tracks (all.ts runs them, one process per track; build-pack.ts reports how far
 * each got): script, planned steps, the folders whose done.json mark them finished, and their share of a track's
 * time under --finish-by.
 */

export interface Job {
  name: string;
  script: string;
  steps: number;
  /** Folder whose done.json marks the job finished. */
  dirs: string[];
  /** Share of its track's remaining time under --finish-by (the job's priority and cost, relative). */
  share: number;
  /** Extra arguments of the job's script (batch and data sizes for the 2-core budget; docs/training.md). */
  args?: string[];
}

/** Step counts of the full run (docs/training.md explains the budget). */
export const AUDIO: Job[] = [
  {
    name: "evaluators",
    script: "evaluators.ts",
    steps: 600,
    dirs: ["evaluators/audio", "evaluators/video"],
    share: 0.2,
  },
  {
    name: "audioldm-vae",
    script: "audioldm-vae.ts",
    steps: 1200,
    dirs: ["audioldm-vae"],
    share: 0.2,
    args: ["--batch", "4"],
  },
  {
    name: "audioldm-vocoder",
    script: "audioldm-vocoder.ts",
    steps: 3000,
    dirs: ["audioldm-vocoder"],
    share: 0.15,
  },
  { name: "clap", script: "clap.ts", steps: 3000, dirs: ["clap"], share: 0.02 },
  {
    name: "audioldm-ldm",
    script: "audioldm-ldm.ts",
    steps: 3000,
    dirs: ["audioldm-ldm"],
    share: 0.45,
    args: ["--batch", "4", "--clips", "1000"],
  },
];
export const VISION: Job[] = [
  { name: "imagebind", script: "imagebind.ts", steps: 1500, dirs: ["imagebind"], share: 0.4 },
  { name: "sd-vae", script: "sd-vae.ts", steps: 1000, dirs: ["sd-vae"], share: 0.15, args: ["--batch", "4"] },
  {
    name: "sd-unet",
    script: "sd-unet.ts",
    steps: 2500,
    dirs: ["sd-unet"],
    share: 0.25,
    args: ["--batch", "8", "--clips", "500"],
  },
  {
    name: "motion",
    script: "motion.ts",
    steps: 2000,
    dirs: ["motion"],
    share: 0.2,
    args: ["--clips", "500"],
  },
];

/** The jobs whose weights go into the pack (the evaluators are eval/evaluators, not pack components). */
export const PACK_JOBS: readonly string[] = [...VISION, ...AUDIO]
  .map((j) => j.name)
  .filter((n) => n !== "evaluators");
