/** Without WebGPU the runtime falls back to wasm, says why, and the self-tests still pass on the CPU. */
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed, runJob, value } from "./support/studio.js";

const session = studioSession({ webgpu: false });

describe("wasm fallback (Chromium without WebGPU)", () => {
  it("reports the wasm backend with a reason a user can act on", async () => {
    expect(await probed(session.studio.page)).toBe("ready");
    const r = value(await runJob(session.studio.page, "probe", {}));
    expect(r.backend).toBe("wasm");
    expect(r.webgpu).toBeNull();
    expect(r.fallbackReason).toMatch(/WebGPU/);
    expect(r.ort).toMatchObject({ executionProviders: ["wasm"] });
    expect(r.tfjs).toMatchObject({ backend: "wasm" });
    await session.studio.page.keyboard.press("Alt+6");
    expect(await session.studio.page.getByTestId("capability-report").textContent()).toContain(
      "Why not WebGPU",
    );
  });

  it("computes the self-test gradient on tfjs-backend-wasm", async () => {
    const r = value(await runJob(session.studio.page, "selftest-grad", {}));
    expect(r.backend).toBe("wasm");
    expect(r.relL2 as number).toBeLessThan(1e-3);
  });

  it("stays on its own origin", () => {
    session.expectClean();
  });
});
