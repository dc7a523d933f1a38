/**
 * CLIP byte-level BPE, in the two front-ends the studio needs (SPEC §3.8, §5.2, §7.5):
 *
 * - ImageBind's vendored OpenAI `SimpleTokenizer` (text branch of the aligner): `basic_clean` (ftfy.fix_text, then
 *   `html.unescape` twice, strip) → `whitespace_clean` → lowercase → the CLIP pre-tokeniser regex → BPE;
 *   `[SOT] + bpe + [EOT]`, 77 tokens, zero padding. Literal `<|startoftext|>` / `<|endoftext|>` in the text match
 *   the regex and become special ids.
 * - HF `CLIPTokenizer` as SD 1.5 / AnimateDiff call it: literal special tokens are split off first (case-sensitive),
 *   each remaining piece gets ftfy + whitespace_clean + lowercase (no html.unescape), BOS + tokens truncated to 75 +
 *   EOS, padded with EOS (49407), attention mask.
 *
 * The vocabulary is OpenAI's `bpe_simple_vocab_16e6.txt` (MIT): line 0 is a header, lines 1…48894 are merges;
 * ids are the 256 byte symbols, the same with `</w>`, the merged symbols in merge order, then SOT and EOT
 * (49408 in all). HF's vocab.json + merges.txt for SD 1.5 hold the same table (`ClipTokenizer.fromHfFiles`).
 */
import { ModelPackError } from "../../errors.js";
import { BytePairEncoder, byteDecode, byteEncode, bytesToUnicode, type TokenizerOutput } from "./bpe.js";
import { fixText } from "./ftfy.js";
import { pythonHtmlUnescape } from "./html_unescape.js";

export const CLIP_SOT = "<|startoftext|>";
export const CLIP_EOT = "<|endoftext|>";
export const CLIP_CONTEXT_LENGTH = 77;
/** `49152 - 256 - 2`: the merges CLIP uses (lines 1…48894 of the vocabulary file). */
const CLIP_NUM_MERGES = 49152 - 256 - 2;

/**
 * How an over-long ImageBind prompt is cut to the context length:
 * - `"vendored"`: the ImageBind copy inside the Seeing-and-Hearing code: `([SOT] + bpe + [EOT])[:77]`, so a
 *   truncated prompt has no EOT (SPEC §3.8 quirk; the text head then pools at the highest id, not at EOT).
 * - `"upstream"`: ImageBind after commit 1125e1e / PR #142 (the `tok_clip` golden): `([SOT] + bpe)[:76] + [EOT]`.
 * Both are identical for prompts of at most 75 BPE tokens.
 */
export type ImageBindTruncation = "vendored" | "upstream";

export interface ClipHfOptions {
  /** Pad / truncate to this length (SD 1.5: `tokenizer.model_max_length` = 77). */
  maxLength?: number;
  /** `"max_length"` (default, as SD pipelines call it) or `"none"`. */
  padding?: "max_length" | "none";
  /** Truncate to `maxLength` keeping BOS and EOS (default true). */
  truncation?: boolean;
}

/**
 * The CLIP pre-tokeniser, `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
 * compiled by Python's `regex` module with IGNORECASE, rewritten for JS without the `i` flag (its input is always
 * lowercased first): under IGNORECASE `s` also matches U+017F ſ, and the negated class does not match U+0345
 * (its case fold ι is a letter) while `[\p{L}]` does not match it either — so U+0345 is skipped, as upstream.
 * JS `/iu` would instead make `\p{L}` match U+0345. `\s` is Unicode White_Space in the `regex` module.
 */
const CLIP_PATTERN =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: U+0345 on its own is intended (see above)
  /<\|[s\u017f]tartoftext\|>|<\|endoftext\|>|'[s\u017f]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}\u0345]+/gu;
/** Python `str.strip()` whitespace (`str.isspace`). */
const PY_STRIP =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Python str.isspace() includes U+001C-U+001F
  /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** `whitespace_clean`: runs of (regex-module) whitespace → one space, then Python `strip()`. */
