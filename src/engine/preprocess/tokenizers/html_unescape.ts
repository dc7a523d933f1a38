/**
 * HTML character references, two ways:
 * - `pythonHtmlUnescape`: Python's `html.unescape` (WHATWG rules: named references with or without ';', longest
 *   prefix match for unterminated names, numeric references with the Windows-1252 fix-ups and invalid code points).
 *   ImageBind's `basic_clean` applies it twice after ftfy (SPEC §3.8).
 * - `ftfyUnescapeHtml`: ftfy 6.1.1 `fixes.unescape_html`, the conservative variant ftfy runs inside `fix_text`:
 *   only `&name;` / `&#…;` with a ';', plus all-caps spellings of lowercase entity names (`&EACUTE;` → `É`).
 * Both are written from the Python sources' documented behaviour; the entity list is generated (ftfy_data.ts).
 */
import { HTML5_ENTITIES, HTML5_LEGACY_NAMES } from "./ftfy_data.js";

let html5: Map<string, string> | null = null;
let ftfyEntities: Map<string, string> | null = null;

/** Python's `html.entities.html5`: name (with or without the trailing ';') → replacement text. */
function html5Table(): Map<string, string> {
  if (html5) return html5;
  const table = new Map<string, string>();
  for (const entry of HTML5_ENTITIES.split(" ")) {
    const eq = entry.indexOf("=");
    const chars = String.fromCodePoint(
      ...entry
        .slice(eq + 1)
        .split(".")
        .map((h) => Number.parseInt(h, 16)),
    );
    table.set(`${entry.slice(0, eq)};`, chars);
  }
  for (const name of HTML5_LEGACY_NAMES.split(" ")) table.set(name, table.get(`${name};`)!);
  html5 = table;
  return table;
}

/** html/__init__.py `_invalid_charrefs`: numeric references that browsers read as Windows-1252. */
const INVALID_CHARREFS: ReadonlyMap<number, string> = new Map([
  [0x00, "\ufffd"],
  [0x0d, "\r"],
  ...[
    ..."\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178",
  ].map((c, i) => [0x80 + i, c] as [number, string]),
]);

/** html/__init__.py `_invalid_codepoints`: references to these code points are dropped. */
function isInvalidCodepoint(n: number): boolean {
  return (
    (n >= 0x1 && n <= 0x8) ||
    n === 0xb ||
    (n >= 0xe && n <= 0x1f) ||
    (n >= 0x7f && n <= 0x9f) ||
    (n >= 0xfdd0 && n <= 0xfdef) ||
    (n & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF of every plane
  );
}

function numericCharref(num: number): string {
  const fix = INVALID_CHARREFS.get(num);
  if (fix !== undefined) return fix;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
  if (isInvalidCodepoint(num)) return "";
  return String.fromCodePoint(num);
}

/** Python `html._charref`: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`. */
const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceCharref(s: string): string {
  if (s[0] === "#") {
    const hex = s[1] === "x" || s[1] === "X";
    const digits = s.slice(hex ? 2 : 1).replace(/;$/, "");
    // Python ints are unbounded; anything past U+10FFFF maps to U+FFFD, so a float is precise enough here.
    return numericCharref(Number.parseInt(digits, hex ? 16 : 10));
  }
  const table = html5Table();
  const whole = table.get(s);
  if (whole !== undefined) return whole;
  // The longest prefix (at least 2 code units) that is a known name, as the standard prescribes.
  for (let x = s.length - 1; x > 1; x--) {
    const hit = table.get(s.slice(0, x));
    if (hit !== undefined) return hit + s.slice(x);
  }
  return `&${s}`;
}

/** Python's `html.unescape(s)`. */
export function pythonHtmlUnescape(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(CHARREF_RE, (_m, body: string) => replaceCharref(body));
}

/**
 * ftfy chardata.HTML_ENTITIES: `&name;` for every html5 name with ';', plus `&NAME;` for all-lowercase names whose
 * uppercase spelling is not itself an entity (decoded to the uppercased character).
 */
function ftfyEntityTable(): Map<string, string> {
  if (ftfyEntities) return ftfyEntities;
  const out = new Map<string, string>();
  for (const [name, chars] of html5Table()) {
    if (!name.endsWith(";")) continue;
    out.set(`&${name}`, chars);
    if (name === name.toLowerCase()) {
      const upper = `&${name.toUpperCase()}`;
      if (pythonHtmlUnescape(upper) === upper) out.set(upper, chars.toUpperCase());
    }
  }
  ftfyEntities = out;
  return out;
}

/** ftfy `HTML_ENTITY_RE`. */
const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy 6.1.1 `fixes.unescape_html`. */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  const table = ftfyEntityTable();
  return text.replace(FTFY_ENTITY_RE, (m) => {
    const hit = table.get(m);
    if (hit !== undefined) return hit;
    if (m.startsWith("&#")) {
      const un = pythonHtmlUnescape(m);
      return un.includes(";") ? m : un;
    }
    return m;
  });
}
