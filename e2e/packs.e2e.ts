/**
 * Model packs in real Chromium: the Models view installs the bundled pack from the app's origin into OPFS,
 * imports a picked upstream folder (a diffusers AudioLDM written by the test) and converts it in the worker
 * into OPFS; after a reload, with every request for model files blocked, the packs still list, verify and load
 * from the cache, and a text→audio job runs on the cached copy.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { syntheticAudioLDM } from "../test/support/packs.js";
import { studioSession } from "./support/session.js";
import { runJob, t2aParams, value } from "./support/studio.js";

const session = studioSession();
let folder: string | null = null;

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function writeUpstreamFolder(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "studio-e2e-upstream-"));
  const { files } = syntheticAudioLDM({ root: "audioldm-m-full", unetShards: 2 });
  for (const [path, bytes] of Object.entries(files)) {
    const dest = join(root, ...path.split("/"));
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, bytes);
  }
  return join(root, "audioldm-m-full");
}

describe("Models view: packs in OPFS", () => {
  it("installs the bundled pack from the app's origin into OPFS", async () => {
    const { page } = session.studio;
    await page.keyboard.press("Alt+5");
    await page.getByRole("button", { name: "Install the bundled pack" }).click();
    const row = page.locator('li[data-pack="default"][data-complete="true"]');
    await page.waitForFunction(
      () => document.querySelector('li[data-pack="default"][data-complete="true"], [role="alert"]') !== null,
      null,
      { timeout: 170_000 },
    );
    expect(
      await page.locator('[role="alert"]').count(),
      await page.locator('[role="alert"]').allTextContents().then(String),
    ).toBe(0);
    expect(await row.textContent()).toContain("audioldm/unet");
  });

  it("converts a picked upstream folder in the worker and caches it", async () => {
    const { page } = session.studio;
    folder = await writeUpstreamFolder();
    await page.locator('input[data-input="convert-folder"]').setInputFiles(folder);
    const form = page.locator('form[aria-labelledby="convert-title"]');
    await form.getByLabel("Model").selectOption("audioldm-m-full");
    await form.getByLabel("Weights").selectOption("q4");
    await form.getByLabel("Pack id").fill("e2e-audioldm");
    await form.getByRole("button", { name: "Convert" }).click();
    await page.locator('li[data-pack="e2e-audioldm"][data-complete="true"]').waitFor({ timeout: 170_000 });
    await expect.poll(() => page.locator("section[data-busy]").getAttribute("data-busy")).toBe("false");
  });

  it("after a reload, with model files blocked, lists, verifies and loads both packs from OPFS and runs a job", async () => {
    const { page } = session.studio;
    const blocked: string[] = [];
    await session.browser.context.route(/\/models\//, (route) => {
      blocked.push(route.request().url());
      return route.abort();
    });
    await page.reload();
    await page.getByRole("tablist").waitFor();
    const list = value(await runJob(page, "packs-list", {}));
    const ids = (list.packs as { id: string; complete: boolean }[]).map((p) => [p.id, p.complete]);
    expect(ids).toEqual([
      ["default", true],
      ["e2e-audioldm", true],
    ]);
    for (const id of ["default", "e2e-audioldm"]) {
      const report = value(await runJob(page, "packs-verify", { id }));
      expect(report.bad).toEqual([]);
      const loaded = value(await runJob(page, "packs-load", { id }));
      expect((loaded.components as unknown[]).length).toBe(id === "default" ? 9 : 4);
    }
    const estimate = value(
      await runJob(page, "packs-estimate", { ids: ["default"], options: { task: "v2a", seconds: 2 } }),
    );
    expect(estimate.ok).toBe(true);
    // a whole job from the cache: text→audio on the installed copy, forward passes on the wasm EP (SwiftShader
    // is slow), 2 steps, no aligner
    const seconds = 1;
    const gen = value(
      await runJob(
        page,
        "generate",
        t2aParams({
          pack: { kind: "installed", id: "default" },
          prompt: "a bell rings twice",
          durationS: seconds,
        }),
      ),
    );
    expect(gen.packId).toBe("default");
    const run = (gen.runs as { vanilla?: { sampleRate: number; waveform: number[] } }).vanilla;
    expect(run?.waveform.length).toBe(Math.round(seconds * (run?.sampleRate ?? 0)));
    expect(run?.waveform.every(Number.isFinite)).toBe(true);
    expect(run?.waveform.some((v) => v !== 0)).toBe(true);
    expect(blocked).toEqual([]); // nothing even tried the network
    await session.browser.context.unroute(/\/models\//);
    session.expectClean();
  });
});
