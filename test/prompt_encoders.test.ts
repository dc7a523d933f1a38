/**
 * Prompt → condition, end to end: tokenizer + text encoder as the AudioLDM / SD pipelines call them, against the
 * clap_text_tiny / clip_text_tiny goldens (the fixtures' ids are random, so a stand-in tokenizer hands them over)
 * and with the real RoBERTa (tok_roberta tiny vocabulary) and CLIP tokenizers.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { type AudioLDMTokenizer, encodePromptAudioLDM } from "../src/engine/models/clap/prompt.js";
import { CLIPTextModel } from "../src/engine/models/clip/model.js";
import { encodePromptSD, type SDTokenizer } from "../src/engine/models/clip/prompt.js";
import { namedParams } from "../src/engine/ops/param.js";
import { TfjsOps } from "../src/engine/ops/tfjs.js";
import { ClipTokenizer } from "../src/engine/preprocess/tokenizers/clip.js";
import { gunzip } from "../src/engine/preprocess/tokenizers/load.js";
import { RobertaTokenizer } from "../src/engine/preprocess/tokenizers/roberta.js";
import { clapFromFixture, clipFromFixture } from "./parity/runners/text_encoders.js";
import { type Fixture, goldenDir, hasGolden, loadFixture, relL2, tolerance } from "./support/golden.js";
import { randn } from "./support/naive.js";

type Row = { inputIds: Int32Array; attentionMask: Int32Array };

/** The fixture's i-th id/mask rows, as a tokenizer would return them for the prompt `row${i}`. */
function fixtureRows(fx: Fixture): Row[] {
  const [b, l] = fx.io!.shape("in.input_ids");
  const ids = fx.io!.get("in.input_ids") as Int32Array;
  const mask = fx.io!.has("in.attention_mask") ? (fx.io!.get("in.attention_mask") as Int32Array) : null;
  return Array.from({ length: b }, (_, i) => ({
    inputIds: ids.slice(i * l, (i + 1) * l),
    attentionMask: mask ? mask.slice(i * l, (i + 1) * l) : new Int32Array(l).fill(1),
  }));
}

function relTo(got: tf.Tensor, fx: Fixture, key: string): number {
  return relL2(got.dataSync(), fx.io!.get(key)).rel;
}

describe.skipIf(!hasGolden())("AudioLDM prompt encoding (CLAP)", () => {
  it("reproduces the clap_text_tiny normalised text_embeds through encodePromptAudioLDM", () => {
    const fx = loadFixture("clap_text_tiny");
    const model = clapFromFixture(fx);
    const rows = fixtureRows(fx);
    const seen: (number | undefined)[] = [];
    const tokenizer: AudioLDMTokenizer = {
      modelMaxLength: rows[0].inputIds.length,
      encode: (text, o) => {
        seen.push(o?.maxLength);
        return rows[Number(text.slice(3))];
      },
    };
    const ops = new TfjsOps();
    const got = tf.tidy(() => encodePromptAudioLDM(ops, tokenizer, model, ["row0", "row1"]));
    expect(seen).toEqual([rows[0].inputIds.length, rows[0].inputIds.length]); // max_length = model_max_length
    expect(relTo(got, fx, "out.text_embeds_normalized")).toBeLessThan(
      tolerance(fx, "out.text_embeds_normalized"),
    );
    // RoBERTa position ids as upstream derives them (the fixture stores them for debugging ports)
    const pos = tf.tidy(() =>
      model.text_model.embeddings.positionIdsFromInputIds(
        ops,
        tf.tensor(fx.io!.get("in.input_ids"), fx.io!.shape("in.input_ids"), "int32"),
      ),
    );
    expect([...pos.dataSync()]).toEqual([...fx.io!.get("aux.position_ids")]);
    ops.dispose();
  });

  it("with the RoBERTa tokenizer: ids as HF pads them, and the embedding does not depend on the padded length", () => {
    const fx = loadFixture("clap_text_tiny");
    const model = clapFromFixture(fx);
    const dir = goldenDir();
    const cases = (
      JSON.parse(readFileSync(join(dir, "tok_roberta.json"), "utf8")) as {
        cases: { text: string; ids_77: number[]; attention_mask_77: number[]; ids_512_len: number }[];
      }
    ).cases.filter((c) => c.ids_512_len <= 77);
    const tok = new RobertaTokenizer(
      readFileSync(join(dir, "tok_roberta_tiny.vocab.json"), "utf8"),
      readFileSync(join(dir, "tok_roberta_tiny.merges.txt"), "utf8"),
      { modelMaxLength: 512 },
    );
    expect(tok.vocabSize).toBeLessThanOrEqual(model.config.vocab_size);
    const texts = cases.slice(0, 4).map((c) => c.text);
    const ops = new TfjsOps();
    // the ids the pipeline feeds the encoder are the golden HF ids
    const captured: Row[] = [];
    const spy: AudioLDMTokenizer = {
      modelMaxLength: 77,
      encode: (t, o) => {
        const r = tok.encode(t, o);
        captured.push(r);
        return r;
      },
    };
    const e77 = tf.tidy(() => encodePromptAudioLDM(ops, spy, model, texts));
    cases.slice(0, 4).forEach((c, i) => {
      expect([...captured[i].inputIds]).toEqual(c.ids_77);
      expect([...captured[i].attentionMask]).toEqual(c.attention_mask_77);
    });
    // AudioLDM pads to model_max_length = 512 (and the negative prompt to the projection dim): same embedding.
    // Two prompts only: the tfjs cpu softmax over [B, H, 512, 512] is slow.
    const two = texts.slice(0, 2);
    const e77two = tf.tidy(() => tf.slice(e77, [0, 0], [2, -1]));
    const e512 = tf.tidy(() => encodePromptAudioLDM(ops, tok, model, two));
    const eProj = tf.tidy(() =>
      encodePromptAudioLDM(ops, tok, model, two, { maxLength: model.config.projection_dim }),
    );
    expect(e512.shape).toEqual([2, model.config.projection_dim]);
    const tol = tolerance(fx, "out.text_embeds_normalized");
    expect(relL2(e512.dataSync(), e77two.dataSync()).rel).toBeLessThan(tol);
    expect(relL2(eProj.dataSync(), e77two.dataSync()).rel).toBeLessThan(tol);
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(e512), -1)).dataSync());
    for (const n of norms) expect(n).toBeCloseTo(1, 5);
    ops.dispose();
  });
});

