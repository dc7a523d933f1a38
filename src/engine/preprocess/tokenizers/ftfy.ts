/**
 * A port of `ftfy.fix_text` (python-ftfy 6.1.1, the version the CLIP tokenizer goldens were made with) with its
 * default configuration — the text fixer that OpenAI CLIP's / ImageBind's `SimpleTokenizer` and HF `CLIPTokenizer`
 * run before BPE (SPEC §3.8, §7.5).
 *
 * What is implemented, and why all of it: a tokenizer that skipped a step would give different token ids for some
 * prompts (a pasted "cafÃ©", a curly quote, a full-width letter), and prompts come from users and from a captioner.
 * So every step `fix_text` runs by default is here, in ftfy's order, per line, repeated until nothing changes:
 *   unescape_html ("auto": off once a line containing '<' has been seen — a sticky ftfy quirk), fix_encoding
 *   (mojibake detection with ftfy's `badness` heuristic; re-decoding through latin-1, sloppy-windows-1250…1254,
 *   iso-8859-2, macroman and cp437 as UTF-8 or CESU-8/Java "utf-8-variants"; restore_byte_a0,
 *   replace_lossy_sequences, decode_inconsistent_utf8, the latin-1→windows-1252 and C1 fallbacks),
 *   fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks, fix_surrogates,
 *   remove_terminal_escapes, remove_control_chars, NFC.
 * Not implemented: ftfy's non-default options, `explain` plans, `guess_bytes` and the other public helpers.
 * Known differences: JavaScript's Unicode tables (Node 20 / browsers: Unicode 15+) are newer than Python 3.11's
 * (Unicode 14), which only matters for characters assigned since; lone UTF-16 surrogates are the only surrogates a
 * JS string can hold, so `fix_surrogates` reduces to replacing them with U+FFFD.
 * Data tables (codepages, character categories, HTML entities) are generated from ftfy/Python (ftfy_data.ts).
 */
import {
  MOJIBAKE_CATEGORIES as C,
  CHARMAP_ENCODINGS,
  CHARMAP_HIGH,
  type CharmapEncoding,
  UTF8_CLUES as U,
} from "./ftfy_data.js";
import { ftfyUnescapeHtml } from "./html_unescape.js";

// ---------------------------------------------------------------------------------------------------------------
// Single-byte codecs (ftfy bad_codecs/sloppy.py semantics) and UTF-8 decoders.

interface Charmap {
  decode: string[]; // byte → character
  encode: Map<string, number>; // character → byte
}

const charmaps = new Map<CharmapEncoding, Charmap>();

function charmap(enc: CharmapEncoding): Charmap {
  let cm = charmaps.get(enc);
  if (!cm) {
    const high = [...CHARMAP_HIGH[enc]];
    const decode = Array.from({ length: 256 }, (_, b) =>
      b >= 0x80 ? high[b - 0x80] : String.fromCharCode(b),
    );
    decode[0x1a] = high[128];
    cm = { decode, encode: new Map(decode.map((ch, b) => [ch, b])) };
    charmaps.set(enc, cm);
  }
  return cm;
}

/** chardata.possible_encoding: can every character be encoded (sloppily) in `enc`? */
function possibleEncoding(text: string, enc: CharmapEncoding): boolean {
  const { encode } = charmap(enc);
  for (const ch of text) if (!encode.has(ch)) return false;
  return true;
}

/** Bytes as a "binary string" (one char per byte, 0–255) so that byte-level regexes can run on them. */
function encodeBinary(text: string, enc: CharmapEncoding): string {
  const { encode } = charmap(enc);
  let out = "";
  for (const ch of text) out += String.fromCharCode(encode.get(ch)!);
  return out;
}

