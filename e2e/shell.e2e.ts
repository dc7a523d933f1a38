/** The shell: isolation headers, CSP, keyboard-accessible tabs, screenshots, and no traffic off the origin. */
import { mkdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed } from "./support/studio.js";

const session = studioSession();

const ARTIFACTS = "e2e/artifacts";

describe("studio shell", () => {
  it("is served with COOP/COEP and a CSP without 'unsafe-eval', and is cross-origin isolated", async () => {
    const res = await session.studio.page.request.get(session.baseURL);
    const h = res.headers();
    expect(h["cross-origin-opener-policy"]).toBe("same-origin");
    expect(h["cross-origin-embedder-policy"]).toBe("require-corp");
    const csp = h["content-security-policy"] ?? "";
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    expect(csp).toMatch(/worker-src 'self'(;|$)/);
    expect(csp).not.toMatch(/'unsafe-eval'|'unsafe-inline'/);
    expect(await session.studio.page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await session.studio.page.evaluate(() => typeof SharedArrayBuffer)).toBe("function");
  });

  it("has seven tabs operable with the keyboard (roving tabindex, arrows, Home/End, Alt+digit)", async () => {
    const { page } = session.studio;
    const tabs = page.getByRole("tab");
    await expect
      .poll(() => tabs.allInnerTexts())
      .toEqual([
        "Video → Audio",
        "Image → Audio",
        "Audio → Video",
        "Joint Video + Audio",
        "Models",
        "System",
        "Gallery",
      ]);
    const selected = () => page.locator('[role="tab"][aria-selected="true"]').textContent();
    const focused = () => page.evaluate(() => document.activeElement?.textContent ?? "");
    // Only the selected tab is in the Tab order.
    expect(await page.locator('[role="tab"][tabindex="0"]').count()).toBe(1);
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Video → Audio");
    expect(await page.evaluate(() => document.activeElement?.matches(":focus-visible"))).toBe(true);
    await page.keyboard.press("ArrowRight");
    expect(await selected()).toBe("Image → Audio");
    expect(await focused()).toBe("Image → Audio");
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    expect(await selected()).toBe("Gallery");
    await page.keyboard.press("Home");
    expect(await selected()).toBe("Video → Audio");
    await page.keyboard.press("End");
    expect(await selected()).toBe("Gallery");
    await page.keyboard.press("Alt+3");
    expect(await selected()).toBe("Audio → Video");
    // The panel is labelled by its tab and reachable with Tab.
    const panel = page.getByRole("tabpanel");
    expect(await panel.getAttribute("aria-labelledby")).toBe("tab-a2v");
    await expect.poll(() => page.getByLabel("Input audio").count()).toBe(1);
  });

  it("renders at 1280×800 and at a narrow width (screenshots in e2e/artifacts/)", async () => {
    const { page } = session.studio;
    await mkdir(ARTIFACTS, { recursive: true });
    expect(await probed(page)).toBe("ready");
    await page.keyboard.press("Alt+1");
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${ARTIFACTS}/shell-v2a-1280x800.png` });
    await page.keyboard.press("Alt+6");
    await page.getByTestId("capability-report").waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/shell-system-1280x800.png` });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${ARTIFACTS}/shell-system-390x844.png` });
    await page.keyboard.press("Alt+1");
    await page.screenshot({ path: `${ARTIFACTS}/shell-v2a-390x844.png` });
    // Nothing overflows horizontally at the narrow width.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });

  it("makes no request outside its own origin and has no CSP violation or page error", () => {
    session.expectClean();
  });
});
