/**
 * imagebind_chain: waveform → official 1-s clips + Kaldi fbank → tiny ImageBind audio → clip-averaged e_audio →
 * the S&H dual loss, with the gradient w.r.t. the waveform — the audio half of the guidance path, through the
 * same functions the pipeline uses (`audioToImageBindInput`, `ImageBindModel.embed`, `bindLoss`).
 */
import { bindLoss } from "../../../src/engine/aligner/losses.js";
import { audioToImageBindInput } from "../../../src/engine/preprocess/audio/imagebind_audio.js";
import { withTfjsBackend } from "../../support/tfjs-backend.js";
import { fixtureInput, type ParityRunner, standardRows } from "../harness.js";
import { imagebindFromFixture } from "./imagebind.js";

export const imagebindChainRunner: ParityRunner = {
  family: "imagebind_chain",
  supports: (name) => name === "imagebind_chain",
  async run(fx, env) {
    const model = imagebindFromFixture(fx, ["audio"]);
    const wav = fixtureInput(fx, "in.waveform");
    // video2audio.py: clips_per_video = ceil(duration in seconds)
    const clips = Math.ceil(wav.shape[1] / 16000);
    return withTfjsBackend("wasm", () =>
      standardRows(fx, env, {
        inputs: {
          "in.waveform": wav,
          "in.e_text": fixtureInput(fx, "in.e_text"),
          "in.e_vision": fixtureInput(fx, "in.e_vision"),
        },
        forward: (ops, xs) => {
          const input = audioToImageBindInput(ops, xs["in.waveform"], clips);
          const e = model.embed(ops, "audio", input);
          const parts = bindLoss(ops, [
            { name: "text", a: xs["in.e_text"], b: e, weight: 1 },
            { name: "vision", a: xs["in.e_vision"], b: e, weight: 1 },
          ]);
          return {
            "out.audio_input": input,
            "out.e_audio": e,
            "out.loss_text": parts.terms.text,
            "out.loss_vision": parts.terms.vision,
            "out.loss": parts.total,
          };
        },
        loss: (_ops, outs) => outs["out.loss"],
        gradWrt: ["in.waveform"],
      }),
    );
  },
};
