import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../../test/support/golden.js";
import { ModelPackError } from "../../errors.js";
import { CLIP_VOCAB_PATH, gunzip, loadClipTokenizer, readResource, readText } from "./load.js";

const bundled = join(repoRoot, "public", CLIP_VOCAB_PATH);

describe("tokenizer file loading", () => {
  it("reads the bundled CLIP vocabulary from a path and a file: URL, gunzipping with DecompressionStream", async () => {
    const raw = await readResource(bundled);
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const viaUrl = await readResource(pathToFileURL(bundled));
    expect(Buffer.from(viaUrl).equals(Buffer.from(raw))).toBe(true);
    const text = new TextDecoder().decode(await gunzip(raw));
    expect(text.split("\n")[0]).toMatch(/^"bpe_simple_vocab_16e6\.txt#version: 0\.2/);
    expect(await readText(bundled)).toBe(text);
    const tok = await loadClipTokenizer(bundled);
    expect(tok.vocabSize).toBe(49408); // SPEC §3.8: vocab 49408
    expect([tok.sotId, tok.eotId]).toEqual([49406, 49407]); // SPEC §3.8: SOT 49406, EOT 49407
  });

  it("fails with ModelPackError on a missing file or corrupt gzip", async () => {
    await expect(readResource(join(repoRoot, "does-not-exist.gz"))).rejects.toBeInstanceOf(ModelPackError);
    await expect(gunzip(new Uint8Array([0x1f, 0x8b, 1, 2, 3]))).rejects.toBeInstanceOf(ModelPackError);
  });
});