export function whitespaceClean(text: string): string {
  return text.replace(/\p{White_Space}+/gu, " ").replace(PY_STRIP, "");
}

/** ImageBind `basic_clean`: ftfy.fix_text, `html.unescape(html.unescape(.))`, strip. */
export function basicClean(text: string): string {
  return pythonHtmlUnescape(pythonHtmlUnescape(fixText(text))).replace(PY_STRIP, "");
}

export interface ClipVocabTables {
  /** symbol → id */
  encoder: ReadonlyMap<string, number>;
  merges: readonly (readonly [string, string])[];
}

function parseSimpleVocab(text: string): ClipVocabTables {
  const lines = text.split("\n");
  if (lines.length < CLIP_NUM_MERGES + 1) {
    throw new ModelPackError(
      `CLIP BPE vocabulary has ${lines.length} lines, expected at least ${CLIP_NUM_MERGES + 1} (bpe_simple_vocab_16e6.txt, decompressed).`,
    );
  }
  const merges = lines.slice(1, CLIP_NUM_MERGES + 1).map((line, i) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2)
      throw new ModelPackError(
        `CLIP BPE vocabulary line ${i + 2} is not a merge pair: ${JSON.stringify(line)}`,
      );
    return [parts[0], parts[1]] as const;
  });
  // `list(bytes_to_unicode().values())`: the dict's order is printable bytes first, then the remapped ones, i.e.
  // ascending by the symbol's code point.
  const bytes = [...bytesToUnicode()].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const symbols = [
    ...bytes,
    ...bytes.map((c) => `${c}</w>`),
    ...merges.map(([a, b]) => a + b),
    CLIP_SOT,
    CLIP_EOT,
  ];
  return { encoder: new Map(symbols.map((s, i) => [s, i])), merges };
}

function asText(vocab: string | Uint8Array): string {
  if (typeof vocab === "string") return vocab;
  if (vocab[0] === 0x1f && vocab[1] === 0x8b) {
    throw new ModelPackError(
      "CLIP BPE vocabulary is still gzip-compressed: decompress it first (see loadClipTokenizer / gunzip).",
    );
  }
  return new TextDecoder("utf-8").decode(vocab);
}

export class ClipTokenizer {
  readonly #encoder: ReadonlyMap<string, number>;
  readonly #decoder: Map<number, string>;
  readonly #bpe: BytePairEncoder;
  readonly sotId: number;
  readonly eotId: number;

  /**
   * @param vocab the decompressed `bpe_simple_vocab_16e6.txt` (text or UTF-8 bytes), or prebuilt tables.
   */
  constructor(vocab: string | Uint8Array | ClipVocabTables) {
    const tables =
      typeof vocab === "string" || vocab instanceof Uint8Array ? parseSimpleVocab(asText(vocab)) : vocab;
    this.#encoder = tables.encoder;
    this.#decoder = new Map([...tables.encoder].map(([s, i]) => [i, s]));
    this.#bpe = new BytePairEncoder(tables.merges, "</w>");
    const sot = tables.encoder.get(CLIP_SOT);
    const eot = tables.encoder.get(CLIP_EOT);
    if (sot === undefined || eot === undefined)
      throw new ModelPackError("CLIP vocabulary lacks <|startoftext|> / <|endoftext|>.");
    this.sotId = sot;
    this.eotId = eot;
  }

  /** From HF files (`vocab.json` object, `merges.txt` text), as shipped with SD 1.5's tokenizer. */
  static fromHfFiles(vocabJson: Readonly<Record<string, number>>, mergesTxt: string): ClipTokenizer {
    const merges = mergesTxt
      .trim()
      .split("\n")
      .slice(1, CLIP_NUM_MERGES + 1)
      .map((line) => {
        const [a, b] = line.trim().split(/\s+/);
        return [a, b] as const;
      });
    return new ClipTokenizer({ encoder: new Map(Object.entries(vocabJson)), merges });
  }

