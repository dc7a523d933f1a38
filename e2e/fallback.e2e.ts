/** Without WebGPU the runtime falls back to wasm, says why, and the self-tests still pass on the CPU. */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type Browser,
  foreignRequests,
  launchBrowser,
  openStudio,
  type StudioPage,
} from "./support/browser.js";
import { probed, runJob, value } from "./support/studio.js";

const baseURL = inject("baseURL");
let browser: Browser;
let studio: StudioPage;

beforeAll(async () => {
  browser = await launchBrowser({ webgpu: false });
  studio = await openStudio(browser, baseURL);
});

afterAll(async () => {
  await browser?.close();
});

describe("wasm fallback (Chromium without WebGPU)", () => {
  it("reports the wasm backend with a reason a user can act on", async () => {
    expect(await probed(studio.page)).toBe("ready");
    const r = value(await runJob(studio.page, "probe", {}));
    expect(r.backend).toBe("wasm");
    expect(r.webgpu).toBeNull();
    expect(r.fallbackReason).toMatch(/WebGPU/);
    expect(r.ort).toMatchObject({ executionProviders: ["wasm"] });
    expect(r.tfjs).toMatchObject({ backend: "wasm" });
    await studio.page.keyboard.press("Alt+6");
    expect(await studio.page.getByTestId("capability-report").textContent()).toContain("Why not WebGPU");
  });

  it("computes the self-test gradient on tfjs-backend-wasm", async () => {
    const r = value(await runJob(studio.page, "selftest-grad", {}));
    expect(r.backend).toBe("wasm");
    expect(r.relL2 as number).toBeLessThan(1e-3);
  });

  it("stays on its own origin", () => {
    expect(foreignRequests(browser.requests, new URL(baseURL).origin)).toEqual([]);
    expect(studio.problems.filter((p) => /CSP violation|pageerror/.test(p))).toEqual([]);
  });
});