describe.skipIf(!hasGolden())("SD 1.5 prompt encoding (CLIP)", () => {
  it("reproduces the clip_text_tiny last_hidden_state through encodePromptSD (no attention mask)", () => {
    const fx = loadFixture("clip_text_tiny");
    const model = clipFromFixture(fx);
    const rows = fixtureRows(fx);
    const tokenizer: SDTokenizer = { encodeHf: (text) => rows[Number(text.slice(3))] };
    const ops = new TfjsOps();
    const got = tf.tidy(() => encodePromptSD(ops, tokenizer, model, ["row0", "row1"]));
    expect(got.shape).toEqual(fx.io!.shape("out.last_hidden_state"));
    expect(relTo(got, fx, "out.last_hidden_state")).toBeLessThan(tolerance(fx, "out.last_hidden_state"));
    ops.dispose();
  });

  it("with the CLIP tokenizer and the full vocabulary: [B, 77, hidden], pooled at the first <|endoftext|>", async () => {
    const fx = loadFixture("clip_text_tiny");
    const dir = goldenDir();
    const vocab = await gunzip(
      new Uint8Array(readFileSync(join(dir, "tok_clip_bpe_simple_vocab_16e6.txt.gz"))),
    );
    const tok = new ClipTokenizer(vocab);
    const cases = (
      JSON.parse(readFileSync(join(dir, "tok_clip.json"), "utf8")) as {
        cases: { text: string; hf_clip_ids: number[] }[];
      }
    ).cases.slice(0, 3);
    // the tiny topology with the real vocabulary size, deterministic random weights
    const model = new CLIPTextModel({ ...fx.meta.config, vocab_size: tok.vocabSize });
    namedParams(model).forEach(([, p], i) => {
      if (!p.optional) p.set(randn(p.size, 1000 + i, p.shape.length > 1 ? 0.2 : 0.05));
    });
    const ops = new TfjsOps();
    const texts = cases.map((c) => c.text);
    const ctx = tf.tidy(() => encodePromptSD(ops, tok, model, texts));
    expect(ctx.shape).toEqual([texts.length, 77, model.config.hidden_size]);
    const ids = tf.tensor(
      cases.flatMap((c) => c.hf_clip_ids),
      [texts.length, 77],
      "int32",
    );
    const direct = model.forward(ops, { input_ids: ids });
    expect(relL2(ctx.dataSync(), direct.last_hidden_state.dataSync()).rel).toBe(0);
    // legacy eos_token_id == 2: pooled at argmax(ids) = the first 49407
    const h = direct.last_hidden_state.arraySync() as number[][][];
    const pooled = direct.pooler_output!.arraySync() as number[][];
    cases.forEach((c, b) => {
      expect(pooled[b]).toEqual(h[b][c.hf_clip_ids.indexOf(tok.eotId)]);
    });
    ops.dispose();
  });
});
