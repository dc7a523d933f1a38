/**
 * ImageBind as a condition encoder, shared by every task engine (audio_engine.ts, video_engine.ts; one instance
 * per session when a joint engine holds both): forward-only runners for vision, text and audio (condition media
 * and output scoring, SPEC §3.6–3.8, §6.2), and the automatic prompt — a label vocabulary ranked by ImageBind
 * text–condition cosine (SPEC §8 Q9: no captioner is specified, so the prompt comes from labels, or the user).
 */
import type { ImageBindModel } from "../models/imagebind/model.js";
import type { HostTensor } from "../ops/onnx/session.js";
import { type ExecutorChoice, type ForwardRunner, forwardRunner } from "../ops/runner.js";
import { audioToImageBindInput } from "../preprocess/audio/imagebind_audio.js";
import type { ClipTokenizer } from "../preprocess/tokenizers/clip.js";
import { imageToImageBindInput, type RgbImage } from "../preprocess/video/imagebind_image.js";
import { type VideoFrames, videoToImageBindInput } from "../preprocess/video/imagebind_video.js";

const LABEL_BATCH = 16;

export interface AudioEmbedOptions {
  /** Rows of `waveform` (channel-major [C, L]); default 1. */
  channels?: number;
  /** Seconds per clip: 1 for S&H's generated audio (SPEC §3.7); see a2v.ts for the A2V condition. */
  clipDuration?: number;
}

export class ImageBindEncoders {
  readonly imagebind: ImageBindModel;
  private readonly vision: ForwardRunner;
  private readonly text: ForwardRunner;
  /** One runner per clip layout (the layout is part of the traced graph). */
  private readonly audio = new Map<string, ForwardRunner>();
  private labelEmbeddings: Promise<Float32Array> | null = null;
  private disposed = false;

  constructor(
    imagebind: ImageBindModel,
    private readonly tokenizer: ClipTokenizer,
    private readonly forward: ExecutorChoice,
    private readonly labels: readonly string[],
  ) {
    this.imagebind = imagebind;
    this.vision = forwardRunner(
      "imagebind-vision",
      (ops, xs) => ({ emb: imagebind.embed(ops, "vision", xs.x) }),
      forward,
    );
    this.text = forwardRunner(
      "imagebind-text",
      (ops, xs) => ({ emb: imagebind.embed(ops, "text", xs.ids) }),
      forward,
    );
  }

  /** Condition video → ImageBind vision embedding [D] (mean of S clip embeddings, SPEC §3.6). */
  embedVideo(video: VideoFrames, clips: number): Promise<Float32Array> {
    const x = videoToImageBindInput(video, clips);
    return this.embed1(this.vision, { x: { data: x, shape: [1, clips, 3, 2, 224, 224] } });
  }

  embedImage(image: RgbImage): Promise<Float32Array> {
    return this.embed1(this.vision, { x: { data: imageToImageBindInput(image), shape: [1, 3, 224, 224] } });
  }

  embedText(text: string): Promise<Float32Array> {
    return this.embed1(this.text, { ids: { data: this.tokenizer.encodeForImageBind(text), shape: [1, 77] } });
  }

  /** A 16 kHz waveform [C, L] → ImageBind audio embedding with `clips` clips (SPEC §3.7). */
  embedAudio(waveform: Float32Array, clips: number, opts: AudioEmbedOptions = {}): Promise<Float32Array> {
    const channels = opts.channels ?? 1;
    const clipDuration = opts.clipDuration ?? 1;
    const key = `${clips}|${clipDuration}`;
    let r = this.audio.get(key);
    if (!r) {
      const ib = this.imagebind;
      r = forwardRunner(
        `imagebind-audio-${clips}`,
        (ops, xs) => ({
          emb: ib.embed(ops, "audio", audioToImageBindInput(ops, xs.wav, clips, { clipDuration })),
        }),
        this.forward,
      );
      this.audio.set(key, r);
    }
    return this.embed1(r, { wav: { data: waveform, shape: [channels, waveform.length / channels] } });
  }

  private async embed1(r: ForwardRunner, inputs: Record<string, HostTensor>): Promise<Float32Array> {
    return (await r.run(inputs)).emb.data as Float32Array;
  }

  /** The automatic prompt: the `top` labels whose ImageBind text embeddings are closest to the condition. */
  async autoPrompt(
    condition: Float32Array,
    top = 2,
  ): Promise<{ prompt: string; candidates: { label: string; score: number }[] }> {
    this.labelEmbeddings ??= this.computeLabelEmbeddings();
    const table = await this.labelEmbeddings;
    const d = condition.length;
    const cn = Math.hypot(...condition) || 1;
    const scored = this.labels.map((label, k) => {
      let dot = 0;
      let n = 0;
      for (let j = 0; j < d; j++) {
        dot += table[k * d + j] * condition[j];
        n += table[k * d + j] ** 2;
      }
      return { label, score: dot / (Math.sqrt(n) * cn || 1) };
    });
    scored.sort((a, b) => b.score - a.score);
    const candidates = scored.slice(0, Math.max(top, 5));
    return {
      prompt: candidates
        .slice(0, top)
        .map((c) => c.label)
        .join(", "),
      candidates,
    };
  }

  private async computeLabelEmbeddings(): Promise<Float32Array> {
    const labels = this.labels;
    const parts: Float32Array[] = [];
    for (let s = 0; s < labels.length; s += LABEL_BATCH) {
      const batch = labels.slice(s, s + LABEL_BATCH);
      // pad the last batch to a full one so one traced graph serves every batch
      while (batch.length < LABEL_BATCH) batch.push(batch[batch.length - 1]);
      const ids = new Int32Array(LABEL_BATCH * 77);
      for (let k = 0; k < LABEL_BATCH; k++) ids.set(this.tokenizer.encodeForImageBind(batch[k]), k * 77);
      const emb = await this.embed1(this.text, { ids: { data: ids, shape: [LABEL_BATCH, 77] } });
      const d = emb.length / LABEL_BATCH;
      parts.push(emb.subarray(0, Math.min(LABEL_BATCH, labels.length - s) * d));
    }
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Releases the runners; safe to call twice (a joint engine's two halves share one instance). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const r of [this.vision, this.text, ...this.audio.values()]) await r.dispose();
    this.audio.clear();
  }
}
