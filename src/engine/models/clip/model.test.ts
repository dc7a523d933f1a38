/** CLIPTextModel beyond the golden: both pooling rules, the optional padding mask, both executors. */
import * as tf from "@tensorflow/tfjs-core";
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { type Program, runOnnx, runTfjs } from "../../../../test/parity/harness.js";
import { relL2 } from "../../../../test/support/golden.js";
import { randn } from "../../../../test/support/naive.js";
import type { OrtModule } from "../../ops/onnx/session.js";
import { namedParams } from "../../ops/param.js";
import { TfjsOps } from "../../ops/tfjs.js";
import type { CLIPTextConfig } from "./config.js";
import { CLIPTextModel } from "./model.js";

beforeAll(() => {
  ortWeb.env.wasm.numThreads = 1;
});

const BASE: Partial<CLIPTextConfig> = {
  vocab_size: 60,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 10,
  hidden_act: "gelu",
};

function randomized(config: Partial<CLIPTextConfig>, seed: number): CLIPTextModel {
  const m = new CLIPTextModel(config);
  namedParams(m).forEach(([, p], i) => {
    if (!p.optional) p.set(randn(p.size, seed + i, p.shape.length > 1 ? 0.3 : 0.1));
  });
  return m;
}

// BOS 57, EOS 58, a higher id 59 inside the text, padding with EOS
const IDS = Int32Array.from([57, 59, 4, 58, 58, 58, 58, 57, 5, 6, 7, 8, 9, 58]);
const MASK = Int32Array.from([1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);

describe("CLIPTextModel", () => {
  it("pools at argmax(ids) for the legacy eos_token_id 2, else at the first eos_token_id", () => {
    const ops = new TfjsOps();
    const ids = tf.tensor(IDS, [2, 7], "int32");
    for (const [eos, expected] of [
      [2, [1, 6]], // argmax: id 59 in row 0, the first maximum 58 in row 1
      [58, [3, 6]],
    ] as const) {
      const m = randomized({ ...BASE, eos_token_id: eos }, 5);
      const o = m.forward(ops, { input_ids: ids });
      const h = o.last_hidden_state.arraySync() as number[][][];
      const pooled = o.pooler_output!.arraySync() as number[][];
      expected.forEach((pos, b) => {
        expect(pooled[b]).toEqual(h[b][pos]);
      });
    }
    ops.dispose();
  });

  it("agrees across executors with and without a padding mask, and with hooked token embeddings", async () => {
    const m = randomized({ ...BASE, eos_token_id: 58 }, 9);
    const lookup = new TfjsOps();
    const words = tf.gather(lookup.param(m.text_model.embeddings.token_embedding.weight), IDS);
    const emb = words.dataSync() as Float32Array;
    lookup.dispose();
    const program: Program = {
      inputs: {
        ids: { data: IDS, shape: [2, 7] },
        mask: { data: MASK, shape: [2, 7] },
        emb: { data: emb, shape: [2, 7, 16] },
      },
      forward: (ops, xs) => {
        const plain = m.forward(ops, { input_ids: xs.ids });
        const masked = m.forward(ops, { input_ids: xs.ids, attention_mask: xs.mask });
        const hooked = m.forward(ops, { input_ids: xs.ids, inputs_embeds: xs.emb });
        return {
          h: plain.last_hidden_state,
          p: plain.pooler_output!,
          hm: masked.last_hidden_state,
          pm: masked.pooler_output!,
          hh: hooked.last_hidden_state,
        };
      },
    };
    const tfr = await runTfjs(program);
    const onnx = await runOnnx(program, ortWeb as unknown as OrtModule, "fp32");
    for (const k of ["h", "p", "hm", "pm"]) expect(relL2(onnx[k], tfr.outs[k]).rel, k).toBeLessThan(1e-5);
    expect(relL2(tfr.outs.hh, tfr.outs.h).rel).toBeLessThan(1e-7);
    // causal: the mask changes nothing for tokens before the padding, and row 1 (unpadded) not at all
    const d = 16;
    expect(relL2(tfr.outs.hm.slice(0, 4 * d), tfr.outs.h.slice(0, 4 * d)).rel).toBeLessThan(1e-6);
    expect(relL2(tfr.outs.hm.slice(7 * d), tfr.outs.h.slice(7 * d)).rel).toBeLessThan(1e-6);
    expect(relL2(tfr.outs.hm.slice(4 * d, 7 * d), tfr.outs.h.slice(4 * d, 7 * d)).rel).toBeGreaterThan(1e-3);
  });
});
