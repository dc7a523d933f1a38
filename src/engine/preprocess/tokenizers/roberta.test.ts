/**
 * RoBERTa byte-level BPE against the `tok_roberta` golden (HF `RobertaTokenizer` on a tiny self-trained vocab,
 * exact match required), plus the special-token rules of the slow tokenizer. Expected ids come from the fixture.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { goldenDir, hasGolden, loadFixture } from "../../../../test/support/golden.js";
import { loadRobertaTokenizer } from "./load.js";
import { RobertaTokenizer } from "./roberta.js";

interface RobertaCase {
  text: string;
  ids_77: number[];
  attention_mask_77: number[];
  ids_512_len: number;
  ids_512_first_tokens: number[];
  untruncated_ids: number[];
  bpe_tokens: string[];
}

describe.skipIf(!hasGolden())("RobertaTokenizer vs tok_roberta", () => {
  const meta = hasGolden() ? loadFixture("tok_roberta").meta : { vocab_files: [], cases: [] };
  const cases = meta.cases as RobertaCase[];
  const [vocabFile, mergesFile] = (meta.vocab_files as string[]).map((f) => join(goldenDir(), f));
  let tok: RobertaTokenizer;
  beforeAll(async () => {
    tok = await loadRobertaTokenizer(vocabFile, mergesFile);
  });

  it("BPE strings — every case exact", () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const [i, c] of cases.entries())
      expect(tok.tokenize(c.text), `case ${i}: ${JSON.stringify(c.text)}`).toEqual(c.bpe_tokens);
  });

  it("ids and attention mask at max_length = len(ids_77) — every case exact", () => {
    for (const [i, c] of cases.entries()) {
      const out = tok.encode(c.text, { maxLength: c.ids_77.length });
      expect(Array.from(out.inputIds), `case ${i}: ${JSON.stringify(c.text)}`).toEqual(c.ids_77);
      expect(Array.from(out.attentionMask), `case ${i}`).toEqual(c.attention_mask_77);
    }
  });

  it("ids at the default max_length (model_max_length): unpadded prefix, then <pad> with mask 0", () => {
    for (const [i, c] of cases.entries()) {
      const out = tok.encode(c.text);
      expect(out.inputIds.length).toBe(tok.modelMaxLength);
      expect(Array.from(out.inputIds.subarray(0, c.ids_512_len)), `case ${i}`).toEqual(
        c.ids_512_first_tokens,
      );
      expect(out.inputIds.subarray(c.ids_512_len).every((v) => v === tok.padId)).toBe(true);
      expect(out.attentionMask.reduce((a, b) => a + b, 0)).toBe(c.ids_512_len);
    }
  });

  it("untruncated ids — every case exact", () => {
    for (const [i, c] of cases.entries()) {
      const out = tok.encode(c.text, { padding: "none", truncation: false });
      expect(Array.from(out.inputIds), `case ${i}`).toEqual(c.untruncated_ids);
      expect(tok.decode(out.inputIds)).toBe(c.text);
    }
  });

  it("splits literal special tokens off first; <mask> eats the whitespace on its left", () => {
    const a = tok.tokenize("a cat <mask> x");
    expect(a).toContain("<mask>");
    expect(a.slice(0, a.indexOf("<mask>"))).toEqual(tok.tokenize("a cat"));
    expect(tok.tokenize("<s>a</s>")).toEqual(["<s>", ...tok.tokenize("a"), "</s>"]);
    const ids = tok.encodeIds("<pad><unk>");
    expect(ids).toEqual([tok.padId, tok.unkId]);
    // Case-sensitive: "<S>" is ordinary text.
    expect(tok.tokenize("<S>")).not.toContain("<S>");
  });
});

describe("RobertaTokenizer merges parsing", () => {
  it("drops the header and the last line, like HF's split('\\n')[1:-1]", () => {
    const vocab = { "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4, a: 5, b: 6, ab: 7 };
    const withNewline = new RobertaTokenizer(vocab, "#version: 0.2\na b\n");
    expect(withNewline.tokenize("ab")).toEqual(["ab"]);
    const withoutNewline = new RobertaTokenizer(vocab, "#version: 0.2\na b");
    expect(withoutNewline.tokenize("ab")).toEqual(["a", "b"]);
    expect(withoutNewline.encodeIds("abc")).toEqual([5, 6, 3]); // unknown symbol → <unk>
  });
});
