/**
 * Security checks on the built app (issue 11, item 5): the CSP and isolation headers on every kind of response
 * (documents, module and worker scripts, wasm, the service worker, model files) — the CSP of a worker is the
 * one on its own script; no remote script URL anywhere in the bundle (only the configured model mirrors may
 * appear, as data); and user-provided text (a prompt, a file name) rendered as text, never as markup.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { MODEL_MIRROR_SOURCES } from "../src/engine/packs/mirrors.js";
import { MODEL_SPECS } from "../src/engine/packs/specs.js";
import { studioSession } from "./support/session.js";
import { probed } from "./support/studio.js";

const session = studioSession();
const DIST = "dist";

function builtFiles(ext: RegExp): string[] {
  return readdirSync(DIST, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && ext.test(d.name))
    .map((d) => relative(DIST, join(d.parentPath, d.name)).split("\\").join("/"))
    .filter((p) => !p.startsWith("models/"));
}

/** Hosts the studio may fetch model files from (MODEL_SPECS' upstream URLs): allowed as data, never as code. */
const MIRROR_HOSTS = new Set(
  Object.values(MODEL_SPECS).map((s) => new URL(s.fileUrl.replace(/\{\w+\}/g, "x")).host),
);

/** URL literals that would load code from another origin: in a loading position, or naming a script/wasm file. */
function remoteScriptUrls(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/https?:\/\/[^\s"'`)<>\\]+/g)) {
    const url = m[0];
    let host: string;
    try {
      host = new URL(url.replace(/\$\{[^}]*\}?/g, "x")).host;
    } catch {
      continue;
    }
    if (MIRROR_HOSTS.has(host)) continue;
    const before = text.slice(Math.max(0, m.index - 40), m.index);
    const loads =
      /(import\s*\(|importScripts\s*\(|\bfrom\s*|src\s*=|href\s*=|Worker\s*\(|@import\s*|url\s*\()\s*["'`]?$/.test(
        before,
      );
    const code = /\.(m?js|cjs|wasm|css)([?#]|$)/.test(new URL(url.replace(/\$\{[^}]*\}?/g, "x")).pathname);
    if (loads || code) found.push(url);
  }
  return found;
}

describe("security", () => {
  it("sends COEP/CORP/nosniff on every response and one strict CSP on documents and every worker script", async () => {
    const { request } = session.studio.page;
    const workers = builtFiles(/worker.*\.js$/).filter((p) => p.startsWith("assets/"));
    expect(workers.length).toBeGreaterThanOrEqual(2); // the engine and media workers at least
    const paths = [
      "",
      "index.html",
      "sw.js",
      ...workers,
      "vendor/ort/ort-wasm-simd-threaded.jsep.mjs",
      "vendor/ort/ort-wasm-simd-threaded.jsep.wasm",
      "vendor/ffmpeg/ffmpeg-core.js",
      "models/default/manifest.json",
    ];
    const document = (await request.get(session.baseURL)).headers()["content-security-policy"] ?? "";
    const directives = new Map(
      document.split(";").map((d) => {
        const [name = "", ...values] = d.trim().split(/\s+/);
        return [name, values.join(" ")] as const;
      }),
    );
    expect(directives.get("default-src")).toBe("'self'");
    expect(directives.get("script-src")).toBe("'self' 'wasm-unsafe-eval'");
    expect(directives.get("worker-src")).toBe("'self'");
    // downloads: the app's origin and the official model repositories only (src/engine/packs/mirrors.ts)
    expect(directives.get("connect-src")).toBe(["'self'", ...MODEL_MIRROR_SOURCES].join(" "));
    expect(directives.get("object-src")).toBe("'none'");
    expect(directives.get("base-uri")).toBe("'self'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    const others = [...directives].filter(([name]) => name !== "connect-src").map(([, v]) => v);
    expect(others.join(" ")).not.toMatch(/\*|https?:/);
    expect(document).not.toMatch(/'unsafe-eval'|'unsafe-inline'/);
    for (const path of paths) {
      const res = await request.get(`${session.baseURL}${path}`);
      const h = res.headers();
      expect([path, res.status()]).toEqual([path, 200]);
      expect([path, h["cross-origin-embedder-policy"]]).toEqual([path, "require-corp"]);
      expect([path, h["cross-origin-resource-policy"]]).toEqual([path, "same-origin"]);
      expect([path, h["x-content-type-options"]]).toEqual([path, "nosniff"]);
      expect([path, h["content-security-policy"]]).toEqual([path, document]);
    }
  });

  it("has no remote script URL in the built app (model mirrors appear only as data)", () => {
    // the check itself finds a CDN script URL where one is (the kind @ffmpeg/ffmpeg ships as its default)
    expect(
      remoteScriptUrls(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal, as shipped
        "const CORE_URL = `https://unpkg.com/@ffmpeg/core@${CORE_VERSION}/dist/umd/ffmpeg-core.js`;",
      ),
    ).toHaveLength(1);
    expect(remoteScriptUrls('await import("https://esm.sh/react")')).toHaveLength(1);
    expect(remoteScriptUrls("see https://react.dev/link/invalid-hook-call")).toEqual([]);
    const files = builtFiles(/\.(m?js|html|css)$/);
    expect(files).toEqual(expect.arrayContaining(["index.html", "sw.js"]));
    const found = files.flatMap((f) =>
      remoteScriptUrls(readFileSync(join(DIST, f), "utf8")).map((u) => `${f}: ${u}`),
    );
    expect(found).toEqual([]);
  });

  it("renders a hostile prompt and file name as text: no element is created and nothing runs", async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    const name = '<img src=x onerror="window.__xss=1">bell.png';
    const prompt = '<img src=x onerror="window.__xss=2"><script>window.__xss=3</script> a bell';
    await page.keyboard.press("Alt+2");
    await page.locator('input[data-input="i2a-file"]').setInputFiles({
      name,
      mimeType: "image/png",
      buffer: readFileSync("public/demos/world/i2a-red-bell.png"),
    });
    await page.waitForSelector('.input-facts[data-status="ready"]', { timeout: 60_000 });
    expect(await page.locator(".input-facts strong").textContent()).toBe(name);
    await page.getByRole("button", { name: "Fast preview" }).click();
    await page.getByLabel("Prompt (optional)", { exact: true }).fill(prompt);
    await page.locator("summary", { hasText: "Advanced" }).click();
    await page.getByLabel("Forward on").selectOption("wasm");
    await page.getByLabel("Gradient on").selectOption("wasm");
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    const used = page.getByTestId("prompt-used");
    await used.waitFor({ timeout: 120_000 });
    expect(await used.textContent()).toBe(prompt);
    await page.keyboard.press("Escape"); // cancel the run; the prompt is what this test is about
    const dom = await page.evaluate(() => ({
      injected: document.querySelectorAll("img[onerror], #root script").length,
      xss: (window as { __xss?: number }).__xss ?? null,
    }));
    expect(dom).toEqual({ injected: 0, xss: null });
    session.expectClean();
  });
});
