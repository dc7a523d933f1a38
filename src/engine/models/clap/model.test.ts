/** ClapTextModelWithProjection beyond the golden: another small config, both executors, input variants. */
import * as tf from "@tensorflow/tfjs-core";
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { type Program, runOnnx, runTfjs } from "../../../../test/parity/harness.js";
import { relL2 } from "../../../../test/support/golden.js";
import { randn } from "../../../../test/support/naive.js";
import { ModelPackError, UnsupportedError } from "../../errors.js";
import type { OrtModule } from "../../ops/onnx/session.js";
import { namedParams } from "../../ops/param.js";
import { TfjsOps } from "../../ops/tfjs.js";
import { ClapTextModelWithProjection } from "./model.js";

beforeAll(() => {
  ortWeb.env.wasm.numThreads = 1;
});

const CONFIG = {
  vocab_size: 50,
  hidden_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  intermediate_size: 40,
  hidden_act: "gelu_new",
  max_position_embeddings: 20,
  type_vocab_size: 2,
  projection_dim: 12,
  pad_token_id: 1,
};

function randomized(seed: number): ClapTextModelWithProjection {
  const m = new ClapTextModelWithProjection(CONFIG);
  namedParams(m).forEach(([, p], i) => {
    if (!p.optional) p.set(randn(p.size, seed + i, p.shape.length > 1 ? 0.3 : 0.1));
  });
  return m;
}

// <s>=0 … </s>=2, then <pad>=1; the second row is unpadded
const IDS = Int32Array.from([0, 9, 17, 33, 2, 1, 1, 1, 0, 4, 5, 6, 7, 8, 49, 2]);
const MASK = Int32Array.from([1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);

describe("ClapTextModelWithProjection", () => {
  it("agrees across executors on another small config (3 heads, gelu_new, 2 token types)", async () => {
    const m = randomized(70);
    const program: Program = {
      inputs: { ids: { data: IDS, shape: [2, 8] }, mask: { data: MASK, shape: [2, 8] } },
      forward: (ops, xs) => {
        const o = m.forward(ops, { input_ids: xs.ids, attention_mask: xs.mask });
        return { h: o.last_hidden_state, e: o.text_embeds, n: o.text_embeds_normalized };
      },
    };
    const tfr = await runTfjs(program);
    const onnx = await runOnnx(program, ortWeb as unknown as OrtModule, "fp32");
    for (const k of ["h", "e", "n"]) expect(relL2(onnx[k], tfr.outs[k]).rel, k).toBeLessThan(1e-5);
  });

  it("hooked word embeddings equal the lookup; embeddings alone get sequential positions", () => {
    const m = randomized(80);
    const ops = new TfjsOps();
    const ids = tf.tensor(IDS, [2, 8], "int32");
    const mask = tf.tensor(MASK, [2, 8], "int32");
    const words = tf.gather(ops.param(m.text_model.embeddings.word_embeddings.weight), ids);
    const a = m.forward(ops, { input_ids: ids, attention_mask: mask }).text_embeds.dataSync();
    const b = m.forward(ops, { input_ids: ids, attention_mask: mask, inputs_embeds: words });
    expect(relL2(b.text_embeds.dataSync(), a).rel).toBeLessThan(1e-7);
    // the unpadded row: positions from ids == sequential positions from padding_idx + 1
    const row = (t: tf.Tensor) => tf.slice(t, [1, 0], [1, -1]);
    const fromIds = m.forward(ops, { input_ids: row(ids) }).last_hidden_state.dataSync();
    const fromEmbeds = m.forward(ops, { inputs_embeds: tf.slice(words, [1, 0, 0], [1, -1, -1]) });
    expect(relL2(fromEmbeds.last_hidden_state.dataSync(), fromIds).rel).toBeLessThan(1e-7);
    // the padded row's real tokens do not see the padding
    const short = m.forward(ops, { input_ids: tf.slice(ids, [0, 0], [1, 5]) }).text_embeds.dataSync();
    expect(relL2(short, a.slice(0, CONFIG.projection_dim)).rel).toBeLessThan(1e-6);
    ops.dispose();
  });

  it("rejects configs it cannot run and over-long inputs", () => {
    expect(() => new ClapTextModelWithProjection({ position_embedding_type: "relative_key" })).toThrow(
      UnsupportedError,
    );
    expect(() => new ClapTextModelWithProjection({ hidden_size: 10, num_attention_heads: 3 })).toThrow(
      ModelPackError,
    );
    expect(() => new ClapTextModelWithProjection({ hidden_act: "mish" })).toThrow(UnsupportedError);
    const m = randomized(1);
    const ops = new TfjsOps();
    expect(() => m.forward(ops, { input_ids: tf.zeros([1, 19], "int32") })).toThrow(
      /max_position_embeddings/,
    );
    ops.dispose();
  });
});
