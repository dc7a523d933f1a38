/**
 * Can the trained vocoder (and VAE) render each kind of the world's sounds? For held-out clips, the independent
 * audio evaluator (eval/evaluators) names the kind it hears in (a) the real waveform, (b) the vocoder's waveform
 * from the clip's real log-mel, (c) the vocoder's waveform from the VAE's reconstruction of that log-mel; a hit is
 * a kind present in the clip. Generated audio can only be as recognisable as (c). Also prints each kind's output
 * level against the real one (a vocoder that renders a tone at 1/30 of its level is heard as something else).
 *
 *   node tools/run.mjs tools/train/vocoder-check.ts [--root .cache/train-ort] [--checkpoint] [--n 40]
 */
import { join } from "node:path";
import { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import { TfjsOps, tf } from "../../src/engine/ops/tfjs.js";
import { type Kind, topKind } from "../../src/engine/world/spec.js";
import { Evaluators } from "../eval/evaluators.js";
import { TRAINED_AUDIOLDM } from "./configs.js";
import { MEL_FRAMES, WorldDataset } from "./lib/data.js";
import { flags, startTraining } from "./lib/env.js";
import { loadCheckpoint, loadFinal } from "./lib/trainer.js";
import { loadTrainedVae } from "./lib/vae.js";

const f = flags();
const root = f.str("root", ".cache/train-ort");
const N = f.num("n", 40);
await startTraining();
const ops = new TfjsOps();

const { vae } = await loadTrainedVae(join(root, "audioldm-vae"));
const vocDir = join(root, "audioldm-vocoder");
const voc = new SpeechT5HifiGan(TRAINED_AUDIOLDM.vocoder);
await (f.has("checkpoint") ? loadCheckpoint : loadFinal)(vocDir, "vocoder", voc);
const ev = await Evaluators.open();
const data = await new WorldDataset("heldOut", N, 3000).load(["mel", "audio"]);

const rms = (w: Float32Array) => Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);

const WAYS = ["real", "vocoder", "vae+vocoder"] as const;
const hits = { real: 0, vocoder: 0, "vae+vocoder": 0 };
/** Per single-object kind: summed rms of the real and vocoded (from the real mel) waveforms. */
const level = new Map<Kind, { real: number; voc: number; n: number }>();
for (let i = 0; i < N; i++) {
  const objects = data.meta[i].scene.objects;
  const kinds = new Set<Kind>(objects.map((o) => o.kind));
  const [direct, viaVae] = tf.tidy(() => {
    const mel = tf.tensor3d(data.logMel(i), [1, MEL_FRAMES, 64]);
    const rec = vae.decode(ops, vae.encode(ops, tf.reshape(mel, [1, 1, MEL_FRAMES, 64])).mean);
    return [voc.forward(ops, mel), voc.forward(ops, tf.reshape(rec, [1, MEL_FRAMES, 64]))];
  });
  const waves = {
    real: data.wave(i),
    vocoder: (await direct.data()) as Float32Array,
    "vae+vocoder": (await viaVae.data()) as Float32Array,
  };
  tf.dispose([direct, viaVae]);
  for (const w of WAYS) if (kinds.has(topKind((await ev.audio(waves[w], 16000)).probs))) hits[w]++;
  if (objects.length === 1) {
    const l = level.get(objects[0].kind) ?? { real: 0, voc: 0, n: 0 };
    level.set(objects[0].kind, {
      real: l.real + rms(waves.real),
      voc: l.voc + rms(waves.vocoder),
      n: l.n + 1,
    });
  }
}
console.log(
  `${root}${f.has("checkpoint") ? " (vocoder checkpoint)" : ""}: the evaluator hears a kind present in the clip in ${WAYS.map((w) => `${w} ${hits[w]}/${N}`).join(", ")}`,
);
console.log(
  `output level (rms, vocoder from the real mel / real), single-object clips: ${[...level].map(([k, l]) => `${k} ${(l.voc / l.n).toFixed(3)}/${(l.real / l.n).toFixed(3)} (${l.n})`).join(", ")}`,
);
