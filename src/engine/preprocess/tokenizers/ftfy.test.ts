/**
 * Unit tests of the ftfy 6.1.1 port and the HTML unescapers. The expectations are ftfy's own documented examples
 * (docstrings of `fix_text`, `fix_encoding`, `unescape_html`) and a sample of python-ftfy's `tests/test_cases.json`
 * (MIT), plus Python `html.unescape` behaviour; none comes from the golden fixtures.
 * During development the port was also compared with ftfy 6.1.1 itself on ~9,500 generated strings (mojibake in
 * all nine codepages, CESU-8, entities, controls): identical output on all of them.
 */
import { describe, expect, it } from "vitest";
import { fixEncoding, fixText, isBad } from "./ftfy.js";
import { ftfyUnescapeHtml, pythonHtmlUnescape } from "./html_unescape.js";

describe("ftfy.fix_text (6.1.1, default config)", () => {
  it("reproduces the fix_text docstring examples", () => {
    expect(fixText("\u00e2\u0153\u201d No problems")).toBe("\u2714 No problems");
    expect(fixText("&macr;\\_(\u00e3\x83\x84)_/&macr;")).toBe("\u00af\\_(\u30c4)_/\u00af");
    // The docstring still shows "..." from ftfy 5; 6.x keeps the ellipsis character.
    expect(fixText("Broken text&hellip; it&#x2019;s \ufb02ubberi\ufb01c!")).toBe(
      "Broken text\u2026 it's flubberific!",
    );
    expect(fixText("\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33")).toBe("LOUD NOISES");
  });

  it("fixes mojibake from python-ftfy's test cases", () => {
    const cases: [string, string][] = [
      ["\u00c4\u0152e\u00c5\u00a1tina", "\u010ce\u0161tina"], // UTF-8 read as Windows-1252 (Czech)
      ["\u00e6\u2014\u00a5\u00e6\u0153\u00ac\u00e8\u00aa\u017e", "\u65e5\u672c\u8a9e"], // Japanese
      [
        "Le Schtroumpf Docteur conseille g\u221a\u00a2teaux et baies schtroumpfantes pour un r\u221a\u00a9gime \u221a\u00a9quilibr\u221a\u00a9.",
        "Le Schtroumpf Docteur conseille g\u00e2teaux et baies schtroumpfantes pour un r\u00e9gime \u00e9quilibr\u00e9.",
      ], // MacRoman
      ["Hi guys \u00ed\u00a0\u00bd\u00ed\u00b8\u008d", "Hi guys \ud83d\ude0d"], // CESU-8 emoji
      [
        "\u0420\u0491\u0420\u0455\u0421\u0402\u0420\u0455\u0420\u0456\u0420\u00b5 \u0420\u0098\u0420\u00b7-\u0420\u0457\u0420\u0455\u0420\u0491 #\u0421\u201e\u0421\u0453\u0421\u201a\u0420\u00b1\u0420\u0455\u0420\u00bb",
        "\u0434\u043e\u0440\u043e\u0433\u0435 \u0418\u0437-\u043f\u043e\u0434 #\u0444\u0443\u0442\u0431\u043e\u043b",
      ], // Windows-1251
      ["Li\u0102\u00a8ge Avenue de l'H\u0102\u00b4pital", "Li\u00e8ge Avenue de l'H\u00f4pital"], // Windows-1250
      [
        "#\u2568\u2510\u2564\u00c7\u2568\u2591\u2568\u2593\u2568\u2555\u2568\u2557",
        "#\u043f\u0440\u0430\u0432\u0438\u043b",
      ], // cp437
      ["voil\u00c3 le travail", "voil\u00e0 le travail"], // restore_byte_a0
      [
        "The ICR has been upgraded to \u00e2\u20ac\u0153bb+\u00e2\u20ac?",
        'The ICR has been upgraded to "bb+\ufffd',
      ], // lossy
      [
        "Campeonatos > III Divis\u00c3\u00a3o - S\u00c3\u00a9rie F",
        "Campeonatos > III Divis\u00e3o - S\u00e9rie F",
      ], // inconsistent
      ["parl\u00e9\u0085 Tu sais", "parl\u00e9\u2026 Tu sais"], // C1 control as Windows-1252
      ["\u0149 Chloroplas", "'n Chloroplas"], // Afrikaans digraph + uncurl
      ["Iggy Pop (n\u00c3\u0192\u00c2\u00a9 Jim Osterberg)", "Iggy Pop (n\u00e9 Jim Osterberg)"], // twice
    ];
    for (const [broken, fixed] of cases) expect(fixText(broken), broken).toBe(fixed);
  });

  it("leaves clean text alone", () => {
    for (const s of [
      "caf\u00e9 na\u00efve",
      "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
      "emoji \ud83c\udfb8\ud83d\udd25",
      "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
      "L\u2019\u00e9pisode",
    ]) {
      expect(isBad(s), s).toBe(false);
    }
    expect(fixText("plain ascii, 100% fine.")).toBe("plain ascii, 100% fine.");
  });

  it("applies the character fixers in order", () => {
    expect(fixText("\u201cquoted\u201d \u2018x\u2019")).toBe("\"quoted\" 'x'");
    expect(fixText("\ufb01 \u01c6 \u0132")).toBe("fi d\u017e IJ");
    expect(fixText("a\r\nb\rc\u2028d")).toBe("a\nb\nc\nd");
    expect(fixText("\x1b[36;44mblue\x1b[0m")).toBe("blue");
    expect(fixText("a\x00b\x07c\ufeffd\u206ae")).toBe("abcde");
    expect(fixText("e\u0301")).toBe("\u00e9"); // NFC
    expect(fixText("\ud83d")).toBe("\ufffd"); // lone surrogate
    expect(fixEncoding("s\u00c3\u00b3")).toBe("s\u00f3");
  });

  it("decodes entities until a line contains '<' (sticky 'auto' mode)", () => {
    expect(fixText("a &amp; b\n<p>&amp;</p>\n&amp; c")).toBe("a & b\n<p>&amp;</p>\n&amp; c");
    expect(fixText("&amp;lt;")).toBe("<"); // fix_and_explain loops until nothing changes
  });
});

describe("HTML unescaping", () => {
  it("ftfy.unescape_html only decodes terminated references, plus all-caps names", () => {
    expect(ftfyUnescapeHtml("&lt;tag&gt;")).toBe("<tag>");
    expect(ftfyUnescapeHtml("P&EACUTE;REZ")).toBe("P\u00c9REZ");
    expect(ftfyUnescapeHtml("BUNDESSTRA&SZLIG;E")).toBe("BUNDESSTRASSE");
    expect(ftfyUnescapeHtml("&ntilde; &Ntilde; &NTILDE; &nTILDE;")).toBe("\u00f1 \u00d1 \u00d1 &nTILDE;");
    expect(ftfyUnescapeHtml("this&not that &amp")).toBe("this&not that &amp");
  });

  it("Python html.unescape follows the WHATWG rules", () => {
    expect(pythonHtmlUnescape("&amp &ampx &notit; &amp;")).toBe("& &x \u00acit; &");
    expect(pythonHtmlUnescape("&#128;&#x41;&#0;&#1;&#x110000;&#xD800;")).toBe("\u20acA\ufffd\ufffd\ufffd");
    expect(pythonHtmlUnescape("&#65&#x42 &unknown; & ;")).toBe("AB &unknown; & ;");
    expect(pythonHtmlUnescape("&NewLine;&Tab;&nbsp;")).toBe("\n\t\u00a0");
  });
});
