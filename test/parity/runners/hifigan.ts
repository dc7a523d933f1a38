/** hifigan / hifigan_normbefore: SpeechT5HifiGan vocoder, waveform and d(Σ waveform·probe)/d mel. */
import { SpeechT5HifiGan } from "../../../src/engine/models/hifigan/model.js";
import type { Fixture } from "../../support/golden.js";
import { loadFixtureWeights } from "../../support/weights.js";
import { fixtureInput, type ParityRunner, type Program, standardRows } from "../harness.js";
import { probeInputs, probeLoss, probePairs } from "./probe.js";

export function hifiganFromFixture(fx: Fixture): SpeechT5HifiGan {
  const model = new SpeechT5HifiGan(fx.meta.config ?? {});
  loadFixtureWeights(model, fx.weights.get("")!);
  return model;
}

export const hifiganRunner: ParityRunner = {
  family: "hifigan",
  supports: (name) => /^hifigan(_|$)/.test(name),
  async run(fx, env) {
    const model = hifiganFromFixture(fx);
    const pairs = probePairs(fx);
    const hasGrad = fx.io!.has("grad.mel");
    const program: Program = {
      inputs: { "in.mel": fixtureInput(fx, "in.mel"), ...probeInputs(fx, pairs) },
      forward: (ops, xs) => ({ "out.waveform": model.forward(ops, xs["in.mel"]) }),
      loss: (ops, outs, xs) => probeLoss(ops, pairs, outs, xs),
      gradWrt: hasGrad ? ["in.mel"] : [],
    };
    return standardRows(fx, env, program);
  },
};
