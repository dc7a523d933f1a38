/**
 * Job events every pipeline emits (read-only, structured-clone safe, STYLE.md 10/11): the UI store and the CLI
 * consume the same stream.
 */

export type RunName = "vanilla" | "guided";

/** The runs a job makes: guided (after vanilla, same seed, in compare mode) when the aligner is on, else vanilla. */
export function runOrder(alignerEnabled: boolean, compare: boolean): RunName[] {
  if (!alignerEnabled) return ["vanilla"];
  return compare ? ["vanilla", "guided"] : ["guided"];
}
export type Phase = "loading" | "conditions" | "denoising" | "decoding" | "scoring" | "muxing";

export interface Preview {
  /** "mel": a log-mel image [frames, bins]; "frames": RGB frames [n, h, w, 3] in 0..255. */
  kind: "mel" | "frames";
  data: Float32Array | Uint8Array;
  shape: number[];
}

export type PipelineEvent =
  | { type: "phase"; phase: Phase; run?: RunName; detail?: string }
  | { type: "prompt"; prompt: string; auto: boolean; candidates?: { label: string; score: number }[] }
  | {
      type: "step";
      run: RunName;
      i: number;
      n: number;
      t: number;
      guided: boolean;
      loss?: number;
      terms?: Record<string, number>;
      /** Loss before each inner iteration (K > 1 shows the aligner's progress within a step). */
      innerLosses?: number[];
      ms: number;
    }
  | { type: "preview"; run: RunName; i: number; preview: Preview }
  | { type: "prompt-update"; run: RunName; i: number; norm: number };

export type EventSink = (e: PipelineEvent) => void;