  get vocabSize(): number {
    return this.#encoder.size;
  }

  /** BPE symbols of already-cleaned, lowercased text (the regex + byte encoding + BPE part of both front-ends). */
  #bpeSymbols(cleaned: string): string[] {
    const out: string[] = [];
    for (const [piece] of cleaned.matchAll(CLIP_PATTERN)) {
      // The special tokens are pre-seeded in both upstream BPE caches: they stay whole.
      if (piece === CLIP_SOT || piece === CLIP_EOT) out.push(piece);
      else out.push(...this.#bpe.bpe(byteEncode(piece)));
    }
    return out;
  }

  #id(symbol: string): number {
    return this.#encoder.get(symbol) ?? this.eotId; // HF: unk_token = <|endoftext|>
  }

  /** ImageBind / OpenAI `SimpleTokenizer.encode`: BPE ids without SOT/EOT. */
  encode(text: string): number[] {
    return this.#bpeSymbols(whitespaceClean(basicClean(text)).toLowerCase()).map((s) => this.#id(s));
  }

  /**
   * ImageBind `SimpleTokenizer(text)` (`load_and_transform_text`): `[SOT] + encode(text) + [EOT]`, cut to
   * `contextLength` per `truncation`, zero-padded (0 is the id of "!" — ImageBind relies on argmax pooling).
   */
  encodeForImageBind(
    text: string,
    options: { contextLength?: number; truncation?: ImageBindTruncation } = {},
  ): Int32Array {
    const n = options.contextLength ?? CLIP_CONTEXT_LENGTH;
    const body = [this.sotId, ...this.encode(text)];
    const tokens =
      (options.truncation ?? "vendored") === "vendored"
        ? [...body, this.eotId].slice(0, n)
        : [...body.slice(0, n - 1), this.eotId];
    const out = new Int32Array(n);
    out.set(tokens);
    return out;
  }

  /** HF `CLIPTokenizer.tokenize(text)`: BPE symbol strings, special tokens kept whole. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    // The added-tokens trie: exact, case-sensitive occurrences of the special tokens are split off first.
    for (const piece of text.split(/(<\|startoftext\|>|<\|endoftext\|>)/)) {
      if (!piece) continue;
      if (piece === CLIP_SOT || piece === CLIP_EOT) out.push(piece);
      else out.push(...this.#bpeSymbols(whitespaceClean(fixText(piece)).toLowerCase()));
    }
    return out;
  }

  /**
   * HF `CLIPTokenizer(text, padding="max_length", max_length=77, truncation=True)` as SD 1.5 / AnimateDiff
   * `_encode_prompt` call it: BOS + tokens[:maxLength − 2] + EOS, right-padded with EOS (the pad token).
   */
  encodeHf(text: string, options: ClipHfOptions = {}): TokenizerOutput {
    const maxLength = options.maxLength ?? CLIP_CONTEXT_LENGTH;
    let ids = this.tokenize(text).map((s) => this.#id(s));
    if ((options.truncation ?? true) && ids.length + 2 > maxLength)
      ids = ids.slice(0, Math.max(0, maxLength - 2));
    const seq = [this.sotId, ...ids, this.eotId];
    const len =
      (options.padding ?? "max_length") === "max_length" ? Math.max(maxLength, seq.length) : seq.length;
    const inputIds = new Int32Array(len).fill(this.eotId);
    inputIds.set(seq);
    const attentionMask = new Int32Array(len);
    attentionMask.fill(1, 0, seq.length);
    return { inputIds, attentionMask };
  }

  /** `SimpleTokenizer.decode`: ids → text, invalid UTF-8 → U+FFFD, `</w>` → space (special tokens kept). */
  decode(ids: Iterable<number>): string {
    let symbols = "";
    for (const id of ids) symbols += this.#decoder.get(id) ?? "";
    return byteDecode(symbols).replaceAll("</w>", " ");
  }
}