function binaryToBytes(bin: string): Uint8Array {
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Python's strict UTF-8 decoder (no BOM stripping); `null` on a UnicodeDecodeError. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * ftfy's "utf-8-variants" codec: UTF-8 that also accepts CESU-8 surrogate pairs
 * (`ED A0-AF xx ED B0-BF xx` → one astral character) and Java's `C0 80` for U+0000; anything else must be strict
 * UTF-8 (a lone encoded surrogate is still an error).
 */
function decodeUtf8Variants(bin: string): string | null {
  const special = /\xc0(?:\x80|$)|\xed(?:[\xa0-\xbf]|$)/g;
  let out = "";
  let pos = 0;
  for (let m = special.exec(bin); m; m = special.exec(bin)) {
    const plain = decodeUtf8(binaryToBytes(bin.slice(pos, m.index)));
    if (plain === null) return null;
    out += plain;
    const at = m.index;
    if (bin.charCodeAt(at) === 0xc0) {
      if (at + 1 >= bin.length) return null;
      out += "\0";
      pos = at + 2;
    } else {
      if (!/^\xed[\xa0-\xaf][\x80-\xbf]\xed[\xb0-\xbf][\x80-\xbf]/.test(bin.slice(at, at + 6))) return null;
      const b = (i: number) => bin.charCodeAt(at + i);
      out += String.fromCodePoint(
        ((b(1) & 0x0f) << 16) + ((b(2) & 0x3f) << 10) + ((b(4) & 0x0f) << 6) + (b(5) & 0x3f) + 0x10000,
      );
      pos = at + 6;
    }
    special.lastIndex = pos;
  }
  const rest = decodeUtf8(binaryToBytes(bin.slice(pos)));
  return rest === null ? null : out + rest;
}

/** Windows-1252 proper (strict): the sloppy table minus its five undefined bytes. */
function decodeWindows1252Strict(bin: string): string | null {
  if (/[\x81\x8d\x8f\x90\x9d]/.test(bin)) return null;
  const { decode } = charmap("sloppy-windows-1252");
  let out = "";
  for (let i = 0; i < bin.length; i++) out += decode[bin.charCodeAt(i)];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Regexes (chardata.py / badness.py), rebuilt from the generated category strings.

/** Python `str.isspace()` characters: what `\s` means in ftfy's `re` patterns. */
const PY_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const ACC = C.lower_accented + C.upper_accented;
/** Windows-1252 mojibake of Arabic: [ØÙ][common currency bad numeric start ŸŠ®°µ»], matched twice in a row. */
const ARABIC_1252 = `[\\xd8\\xd9][${C.common}${C.currency}${C.bad}${C.numeric}${C.start_punctuation}\\u0178\\u0160\\xae\\xb0\\xb5\\xbb]`;
const alt = (...parts: string[]) => parts.join("|");

/** badness.BADNESS_RE: unlikely juxtapositions of the ~400 characters that appear in UTF-8 mojibake. */
const BADNESS_RE = new RegExp(
  alt(
    `[${C.c1}]`,
    `[${C.bad}${ACC}${C.box}${C.start_punctuation}${C.end_punctuation}${C.currency}${C.numeric}][${C.bad}]`,
    `[a-zA-Z][${C.lower_common}${C.upper_common}][${C.bad}]`,
    `[${C.bad}][${ACC}${C.box}${C.start_punctuation}${C.end_punctuation}${C.currency}${C.numeric}]`,
    `[${C.lower_accented}${C.lower_common}${C.box}${C.end_punctuation}${C.currency}${C.numeric}][${C.upper_accented}]`,
    `[${C.box}${C.end_punctuation}${C.currency}${C.numeric}][${C.lower_accented}]`,
    `[${C.lower_accented}${C.box}${C.end_punctuation}][${C.currency}]`,
    `[${PY_SPACE}][${C.upper_accented}][${C.currency}]`,
    `[${C.upper_accented}${C.box}][${C.numeric}]`,
    `[${ACC}${C.box}${C.currency}${C.end_punctuation}][${C.start_punctuation}][${C.numeric}]`,
    `[${ACC}${C.currency}${C.numeric}${C.box}][${C.end_punctuation}][${C.start_punctuation}]`,
    `[${C.currency}${C.numeric}${C.box}][${C.start_punctuation}]`,
    `[a-z][${C.upper_accented}][${C.start_punctuation}${C.currency}]`,
    `[${C.box}][${C.kaomoji}]`,
    `[${ACC}${C.currency}${C.numeric}${C.start_punctuation}${C.end_punctuation}][${C.box}]`,
    `[${C.box}][${C.end_punctuation}]`,
    `[${ACC}][${C.end_punctuation}][\\p{L}\\p{N}_]`, // Python's \w
    "[\\u0152\\u0153][^A-Za-z]", // Œœ not followed by a Latin letter
    // Windows-1252 two-character mojibake: [ÂÃÎÐ][€Šš¢£Ÿž NBSP SHY ®©°·» … –—´]
    `[\\xc2\\xc3\\xce\\xd0][\\u20ac\\u0160\\u0161\\xa2\\xa3\\u0178\\u017e\\xa0\\xad\\xae\\xa9\\xb0\\xb7\\xbb${C.start_punctuation}${C.end_punctuation}\\u2013\\u2014\\xb4]`,
    "\\xd7[\\xb2\\xb3]", // ×²
    ARABIC_1252 + ARABIC_1252,
    "\\xe0[\\xb2\\xb5\\xb9\\xbc\\xbd\\xbe]", // à[²µ¹¼½¾]
    "\\u221a[\\xb1\\u2202\\u2020\\u2260\\xae\\u2122\\xb4\\u2264\\u2265\\xa5\\xb5\\xf8]", // MacRoman √…
    "\\u2248[\\xb0\\xa2]", // ≈[°¢]
    "\\u201a\\xc4[\\xec\\xee\\xef\\xf2\\xf4\\xfa\\xf9\\xfb\\u2020\\xb0\\xa2\\u03c0]", // ‚Ä…
    "\\u201a[\\xe2\\xf3][\\xe0\\xe4\\xb0\\xea]", // ‚[âó][àä°ê]
    "\\u0432\\u0402", // вЂ (Windows-1251)
    `[\\u0412\\u0413\\u0420\\u0421][${C.c1}${C.bad}${C.start_punctuation}${C.end_punctuation}${C.currency}\\xb0\\xb5][\\u0412\\u0413\\u0420\\u0421]`,
    "\\u0413\\u045e\\u0412\\u0402\\u0412[^\\n][A-Za-z ]", // ГўВЂВ.  (Python '.' excludes only \n)
    "\\xc3[\\xa0\\xa1]", // Ã[NBSP ¡]
    `[a-z][${PY_SPACE}]?[\\xc3\\xc2] `,
    "^[\\xc3\\xc2] ",
    `[a-z.,?!${C.end_punctuation}]\\xc2[ ${C.start_punctuation}${C.end_punctuation}]`,
    "\\u03b2\\u20ac[\\u2122\\xa0\\u0386\\xad\\xae\\xb0]", // β€… (Windows-1253)
    `[\\u0392\\u0393\\u039e\\u039f][${C.c1}${C.bad}${C.start_punctuation}${C.end_punctuation}${C.currency}\\xb0][\\u0392\\u0393\\u039e\\u039f]`,
  ),
  "u",
);

/** badness.is_bad: does the text contain a likely mojibake sequence? */
export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

/** chardata.UTF8_DETECTOR_RE: runs of characters that look like UTF-8 read as a single-byte encoding. */
const UTF8_DETECTOR_RE = new RegExp(
  `(?<![${U.utf8_continuation_strict}])(?:[${U.utf8_first_of_2}][${U.utf8_continuation}]|[${U.utf8_first_of_3}][${U.utf8_continuation}]{2}|[${U.utf8_first_of_4}][${U.utf8_continuation}]{3})+`,
  "gu",
);

/** chardata.ALTERED_UTF8_RE (on bytes): UTF-8 sequences whose 0xA0 byte became a space. */
const ALTERED_UTF8_RE =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;
/** fixes.A_GRAVE_WORD_RE (on bytes): "à" as a word, whose 0xA0 became a space. */
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;
/** chardata.LOSSY_UTF8_RE (on bytes): UTF-8 sequences with bytes lost to 0x1A (sloppy U+FFFD) or '?'. */
const LOSSY_UTF8_RE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: byte-level pattern over a binary string; 0x1A stands for a lost byte
  /[\xc2-\xdf]\x1a|[\xc2-\xc3]\?|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a/g;
const C1_CONTROL_RE = /[\x80-\x9f]/g;
/** Non-global twins for `.test()` (no lastIndex state). */
const ALTERED_UTF8_TEST = new RegExp(ALTERED_UTF8_RE.source);
const UTF8_DETECTOR_TEST = new RegExp(UTF8_DETECTOR_RE.source, "u");
const C1_CONTROL_TEST = /[\x80-\x9f]/;

// ---------------------------------------------------------------------------------------------------------------
// fix_encoding (ftfy/__init__.py) and its helpers (fixes.py).

/** fixes.restore_byte_a0 (on bytes). */
function restoreByteA0(bin: string): string {
  return bin.replace(A_GRAVE_WORD_RE, "\xc3\xa0 ").replace(ALTERED_UTF8_RE, (m) => m.replaceAll(" ", "\xa0"));
}

/** fixes.replace_lossy_sequences (on bytes): such sequences decode as U+FFFD. */
function replaceLossySequences(bin: string): string {
  return bin.replace(LOSSY_UTF8_RE, "\xef\xbf\xbd");
}

/** fixes.decode_inconsistent_utf8: fix mojibake runs embedded in otherwise fine text. */
function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR_RE, (sub) =>
    sub.length < text.length && isBad(sub) ? fixEncoding(sub) : sub,
  );
}

