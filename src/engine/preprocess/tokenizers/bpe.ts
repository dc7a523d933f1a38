/**
 * The byte-level BPE core shared by the CLIP (OpenAI `SimpleTokenizer` / HF `CLIPTokenizer`) and GPT-2-style
 * (HF `RobertaTokenizer`) tokenizers: the reversible byte ↔ character table and merge-by-rank.
 * Written from the algorithm as OpenAI CLIP / GPT-2 describe it (`bytes_to_unicode`, `get_pairs`, `bpe`).
 */
import { BadInputError } from "../../errors.js";

/** Model inputs of a text tokenizer call (`input_ids`, `attention_mask`). */
export interface TokenizerOutput {
  inputIds: Int32Array;
  attentionMask: Int32Array;
}

/** A batch of tokenized prompts stacked row-major, as HF returns `tokenizer(list, padding="max_length")`. */
export interface PromptBatch {
  /** [B, L] int32. */
  input_ids: Int32Array;
  /** [B, L] 1 = token, 0 = padding. */
  attention_mask: Int32Array;
  shape: [number, number];
}

/** Tokenizes each prompt with `encodeOne` (which pads every row to one length) and stacks the rows to [B, L]. */
export function stackPrompts(
  prompts: string | readonly string[],
  encodeOne: (prompt: string) => TokenizerOutput,
): PromptBatch {
  const list = typeof prompts === "string" ? [prompts] : prompts;
  if (list.length === 0) throw new BadInputError("encode prompt: no prompts given");
  const rows = list.map(encodeOne);
  const l = rows[0].inputIds.length;
  const input_ids = new Int32Array(list.length * l);
  const attention_mask = new Int32Array(list.length * l);
  rows.forEach((r, i) => {
    if (r.inputIds.length !== l)
      throw new Error(`encode prompt: row ${i} has ${r.inputIds.length} ids, not ${l}`);
    input_ids.set(r.inputIds, i * l);
    attention_mask.set(r.attentionMask, i * l);
  });
  return { input_ids, attention_mask, shape: [list.length, l] };
}

let byteEncoder: readonly string[] | null = null;

/**
 * `bytes_to_unicode()`: the printable bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` map to themselves; the other 68 bytes
 * (controls, space, 0x7F–0xA0, 0xAD) map in order to U+0100, U+0101, … so that no symbol is whitespace.
 */
export function bytesToUnicode(): readonly string[] {
  if (byteEncoder) return byteEncoder;
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  byteEncoder = Object.freeze(table);
  return byteEncoder;
}

const utf8 = new TextEncoder();

/** A pre-token's UTF-8 bytes, each mapped through `bytesToUnicode` (lone surrogates encode as U+FFFD). */
export function byteEncode(token: string): string {
  const table = bytesToUnicode();
  let out = "";
  for (const b of utf8.encode(token)) out += table[b];
  return out;
}

/** Inverse of `byteEncode` over a concatenation of symbols; invalid UTF-8 decodes to U+FFFD (`errors="replace"`). */
export function byteDecode(symbols: string): string {
  const table = bytesToUnicode();
  const inverse = new Map(table.map((c, b) => [c, b]));
  const bytes: number[] = [];
  for (const ch of symbols) {
    const b = inverse.get(ch);
    if (b !== undefined) bytes.push(b);
  }
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(Uint8Array.from(bytes));
}

const CACHE_LIMIT = 20_000;

/**
 * Merge-by-rank BPE over one byte-encoded pre-token. With `endOfWord` set (CLIP: `"</w>"`), the last symbol
 * carries the end-of-word marker; without it (GPT-2/RoBERTa) words are plain symbol sequences.
 */
export class BytePairEncoder {
  readonly #ranks: Map<string, number>;
  readonly #endOfWord: string;
  readonly #cache = new Map<string, readonly string[]>();

  constructor(merges: Iterable<readonly [string, string]>, endOfWord = "") {
    this.#ranks = new Map();
    let r = 0;
    for (const [a, b] of merges) {
      const key = `${a} ${b}`;
      // A duplicated merge keeps its last rank, as Python's dict(zip(merges, range(n))) does.
      this.#ranks.set(key, r++);
    }
    this.#endOfWord = endOfWord;
  }

  get numMerges(): number {
    return this.#ranks.size;
  }

  /** The symbols of `token` after applying every merge, lowest rank first. */
  bpe(token: string): readonly string[] {
    const hit = this.#cache.get(token);
    if (hit) return hit;
    const chars = [...token];
    if (chars.length === 0) return [];
    let word = chars;
    if (this.#endOfWord) word = [...chars.slice(0, -1), chars[chars.length - 1] + this.#endOfWord];
    while (word.length > 1) {
      // The adjacent pair with the lowest merge rank (get_pairs + min over bpe_ranks).
      let best = Number.POSITIVE_INFINITY;
      let first = "";
      let second = "";
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = word[i];
          second = word[i + 1];
        }
      }
      if (best === Number.POSITIVE_INFINITY) break;
      // Merge every non-overlapping occurrence, scanning left to right.
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    const frozen = Object.freeze(word);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(token, frozen);
    return frozen;
  }
}
