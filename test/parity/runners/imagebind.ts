/** imagebind_vision / _video / _audio / _text: one modality through the full model, with input gradients. */
import type { ImageBindConfig } from "../../../src/engine/models/imagebind/config.js";
import { ImageBindModel, type Modality } from "../../../src/engine/models/imagebind/model.js";
import type { Fixture } from "../../support/golden.js";
import { loadFixtureWeights } from "../../support/weights.js";
import { fixtureInput, type ParityRunner, type Program, standardRows } from "../harness.js";

const MODALITY: Readonly<Record<string, Modality>> = {
  imagebind_vision: "vision",
  imagebind_video: "vision",
  imagebind_audio: "audio",
  imagebind_text: "text",
};

export function imagebindFromFixture(fx: Fixture, modalities: readonly Modality[]): ImageBindModel {
  const model = new ImageBindModel(fx.meta.config as Partial<ImageBindConfig>);
  const only = modalities.flatMap((m) => [
    `modality_preprocessors.${m}.`,
    `modality_trunks.${m}.`,
    `modality_heads.${m}.`,
    `modality_postprocessors.${m}.`,
  ]);
  loadFixtureWeights(model, fx.weights.get("")!, { only });
  return model;
}

export const imagebindRunner: ParityRunner = {
  family: "imagebind",
  supports: (name) => name in MODALITY,
  async run(fx, env) {
    const modality = MODALITY[fx.name];
    const model = imagebindFromFixture(fx, [modality]);
    const hasGrad = fx.io!.has("grad.x");
    const program: Program = {
      inputs: {
        "in.x": fixtureInput(fx, "in.x"),
        ...(hasGrad ? { "in.probe": fixtureInput(fx, "in.probe") } : {}),
      },
      forward: (ops, xs) => {
        const o = model.forward(ops, modality, xs["in.x"]);
        return {
          "out.tokens": o.tokens,
          "out.trunk": o.trunk,
          "out.head": o.head,
          "out.embedding": o.embedding,
        };
      },
      loss: (ops, outs, xs) => ops.sum(ops.mul(outs["out.embedding"], xs["in.probe"]), [0, 1]),
      gradWrt: hasGrad ? ["in.x"] : [],
    };
    return standardRows(fx, env, program);
  },
};
