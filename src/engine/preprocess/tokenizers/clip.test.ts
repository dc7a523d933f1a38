/**
 * CLIP BPE against the `tok_clip` golden (ImageBind `SimpleTokenizer` and HF `CLIPTokenizer` on 30 strings, exact
 * match required), plus the bundled vocabulary and the two ImageBind truncation rules. Expected ids come only from
 * the fixture JSON.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { goldenDir, hasGolden, loadFixture, repoRoot } from "../../../../test/support/golden.js";
import { CLIP_CONTEXT_LENGTH, type ClipTokenizer } from "./clip.js";
import { CLIP_VOCAB_PATH, loadClipTokenizer } from "./load.js";

interface ClipCase {
  text: string;
  imagebind_ids: number[];
  hf_clip_ids: number[];
  hf_clip_attention_mask: number[];
  hf_clip_untruncated_ids: number[];
  bpe_tokens_hf: string[];
}

const bundled = join(repoRoot, "public", CLIP_VOCAB_PATH);

describe.skipIf(!hasGolden())("ClipTokenizer vs tok_clip", () => {
  const meta = hasGolden() ? loadFixture("tok_clip").meta : { vocab_file: "", cases: [] };
  const cases = meta.cases as ClipCase[];
  // "tok_clip_bpe_simple_vocab_16e6.txt.gz (copied byte-identical …)": the file name is the first word.
  const vocabFile = join(goldenDir(), String(meta.vocab_file).split(" ")[0]);
  let tok: ClipTokenizer;
  beforeAll(async () => {
    tok = await loadClipTokenizer(vocabFile);
  });

  it("loads the fixture vocabulary (gzip) and the bundled copy, which agree", async () => {
    const ours = await loadClipTokenizer(bundled);
    expect(ours.vocabSize).toBe(tok.vocabSize);
    for (const c of cases) expect(ours.encode(c.text)).toEqual(tok.encode(c.text));
    expect(cases.length).toBeGreaterThan(0);
  });

  it("ImageBind ids (EOT always kept, as the fixture's ImageBind commit does) — every case exact", () => {
    for (const [i, c] of cases.entries()) {
      const got = tok.encodeForImageBind(c.text, {
        contextLength: c.imagebind_ids.length,
        truncation: "upstream",
      });
      expect(Array.from(got), `case ${i}: ${JSON.stringify(c.text)}`).toEqual(c.imagebind_ids);
    }
  });

  it("ImageBind ids with the vendored (Seeing-and-Hearing) truncation: ([SOT] + bpe + [EOT])[:77]", () => {
    for (const [i, c] of cases.entries()) {
      const n = c.imagebind_ids.length;
      const got = Array.from(tok.encodeForImageBind(c.text, { contextLength: n }));
      // The same token stream as HF's untruncated one for these texts (checked by the previous test's prefix).
      const full = c.hf_clip_untruncated_ids;
      const expected = [...full.slice(0, n), ...new Array(Math.max(0, n - full.length)).fill(0)];
      expect(got.slice(0, n - 1), `case ${i}`).toEqual(c.imagebind_ids.slice(0, n - 1));
      expect(got, `case ${i}`).toEqual(expected);
    }
    expect(cases.some((c) => c.hf_clip_untruncated_ids.length > c.imagebind_ids.length)).toBe(true);
  });

  it("HF CLIPTokenizer ids and attention masks (SD 1.5 call) — every case exact", () => {
    for (const [i, c] of cases.entries()) {
      const out = tok.encodeHf(c.text, { maxLength: c.hf_clip_ids.length });
      expect(Array.from(out.inputIds), `case ${i}: ${JSON.stringify(c.text)}`).toEqual(c.hf_clip_ids);
      expect(Array.from(out.attentionMask), `case ${i}`).toEqual(c.hf_clip_attention_mask);
      const full = tok.encodeHf(c.text, { padding: "none", truncation: false });
      expect(Array.from(full.inputIds), `case ${i}`).toEqual(c.hf_clip_untruncated_ids);
    }
  });

  it("HF BPE strings — every case exact", () => {
    for (const [i, c] of cases.entries()) expect(tok.tokenize(c.text), `case ${i}`).toEqual(c.bpe_tokens_hf);
  });

  it("defaults to a 77-token context and decodes back to the cleaned text", () => {
    const c = cases.find((x) => x.hf_clip_untruncated_ids.length < 10 && x.text.trim().length > 0)!;
    expect(tok.encodeForImageBind(c.text).length).toBe(CLIP_CONTEXT_LENGTH);
    expect(tok.encodeHf(c.text).inputIds.length).toBe(CLIP_CONTEXT_LENGTH);
    expect(tok.decode(tok.encode("A photo of a cat")).trim()).toBe("a photo of a cat");
  });
});

describe("ClipTokenizer input handling", () => {
  it("rejects gzip bytes in the constructor with a pointer to the loader", async () => {
    const { ClipTokenizer } = await import("./clip.js");
    expect(() => new ClipTokenizer(new Uint8Array([0x1f, 0x8b, 8, 0]))).toThrow(/gzip/);
    expect(() => new ClipTokenizer("header only\n")).toThrow(/lines/);
  });
});