/** fixes.fix_c1_controls: C1 controls read as Windows-1252, as browsers do. */
function fixC1Controls(text: string): string {
  const { decode } = charmap("sloppy-windows-1252");
  return text.replace(C1_CONTROL_RE, (c) => decode[c.charCodeAt(0)]);
}

/** `_fix_encoding_one_step_and_explain` without the explanation. */
function fixEncodingOneStep(text: string): string {
  if (text.length === 0) return text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: chardata ENCODING_REGEXES['ascii']
  if (/^[\x00-\x7f]*$/.test(text) || !isBad(text)) return text;
  const possible: CharmapEncoding[] = [];
  for (const enc of CHARMAP_ENCODINGS) {
    if (!possibleEncoding(text, enc)) continue;
    possible.push(enc);
    let bin = encodeBinary(text, enc);
    if (ALTERED_UTF8_TEST.test(bin)) bin = restoreByteA0(bin);
    if (enc.startsWith("sloppy")) bin = replaceLossySequences(bin);
    const fixed = /[\xed\xc0]/.test(bin) ? decodeUtf8Variants(bin) : decodeUtf8(binaryToBytes(bin));
    if (fixed !== null) return fixed;
  }
  if (UTF8_DETECTOR_TEST.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  // ftfy checks `"windows-1252" in possible`, which never holds (the list holds "sloppy-windows-1252"), so
  // latin-1-compatible text always gets the strict latin-1 → windows-1252 re-decoding attempt.
  if (possible.includes("latin-1")) {
    const fixed = decodeWindows1252Strict(encodeBinary(text, "latin-1"));
    if (fixed !== null && fixed !== text) return fixed;
  }
  if (C1_CONTROL_TEST.test(text)) return fixC1Controls(text);
  return text;
}

/** ftfy.fix_encoding: repeat single steps until the text stops changing. */
export function fixEncoding(text: string): string {
  for (;;) {
    const next = fixEncodingOneStep(text);
    if (next === text) return text;
    text = next;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The character-level fixers (fixes.py) and fix_text.

/** chardata.LIGATURES: Latin ligatures and digraphs ftfy splits. */
const LIGATURES: ReadonlyMap<string, string> = new Map([
  ["\u0132", "IJ"],
  ["\u0133", "ij"],
  ["\u0149", "\u02bcn"],
  ["\u01f1", "DZ"],
  ["\u01f2", "Dz"],
  ["\u01f3", "dz"],
  ["\u01c4", "D\u017d"],
  ["\u01c5", "D\u017e"],
  ["\u01c6", "d\u017e"],
  ["\u01c7", "LJ"],
  ["\u01c8", "Lj"],
  ["\u01c9", "lj"],
  ["\u01ca", "NJ"],
  ["\u01cb", "Nj"],
  ["\u01cc", "nj"],
  ["\ufb00", "ff"],
  ["\ufb01", "fi"],
  ["\ufb02", "fl"],
  ["\ufb03", "ffi"],
  ["\ufb04", "ffl"],
  ["\ufb05", "\u017ft"],
  ["\ufb06", "st"],
]);
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

/** chardata.WIDTH_MAP: U+3000 → space, and U+FF01–U+FFEF → their NFKC form where that differs. */
let widthMap: Map<string, string> | null = null;
function fixCharacterWidth(text: string): string {
  if (!/[\u3000\uff01-\uffef]/.test(text)) return text;
  if (!widthMap) {
    widthMap = new Map([["\u3000", " "]]);
    for (let cp = 0xff01; cp < 0xfff0; cp++) {
      const ch = String.fromCharCode(cp);
      const alt = ch.normalize("NFKC");
      if (alt !== ch) widthMap.set(ch, alt);
    }
  }
  const map = widthMap;
  return text.replace(/[\u3000\uff01-\uffef]/g, (c) => map.get(c) ?? c);
}

/** fixes.remove_terminal_escapes: ANSI `ESC [ digits/; letter` (Python `\d` = any decimal digit). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts an ANSI terminal escape
const ANSI_RE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
/** chardata.CONTROL_CHARS, removed by fixes.remove_control_chars. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the control characters ftfy removes
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
/** Lone UTF-16 surrogates (fixes.fix_surrogates: paired ones are already one character in JS). */
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** One pass of ftfy's fixers after fix_encoding, in `fix_and_explain`'s order. */
function fixCharacters(text: string): string {
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (c) => LIGATURES.get(c)!);
  text = fixCharacterWidth(text);
  text = text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'"); // uncurl_quotes
  text = text.replace(/\r\n/g, "\n").replace(/[\r\u2028\u2029\x85]/g, "\n"); // fix_line_breaks
  text = text.replace(LONE_SURROGATE_RE, "\ufffd");
  text = text.replace(ANSI_RE, "");
  text = text.replace(CONTROL_RE, "");
  return text.normalize("NFC");
}

/** ftfy `fix_and_explain` on one segment, without the explanation. */
function fixSegment(text: string, unescapeHtml: boolean): string {
  for (;;) {
    const orig = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixCharacters(fixEncoding(text));
    if (text === orig) return text;
  }
}

/** ftfy `TextFixerConfig.max_decode_length`, in code points. */
const MAX_DECODE_LENGTH = 1_000_000;

/** Index (in UTF-16 units) reached after `n` code points from `from`. */
function advanceCodePoints(text: string, from: number, n: number): number {
  let i = from;
  for (let k = 0; k < n && i < text.length; k++) i += (text.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  return i;
}

/**
 * `ftfy.fix_text(text)` with the default configuration: fixes each line (up to and including its '\n')
 * separately. HTML entities are decoded until a line containing '<' is met; from then on (for that and every
 * later line) they are kept, exactly as ftfy's "auto" mode behaves.
 */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = "";
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos) + 1;
    if (end === 0) end = text.length;
    if (end - pos > MAX_DECODE_LENGTH) end = Math.min(end, advanceCodePoints(text, pos, MAX_DECODE_LENGTH));
    const segment = text.slice(pos, end);
    if (unescapeHtml && segment.includes("<")) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}
