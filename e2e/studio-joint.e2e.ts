/**
 * Joint video + audio through the studio's UI in Chromium, on the bundled pack at the fast preset's shapes: the
 * prompt is required, both kinds of live x0 preview (frame strip and mel) arrive for each run, the compare view
 * shows each run's frames and spectrogram with the triangle's scores, and the WebM export (generated frames + the
 * generated audio) parses with ffprobe. Apart from e2e/studio.e2e.ts to keep each file within a few minutes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";
import { probed } from "./support/studio.js";

const session = studioSession();
const dir = mkdtempSync(join(tmpdir(), "studio-joint-e2e-"));

afterAll(() => session.expectClean());

describe("studio: joint video + audio", () => {
  it("needs a prompt, previews both modalities, compares both runs and exports WebM", {
    timeout: 240_000,
  }, async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    await page.keyboard.press("Alt+4");
    const p = page.locator('section.task[data-task="joint"]');
    await p.getByRole("button", { name: "Fast preview" }).click();
    // without a prompt the form says what to change and Generate stays off
    await expect.poll(() => p.locator(".problems").textContent()).toMatch(/Joint generation needs a prompt/);
    expect(await p.getByRole("button", { name: "Generate", exact: true }).isDisabled()).toBe(true);
    await p.getByLabel("Prompt", { exact: true }).fill("a dog barking in a park");
    await p.getByLabel("Steps", { exact: true }).fill("2");
    await p.locator("details.advanced summary").click();
    await p.getByLabel("Forward on").selectOption("wasm");
    const frames = Number(await p.getByLabel("Frames", { exact: true }).inputValue());
    const fps = Number(await p.getByLabel("Frame rate (fps)", { exact: true }).inputValue());
    await p.getByRole("button", { name: "Generate", exact: true }).click();
    for (const run of ["vanilla", "guided"])
      for (const kind of ["frames", "mel"])
        await p
          .locator(`figure.preview[data-run="${run}"][data-kind="${kind}"]`)
          .waitFor({ timeout: 200_000 });
    const compare = p.locator('[data-testid="compare"]');
    await compare.waitFor({ timeout: 120_000 });
    for (const run of ["vanilla", "guided"]) {
      const col = compare.locator(`figure.run-col[data-run="${run}"]`);
      expect(await col.locator("canvas.frame-strip").count()).toBe(1);
      expect(await col.locator("canvas.tf-canvas").count()).toBe(1);
    }
    for (const metric of ["AT-align_bind", "AV-align_bind", "VT-align_bind", "loss"]) {
      const cells = await compare.locator(`tr[data-metric="${metric}"] td`).allTextContents();
      expect(cells.slice(0, 2).every((c) => /^-?\d+\.\d{4}$/.test(c))).toBe(true);
    }
    await compare.locator('[data-saved="saved"]').waitFor({ timeout: 30_000 });

    const [dl] = await Promise.all([
      page.waitForEvent("download", { timeout: 120_000 }),
      compare.locator('button[data-export="webm"]').click(),
    ]);
    const webm = join(dir, "joint.webm");
    await dl.saveAs(webm);
    const probe = JSON.parse(
      execFileSync("ffprobe", [
        ...["-v", "error", "-of", "json"],
        ...["-show_entries", "stream=codec_type,codec_name,width,height:format=duration", webm],
      ]).toString(),
    ) as { streams: { codec_type: string; codec_name: string }[]; format: { duration: string } };
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual([
      "audio:opus",
      "video:vp8",
    ]);
    // the generated audio is cut to the video's frames / fps: within one frame (plus an Opus frame)
    expect(Math.abs(Number(probe.format.duration) - frames / fps)).toBeLessThan(1 / fps + 0.02);
  });
});
