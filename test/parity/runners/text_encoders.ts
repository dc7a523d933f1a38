/**
 * clap_text_* (AudioLDM's ClapTextModelWithProjection) and clip_text_* (SD 1.5's CLIPTextModel): outputs from the
 * token ids, and the gradient with respect to the word/token embeddings, which the fixtures hook in place of the
 * embedding lookup (`in.inputs_embeds` == embedding.weight[input_ids]).
 */
import { ClapTextModelWithProjection } from "../../../src/engine/models/clap/model.js";
import { CLIPTextModel } from "../../../src/engine/models/clip/model.js";
import type { Fixture } from "../../support/golden.js";
import { loadFixtureWeights } from "../../support/weights.js";
import { fixtureInput, type ParityRunner, type Program, standardRows } from "../harness.js";
import { probeInputs, probeLoss, probePairs } from "./probe.js";

export function clapFromFixture(fx: Fixture): ClapTextModelWithProjection {
  const model = new ClapTextModelWithProjection(fx.meta.config ?? {});
  loadFixtureWeights(model, fx.weights.get("")!);
  return model;
}

export function clipFromFixture(fx: Fixture): CLIPTextModel {
  const model = new CLIPTextModel(fx.meta.config ?? {});
  loadFixtureWeights(model, fx.weights.get("")!);
  return model;
}

/** Inputs present in the fixture among `keys`. */
function present(fx: Fixture, keys: readonly string[]): Program["inputs"] {
  return Object.fromEntries(keys.filter((k) => fx.io!.has(k)).map((k) => [k, fixtureInput(fx, k)]));
}

export const textEncoderRunner: ParityRunner = {
  family: "text encoders",
  supports: (name) => /^(clap|clip)_text(_|$)/.test(name),
  async run(fx, env) {
    const pairs = probePairs(fx);
    const hasGrad = fx.io!.has("grad.inputs_embeds");
    const inputs = {
      ...present(fx, ["in.input_ids", "in.attention_mask", "in.inputs_embeds"]),
      ...probeInputs(fx, pairs),
    };
    const loss: Program["loss"] = (ops, outs, xs) => probeLoss(ops, pairs, outs, xs);
    const gradWrt = hasGrad ? ["in.inputs_embeds"] : [];
    let program: Program;
    if (fx.name.startsWith("clap")) {
      const model = clapFromFixture(fx);
      program = {
        inputs,
        forward: (ops, xs) => {
          const o = model.forward(ops, {
            input_ids: xs["in.input_ids"],
            attention_mask: xs["in.attention_mask"],
            inputs_embeds: xs["in.inputs_embeds"],
          });
          return {
            "out.last_hidden_state": o.last_hidden_state,
            "out.text_embeds": o.text_embeds,
            "out.text_embeds_normalized": o.text_embeds_normalized,
          };
        },
        loss,
        gradWrt,
      };
    } else {
      const model = clipFromFixture(fx);
      program = {
        inputs,
        forward: (ops, xs) => {
          const o = model.forward(ops, {
            input_ids: xs["in.input_ids"],
            attention_mask: xs["in.attention_mask"],
            inputs_embeds: xs["in.inputs_embeds"],
          });
          return { "out.last_hidden_state": o.last_hidden_state, "out.pooler_output": o.pooler_output! };
        },
        loss,
        gradWrt,
      };
    }
    return standardRows(fx, env, program);
  },
};
