/**
 * HF `RobertaTokenizer` (slow, byte-level BPE with the GPT-2 pre-tokeniser), as the CLAP text encoder of AudioLDM
 * uses it: `tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True)`
 * (SPEC §5.1). No lowercasing or normalisation; `add_prefix_space=False` by default.
 *
 * Special tokens are split off first (the added-tokens trie, case-sensitive, leftmost-longest): `<s>`, `</s>`,
 * `<unk>`, `<pad>`, `<mask>`; `<mask>` is declared `lstrip=True`, so the text just before it loses its trailing
 * whitespace. Ids: `<s> X </s>` with X truncated to `max_length − 2`, right-padded with `<pad>`, attention mask.
 */
import { ModelPackError } from "../../errors.js";
import { BytePairEncoder, byteDecode, byteEncode, type TokenizerOutput } from "./bpe.js";

export interface RobertaOptions {
  /** Prepend a space to text that does not start with whitespace (HF `add_prefix_space`, default false). */
  addPrefixSpace?: boolean;
  /** HF `model_max_length`: the default `maxLength` of `encode` (512 for CLAP's tokenizer, SPEC §5.1). */
  modelMaxLength?: number;
  bosToken?: string;
  eosToken?: string;
  unkToken?: string;
  padToken?: string;
  maskToken?: string;
}

export interface RobertaEncodeOptions {
  /** Pad / truncate to this length (default: `modelMaxLength`). */
  maxLength?: number;
  /** `"max_length"` (default, as AudioLDM calls it) or `"none"`. */
  padding?: "max_length" | "none";
  /** Truncate to `maxLength` keeping `<s>` and `</s>` (default true). */
  truncation?: boolean;
}

/**
 * GPT-2 pre-tokeniser `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (`regex` module,
 * case-sensitive; `\s` = Unicode White_Space).
 */
const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
/** Python `str.isspace()` characters. */
const PY_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_RSTRIP = new RegExp(`[${PY_SPACE}]+$`, "u");
const PY_IS_SPACE = new RegExp(`^[${PY_SPACE}]`, "u");

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

export class RobertaTokenizer {
  readonly #encoder: ReadonlyMap<string, number>;
  readonly #decoder: Map<number, string>;
  readonly #bpe: BytePairEncoder;
  readonly #specials: readonly string[];
  readonly #splitter: RegExp;
  readonly #mask: string;
  readonly #addPrefixSpace: boolean;
  readonly modelMaxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;

  /**
   * @param vocab `vocab.json` (text or parsed object: symbol → id)
   * @param merges `merges.txt` text: a `#version` header line, one `a b` merge per line, and a final newline
   *   (HF reads `split("\n")[1:-1]`, so the last line is dropped — keep the trailing newline).
   */
  constructor(
    vocab: string | Readonly<Record<string, number>>,
    merges: string,
    options: RobertaOptions = {},
  ) {
    const obj = typeof vocab === "string" ? (JSON.parse(vocab) as Record<string, number>) : vocab;
    this.#encoder = new Map(Object.entries(obj));
    this.#decoder = new Map([...this.#encoder].map(([s, i]) => [i, s]));
    const pairs = merges
      .split("\n")
      .slice(1, -1)
      .map((line) => line.split(/\s+/).filter(Boolean))
      .map((p) => [p[0] ?? "", p[1] ?? ""] as const);
    this.#bpe = new BytePairEncoder(pairs);
    const bos = options.bosToken ?? "<s>";
    const eos = options.eosToken ?? "</s>";
    const unk = options.unkToken ?? "<unk>";
    const pad = options.padToken ?? "<pad>";
    this.#mask = options.maskToken ?? "<mask>";
    const id = (tok: string): number => {
      const v = this.#encoder.get(tok);
      if (v === undefined)
        throw new ModelPackError(`RoBERTa vocab.json has no "${tok}" token.`, { token: tok });
      return v;
    };
    this.bosId = id(bos);
    this.eosId = id(eos);
    this.unkId = id(unk);
    this.padId = id(pad);
    // HF: cls = bos, sep = eos. Longest first so the alternation finds leftmost-longest matches (HF's trie).
    this.#specials = [...new Set([bos, eos, unk, pad, this.#mask])].sort((a, b) => b.length - a.length);
    this.#splitter = new RegExp(`(${this.#specials.map(escapeRegex).join("|")})`, "u");
    this.#addPrefixSpace = options.addPrefixSpace ?? false;
    this.modelMaxLength = options.modelMaxLength ?? 512;
  }

  get vocabSize(): number {
    return this.#encoder.size;
  }

  /** HF `RobertaTokenizer.tokenize(text)`: BPE symbols, special tokens kept whole. */
  tokenize(text: string): string[] {
    if (this.#addPrefixSpace && text.length > 0 && !PY_IS_SPACE.test(text)) text = ` ${text}`;
    const pieces = text.split(this.#splitter);
    // `<mask>` is lstrip=True: it swallows the whitespace on its left.
    for (let i = 1; i < pieces.length; i += 2) {
      if (pieces[i] === this.#mask && pieces[i - 1]) pieces[i - 1] = pieces[i - 1].replace(PY_RSTRIP, "");
    }
    const out: string[] = [];
    pieces.forEach((piece, i) => {
      if (!piece) return;
      if (i % 2 === 1) {
        out.push(piece);
        return;
      }
      for (const [m] of piece.matchAll(GPT2_PATTERN)) out.push(...this.#bpe.bpe(byteEncode(m)));
    });
    return out;
  }

  /** Token ids of `tokenize(text)` (unknown symbols → `<unk>`), without `<s>`/`</s>`. */
  encodeIds(text: string): number[] {
    return this.tokenize(text).map((s) => this.#encoder.get(s) ?? this.unkId);
  }

  /**
   * HF `tokenizer(text, padding="max_length", max_length, truncation=True)`: `<s>` + ids[:maxLength − 2] + `</s>`,
   * right-padded with `<pad>`; `attentionMask` is 1 on real tokens.
   */
  encode(text: string, options: RobertaEncodeOptions = {}): TokenizerOutput {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    let ids = this.encodeIds(text);
    if ((options.truncation ?? true) && ids.length + 2 > maxLength)
      ids = ids.slice(0, Math.max(0, maxLength - 2));
    const seq = [this.bosId, ...ids, this.eosId];
    const len =
      (options.padding ?? "max_length") === "max_length" ? Math.max(maxLength, seq.length) : seq.length;
    const inputIds = new Int32Array(len).fill(this.padId);
    inputIds.set(seq);
    const attentionMask = new Int32Array(len);
    attentionMask.fill(1, 0, seq.length);
    return { inputIds, attentionMask };
  }

  /** Ids → text (byte-level decode, invalid UTF-8 → U+FFFD); special tokens are dropped when `skipSpecial`. */
  decode(ids: Iterable<number>, skipSpecial = true): string {
    let text = "";
    let symbols = "";
    for (const id of ids) {
      const s = this.#decoder.get(id) ?? "";
      if (this.#specials.includes(s)) {
        text += byteDecode(symbols) + (skipSpecial ? "" : s);
        symbols = "";
      } else symbols += s;
    }
    return text + byteDecode(symbols);
  }
}
