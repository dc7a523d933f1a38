import { describe, expect, it } from "vitest";
import { ModelPackError } from "../errors.js";
import { checkPackPath, isSafePackPath, joinUrl } from "./paths.js";
import { PACK_FORMAT, type PackManifestInput, parseManifest, serializeManifest } from "./schema.js";

const SHA = "a".repeat(64);

function manifest(): PackManifestInput {
  return {
    format: PACK_FORMAT,
    formatVersion: 1,
    id: "tiny",
    name: "Tiny",
    version: "1.0.0",
    generator: { tool: "test", version: "1" },
    maxShardBytes: 1024,
    models: {
      m: {
        spec: "audioldm-m-full",
        name: "M",
        source: { repo: "cvssp/audioldm-m-full", revision: "main" },
        components: {
          vocoder: {
            kind: "audioldm.vocoder",
            class: "SpeechT5HifiGan",
            config: { model_in_dim: 64 },
            source: { repo: "cvssp/audioldm-m-full", revision: "main", files: ["vocoder/model.safetensors"] },
            dtype: "fp32",
            quantization: "none",
            parameters: 4,
            bytes: 16,
            tensors: {
              "conv_pre.bias": {
                file: "m/vocoder/model.safetensors",
                dtype: "F32",
                shape: [4],
                offsets: [80, 96],
              },
            },
          },
        },
        tokenizers: { tok: { kind: "roberta-bpe", files: { vocab: "m/tok/vocab.json" } } },
      },
    },
    files: [
      { path: "m/vocoder/model.safetensors", size: 96, sha256: SHA, role: "weights" },
      { path: "m/tok/vocab.json", size: 10, sha256: SHA, role: "tokenizer" },
    ],
  };
}

const issues = (m: unknown): string => {
  try {
    parseManifest(m);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelPackError);
    return (e as Error).message;
  }
  return "";
};

describe("pack paths", () => {
  it("accepts plain relative paths and rejects every way out of the mirror", () => {
    for (const ok of ["manifest.json", "a/b/model-00001-of-00002.safetensors", "imagebind/bpe/x.txt", "_a/b"])
      expect(isSafePackPath(ok), ok).toBe(true);
    for (const bad of [
      "",
      "../x",
      "a/../../x",
      "a/./b",
      "/etc/passwd",
      "\\\\server\\share",
      "a\\..\\b",
      "C:/x",
      "c:x",
      "https://evil.example/x",
      "file:///etc/passwd",
      "data:text/plain,x",
      "//evil.example/x",
      "a//b",
      "a/",
      "%2e%2e/x",
      "a/b?x=1",
      "a#b",
      ".hidden",
      "a/-b",
      "a b",
      "imagebind/bpe/bpe_simple_vocab_16e6.txt.gz",
      "x.br",
      `${"a/".repeat(9)}x`,
      "x".repeat(201),
    ])
      expect(isSafePackPath(bad), bad).toBe(false);
    expect(() => checkPackPath("../x", "test")).toThrow(/"\.\." segment/);
    // a manifest's path that is not a string at all, one whose toString is not callable included
    const tampered = JSON.parse('{"toString":null}') as string;
    expect(() => checkPackPath(tampered, "test")).toThrow(ModelPackError);
    expect(() => checkPackPath(tampered, "test")).toThrow(/path "\{"toString":null\}" is empty/);
    expect(joinUrl("https://host/packs/tiny/", "a/b.json")).toBe("https://host/packs/tiny/a/b.json");
    expect(joinUrl("/models/default", "manifest.json")).toBe("/models/default/manifest.json");
    expect(() => joinUrl("https://host/", "https://evil/x")).toThrow(ModelPackError);
  });
});

describe("manifest schema", () => {
  it("parses a valid manifest and round-trips it byte-identically", () => {
    const m = parseManifest(manifest());
    expect(m.models.m.components.vocoder.q4).toEqual({});
    const bytes = serializeManifest(m);
    expect(serializeManifest(parseManifest(bytes))).toEqual(bytes);
    expect(new TextDecoder().decode(bytes)).toContain('"shape": [4]');
  });

  it("rejects schema violations with the path of each problem", () => {
    const cases: [string, (m: PackManifestInput & Record<string, unknown>) => void, RegExp][] = [
      ["wrong format", (m) => Object.assign(m, { format: "other" }), /format/],
      ["bad version", (m) => Object.assign(m, { version: "one" }), /version/],
      ["unknown field", (m) => Object.assign(m, { extra: 1 }), /extra/],
      ["bad id", (m) => Object.assign(m, { id: "Has Spaces" }), /id/],
      ["bad sha", (m) => Object.assign(m.files[0], { sha256: "xyz" }), /sha256/],
      ["negative size", (m) => Object.assign(m.files[0], { size: -1 }), /size/],
      ["unknown kind", (m) => Object.assign(m.models.m.components.vocoder, { kind: "gpt" }), /kind/],
      ["bad dtype", (m) => Object.assign(m.models.m.components.vocoder, { dtype: "int8" }), /dtype/],
      ["no files", (m) => Object.assign(m, { files: [] }), /files/],
    ];
    for (const [what, mutate, re] of cases) {
      const m = manifest() as PackManifestInput & Record<string, unknown>;
      mutate(m);
      expect(issues(m), what).toMatch(re);
    }
    expect(issues("{not json")).toMatch(/not valid UTF-8 JSON/);
  });

  it("rejects path escapes anywhere in the manifest", () => {
    const escapes: ((m: PackManifestInput) => void)[] = [
      (m) => {
        m.files[0].path = "../../etc/passwd";
      },
      (m) => {
        m.models.m.components.vocoder.tensors["conv_pre.bias"].file = "https://evil.example/w.safetensors";
      },
      (m) => {
        m.models.m.tokenizers = { tok: { kind: "roberta-bpe", files: { vocab: "/abs/vocab.json" } } };
      },
    ];
    for (const mutate of escapes) {
      const m = manifest();
      mutate(m);
      expect(issues(m)).toMatch(/path ".*" (has a "\.\." segment|has a URL scheme|is absolute)/);
    }
  });

  it("cross-checks files, tensor extents, shard sizes and q4 entries", () => {
    const cases: [(m: PackManifestInput) => unknown, RegExp][] = [
      [(m) => Object.assign(m.files[0], { size: 90 }), /outside "m\/vocoder\/model\.safetensors"/],
      [(m) => Object.assign(m.files[0], { size: 4096 }), /exceeds maxShardBytes/],
      [(m) => void m.files.pop(), /"m\/tok\/vocab\.json" is not in files/],
      [
        (m) => void m.files.push({ path: "stray.bin", size: 1, sha256: SHA, role: "weights" }),
        /nothing uses it/,
      ],
      [(m) => void m.files.push({ ...m.files[0] }), /listed twice/],
      [(m) => Object.assign(m.models.m.components.vocoder, { quantization: "q4" }), /no q4 entries/],
      [
        (m) =>
          Object.assign(m.models.m.components.vocoder, {
            q4: { "conv_pre.weight": { codes: "nope", scales: "nope2", shape: [4, 32], blockSize: 32 } },
          }),
        /names tensors that are not in the index|q4 entries are listed but/,
      ],
    ];
    for (const [mutate, re] of cases) {
      const m = manifest();
      mutate(m);
      expect(issues(m)).toMatch(re);
    }
  });
});
