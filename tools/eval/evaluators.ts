/**
 * The independent evaluators (src/engine/eval/evaluators.ts) with their trained weights (eval/evaluators/, from
 * tools/train/evaluators.ts), as functions from media to features and class probabilities.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AudioEvaluator,
  audioEvaluatorInput,
  EVAL_AUDIO,
  EVAL_VIDEO,
  VideoEvaluator,
  videoEvaluatorInput,
} from "../../src/engine/eval/evaluators.js";
import type { EvaluatorOut } from "../../src/engine/eval/table.js";
import { namedParams } from "../../src/engine/ops/param.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { SafetensorsFile } from "../../src/engine/weights/safetensors.js";

async function load(model: object, path: string): Promise<void> {
  const f = new SafetensorsFile(new Uint8Array(await readFile(path)), path);
  const missing: string[] = [];
  for (const [k, p] of namedParams(model)) {
    if (!f.has(k)) missing.push(k);
    else p.set(f.get(k));
  }
  if (missing.length) throw new Error(`${path}: missing ${missing.slice(0, 3).join(", ")}`);
}

function softmaxRow(l: Float32Array): Float32Array {
  const m = Math.max(...l);
  const e = l.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export class Evaluators {
  private readonly ops = new TfjsOps();
  private constructor(
    private readonly audioNet: AudioEvaluator,
    private readonly videoNet: VideoEvaluator,
  ) {}

  /** Load from `dir` (default eval/evaluators); a clear error when they have not been trained yet. */
  static async open(dir = "eval/evaluators"): Promise<Evaluators> {
    const a = new AudioEvaluator();
    const v = new VideoEvaluator();
    try {
      await load(a, join(dir, "audio.safetensors"));
      await load(v, join(dir, "video.safetensors"));
    } catch (e) {
      throw new Error(
        `the evaluator networks are not available (${(e as Error).message}); train them with node tools/run.mjs tools/train/evaluators.ts`,
      );
    }
    return new Evaluators(a, v);
  }

  /** Mono audio → mean features and softmax of the mean logits over 2-s windows. */
  async audio(samples: Float32Array, sampleRate: number): Promise<EvaluatorOut> {
    const { data, windows } = audioEvaluatorInput(samples, sampleRate);
    const out = tf.tidy(() => {
      const o = this.audioNet.forward(
        this.ops,
        tf.tensor4d(data, [windows, 1, EVAL_AUDIO.mels, EVAL_AUDIO.frames]),
      );
      return [tf.mean(o.features, 0), tf.mean(o.logits, 0)];
    });
    const [f, l] = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(out);
    return { features: Float32Array.from(f), probs: softmaxRow(Float32Array.from(l)) };
  }

  /** RGB(A) frames [T, H, W, C] → features and class probabilities. */
  async video(
    data: Uint8Array | Uint8ClampedArray,
    numFrames: number,
    height: number,
    width: number,
    channels: 3 | 4 = 3,
  ): Promise<EvaluatorOut> {
    const x = videoEvaluatorInput(data, numFrames, height, width, channels);
    const out = tf.tidy(() => {
      const o = this.videoNet.forward(
        this.ops,
        tf.tensor(x, [1, EVAL_VIDEO.frames, 3, EVAL_VIDEO.size, EVAL_VIDEO.size]),
      );
      return [o.features, o.logits];
    });
    const [f, l] = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(out);
    return { features: Float32Array.from(f), probs: softmaxRow(Float32Array.from(l)) };
  }

  dispose(): void {
    this.ops.dispose();
  }
}
