/**
 * The studio through its real UI in Chromium, on the bundled pack at tiny shapes: a V2A compare run on a clip
 * ffmpeg makes here (progress, previews, both runs with their scores), its MP4 export parsed by ffprobe, the
 * gallery entry after a reload; an I2A run on a picture with its WebM (the still looped under the audio) and WAV; an A2V run at the smallest shapes the pack allows with its MP4 (generated frames +
 * the input audio); a run cancelled mid-way that leaves the UI usable and the earlier result intact; the V2A demo
 * preset ("Load demo clip": the world clip made in the page, previewed, and a run started on it); and the
 * layout at 1280×800 and at 480 px wide (no horizontal overflow). Forward passes run on onnxruntime's wasm EP and
 * so do the aligner's gradients (the studio's default "Gradient on: ONNX Runtime"): headless WebGPU is SwiftShader,
 * far slower for these models.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { auditRegion } from "./support/a11y.js";
import { studioSession } from "./support/session.js";
import { probed } from "./support/studio.js";

const session = studioSession();
const dir = mkdtempSync(join(tmpdir(), "studio-e2e-"));
const ARTIFACTS = join(import.meta.dirname, "artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

const ffmpeg = (...args: string[]) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args]);

interface Probe {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
  format: { duration: string };
}
const ffprobe = (file: string): Probe =>
  JSON.parse(
    execFileSync("ffprobe", [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type,codec_name,width,height:format=duration",
      "-of",
      "json",
      file,
    ]).toString(),
  ) as Probe;

/** The task panel of the tab shown (tabs keep their panels mounted only while shown). */
const panel = (page: Page, task: string) => page.locator(`section.task[data-task="${task}"]`);

/** Fast preset, then the few fields a test changes; forward passes on the CPU. */
async function settings(page: Page, task: string, fields: Record<string, string>): Promise<void> {
  const p = panel(page, task);
  await p.getByRole("button", { name: "Fast preview" }).click();
  for (const [label, v] of Object.entries(fields)) await p.getByLabel(label, { exact: true }).fill(v);
  const advanced = p.locator("details.advanced");
  if (!(await advanced.evaluate((d) => (d as HTMLDetailsElement).open)))
    await advanced.locator("summary").click();
  await p.getByLabel("Forward on").selectOption("wasm");
}

async function download(page: Page, click: () => Promise<void>, name: string): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 120_000 }), click()]);
  const file = join(dir, name);
  await dl.saveAs(file);
  return file;
}

/** No horizontal overflow of the main panel (its content is as wide as its box). */
async function overflowX(page: Page): Promise<number> {
  return page.evaluate(() => {
    const main = document.querySelector("main") ?? document.body;
    return Math.max(
      main.scrollWidth - main.clientWidth,
      document.documentElement.scrollWidth - window.innerWidth,
    );
  });
}

afterAll(() => session.expectClean());

describe("studio", () => {
  it("V2A compare run → both runs with scores → MP4 export → gallery entry after a reload", {
    timeout: 240_000,
  }, async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    const clip = join(dir, "bounce.mp4");
    ffmpeg(
      ...["-f", "lavfi", "-i", "testsrc=size=64x48:rate=8", "-t", "1"],
      ...["-c:v", "libx264", "-pix_fmt", "yuv420p", clip],
    );
    await page.keyboard.press("Alt+1");
    const p = panel(page, "v2a");
    await p.locator('input[data-input="v2a-file"]').setInputFiles(clip);
    await p.locator('.input-facts[data-status="ready"]').waitFor({ timeout: 60_000 });
    await settings(page, "v2a", { Steps: "2", "Prompt (optional)": "a ball bouncing" });
    await p.getByRole("button", { name: "Generate", exact: true }).click();
    // progress events and a live x0 preview
    await p.locator('[data-testid="step"]').waitFor({ timeout: 120_000 });
    await p.locator('figure.preview[data-kind="mel"]').first().waitFor({ timeout: 120_000 });
    const compare = p.locator('[data-testid="compare"]');
    await compare.waitFor({ timeout: 180_000 });
    await expect.poll(() => compare.locator("figure.run-col").count()).toBe(2);
    // ImageBind scores for both runs, and the AV-align row once the media worker has computed it
    const scores = compare.locator('[data-testid="scores"]');
    for (const metric of ["AV-align_bind", "loss"]) {
      const cells = await scores.locator(`tr[data-metric="${metric}"] td`).allTextContents();
      expect(cells.slice(0, 2).every((c) => /^-?\d+\.\d{4}$/.test(c))).toBe(true);
    }
    await expect
      .poll(() => scores.locator('tr[data-metric="av-align"] td').first().textContent(), { timeout: 60_000 })
      .toMatch(/^(\d\.\d{4}|n\/a)$/);
    await compare.locator('[data-saved="saved"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, "studio-v2a-compare-1280.png"), fullPage: true });

    const mp4 = await download(page, () => compare.locator('button[data-export="mp4"]').click(), "v2a.mp4");
    const probe = ffprobe(mp4);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual([
      "audio:aac",
      "video:h264",
    ]);
    // the generated audio on the 1-s input: duration within one frame (1/8 s) plus an AAC frame
    expect(Math.abs(Number(probe.format.duration) - 1)).toBeLessThan(1 / 8 + 1024 / 16000);

    const title = await page.evaluate(() => {
      const s = window.__studio!.store.getState().studio;
      return s.results[s.tasks.v2a.resultId!]!.title;
    });
    await page.reload();
    await page.getByRole("tablist").waitFor();
    await page.keyboard.press("Alt+7");
    const entry = page.locator('li.gallery-entry[data-task="v2a"]', { hasText: title });
    await entry.waitFor({ timeout: 30_000 });
    // the entry opens into the compare view again, with both runs
    await entry.getByRole("button", { name: `Compare ${title}` }).click();
    await expect.poll(() => panel(page, "v2a").locator("figure.run-col").count()).toBe(2);
  });

  it("I2A compare run on a picked picture → WebM (the picture looped under the generated audio) and WAV exports", {
    timeout: 240_000,
  }, async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    const png = join(dir, "bars.png");
    ffmpeg(...["-f", "lavfi", "-i", "smptebars=size=48x32", "-frames:v", "1", png]);
    await page.keyboard.press("Alt+2");
    const p = panel(page, "i2a");
    await p.locator('input[data-input="i2a-file"]').setInputFiles(png);
    await p.locator('.input-facts[data-status="ready"]').waitFor({ timeout: 60_000 });
    await settings(page, "i2a", { Steps: "2", "Prompt (optional)": "a bell rings" });
    await p.getByRole("button", { name: "Generate", exact: true }).click();
    const compare = p.locator('[data-testid="compare"]');
    await compare.waitFor({ timeout: 180_000 });
    await expect.poll(() => compare.locator("figure.run-col").count()).toBe(2);
    const seconds = await page.evaluate(() => {
      const s = window.__studio!.store.getState().studio;
      return s.results[s.tasks.i2a.resultId!]!.durationS;
    });
    const webm = await download(
      page,
      () => compare.locator('button[data-export="webm"]').click(),
      "i2a.webm",
    );
    const probe = ffprobe(webm);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual([
      "audio:opus",
      "video:vp8",
    ]);
    // the audio's length, give or take an Opus frame (the loop used to overshoot by a whole 4-fps frame)
    expect(Math.abs(Number(probe.format.duration) - seconds)).toBeLessThanOrEqual(0.02);
    const wav = await download(page, () => compare.locator('button[data-export="wav"]').click(), "i2a.wav");
    const audio = ffprobe(wav);
    expect(audio.streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(["audio:pcm_s16le"]);
    expect(Math.abs(Number(audio.format.duration) - seconds)).toBeLessThan(1e-3);
  });

  it("A2V at the smallest shapes: frame-strip previews, both runs' frames and scores, MP4 with the input audio", {
    timeout: 240_000,
  }, async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    const wav = join(dir, "beeps.wav");
    ffmpeg(...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2", "-ac", "1", wav]);
    await page.keyboard.press("Alt+3");
    const p = panel(page, "a2v");
    await p.locator('input[data-input="a2v-file"]').setInputFiles(wav);
    await p.locator('.input-facts[data-status="ready"]').waitFor({ timeout: 60_000 });
    // the smallest video the bundled pack allows ImageBind to see motion in: 2 frames (one pair) at the VAE's
    // 8-px factor (1 latent pixel)
    await settings(page, "a2v", {
      Steps: "2",
      "Prompt (optional)": "a bell ringing",
      Frames: "2",
      "Width (px)": "8",
      "Height (px)": "8",
    });
    const frames = Number(await p.getByLabel("Frames", { exact: true }).inputValue());
    const fps = Number(await p.getByLabel("Frame rate (fps)", { exact: true }).inputValue());
    await p.getByRole("button", { name: "Generate", exact: true }).click();
    await p.locator('figure.preview[data-kind="frames"]').first().waitFor({ timeout: 180_000 });
    const compare = p.locator('[data-testid="compare"]');
    await compare.waitFor({ timeout: 180_000 });
    await expect.poll(() => compare.locator("figure.run-col canvas.frame-strip").count()).toBe(2);
    const cells = await compare.locator('tr[data-metric="VT-align_bind"] td').allTextContents();
    expect(cells.slice(0, 2).every((c) => /^-?\d+\.\d{4}$/.test(c))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "studio-a2v-compare-1280.png"), fullPage: true });

    const mp4 = await download(page, () => compare.locator('button[data-export="mp4"]').click(), "a2v.mp4");
    const probe = ffprobe(mp4);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual([
      "audio:aac",
      "video:h264",
    ]);
    expect(probe.streams.find((s) => s.codec_type === "video")).toMatchObject({ width: 8, height: 8 });
    expect(Math.abs(Number(probe.format.duration) - frames / fps)).toBeLessThan(1 / fps + 1024 / 16000);
  });

  it("cancel mid-run: the job ends cancelled, the UI stays usable and the earlier result is intact", {
    timeout: 180_000,
  }, async () => {
    const { page } = session.studio;
    const p = panel(page, "a2v");
    const before = await page.evaluate(() => window.__studio!.store.getState().studio.tasks.a2v.resultId);
    expect(before).not.toBeNull();
    // long enough that the cancel lands mid-run: at the 2-frame 8×8 shapes of the test above a step takes
    // ≈ 0.1 s here, and a 50-step run could end (5 s) before the click did
    await p.getByLabel("Steps", { exact: true }).fill("500");
    await p.getByRole("button", { name: "Generate", exact: true }).click();
    await p.locator('[data-testid="step"]').waitFor({ timeout: 120_000 });
    await p.getByRole("button", { name: "Cancel run" }).click();
    await p.locator('.progress[data-status="cancelled"]').waitFor({ timeout: 60_000 });
    // the job list says so too
    await page.keyboard.press("Alt+6");
    await page.locator('li[data-job="generate"][data-status="cancelled"]').first().waitFor();
    // responsive: the keyboard still switches tabs, the earlier result is still shown, and a new run starts
    await page.keyboard.press("Alt+3");
    expect(await p.locator('[data-testid="compare"]').getAttribute("data-result")).toBe(before);
    await expect.poll(() => p.locator("figure.run-col canvas.frame-strip").count()).toBe(2);
    // the earlier result's settings re-run from its compare view: a new result with the same knobs
    await p.getByRole("button", { name: "Re-run these settings" }).click();
    await p.locator('.progress[data-status="done"]').waitFor({ timeout: 120_000 });
    const after = await page.evaluate(() => {
      const s = window.__studio!.store.getState().studio;
      const id = s.tasks.a2v.resultId!;
      return { id, steps: s.results[id]!.settings.steps };
    });
    expect(after.id).not.toBe(before);
    expect(after.steps).toBe("2");
  });

  it("V2A demo: 'Load demo clip' makes the world clip, previews it, fills the prompt, and a run starts", {
    timeout: 300_000,
  }, async () => {
    const { page } = session.studio;
    expect(await probed(page)).toBe("ready");
    await page.keyboard.press("Alt+1");
    const p = panel(page, "v2a");
    await p.getByRole("button", { name: "Load demo clip" }).click();
    // the first mux loads ffmpeg.wasm in the media worker: tens of seconds on a loaded 2-core box
    await p.locator('.demo-panel[data-status="ready"]').waitFor({ timeout: 150_000 });
    // in the input slot as a picked file: decoded facts, the preview the browser plays, the prompt filled in
    const facts = p.locator('.input-facts[data-status="ready"]');
    await expect
      .poll(() => facts.locator("p").first().textContent())
      .toMatch(/^v2a-blue-drum\.mp4 .*64×64 · 8 fps · 16 frames · 2\.00 s · decoded by WebCodecs$/);
    const preview = p.getByLabel("The picked video, v2a-blue-drum.mp4");
    await expect
      .poll(() => preview.evaluate((v) => (v as HTMLVideoElement).readyState), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
    expect(await preview.evaluate((v) => (v as HTMLVideoElement).duration)).toBeCloseTo(2, 1);
    expect(await p.getByLabel("Prompt (optional)", { exact: true }).inputValue()).toBe("a blue drum");
    // what the evaluation measured for V2A on the bundled pack, beside the preset (engine/world/demo-eval.json)
    const measured = p.getByTestId("demo-eval");
    expect(await measured.locator("summary").textContent()).toMatch(
      /^Measured on \d{3,} held-out world pairs with the bundled pack: AV-align \d\.\d{3} → \d\.\d{3}, Δ [+−±]\d\.\d{3} \[/,
    );
    await measured.locator("summary").click();
    const rows = await measured.locator("tbody th").allTextContents();
    expect(rows.slice(0, 2)).toEqual(["AV-align ↑", "FD ↓"]);
    expect(await measured.locator("tbody td[data-verdict]").count()).toBe(rows.length);
    // the clip is made on the main thread: how long it took (User Timing, studio/demo.ts)
    const ms = await page.evaluate(() =>
      performance.getEntriesByName("studio:demo-media").map((e) => Math.round(e.duration)),
    );
    console.info(`demo clip made on the main thread in ${ms.join(", ")} ms`);
    expect(ms.at(-1)).toBeLessThan(1000);
    // a run starts on it with the demo's prompt; cancelled at its first step to keep the test short. Enough
    // steps that the run is still going when the click lands (with a warm engine 2 steps finished first)
    await settings(page, "v2a", { Steps: "40" });
    await p.getByRole("button", { name: "Generate", exact: true }).click();
    await p.locator('[data-testid="step"]').waitFor({ timeout: 120_000 });
    expect(await p.getByTestId("prompt-used").textContent()).toBe("a blue drum");
    await p.getByRole("button", { name: "Cancel run" }).click();
    // a step in flight finishes first (ORT cannot stop a kernel); the guidance session build no longer blocks it
    await p.locator('.progress[data-status="cancelled"]').waitFor({ timeout: 60_000 });
  });

  it("every control is labelled, reached with Tab and shows a focus outline (task tabs with their results, gallery)", async () => {
    const { page } = session.studio;
    const views = [
      ["Alt+1", 'section.task[data-task="v2a"]'],
      ["Alt+2", 'section.task[data-task="i2a"]'],
      ["Alt+3", 'section.task[data-task="a2v"]'],
      ["Alt+4", 'section.task[data-task="joint"]'],
      ["Alt+7", '[data-testid="gallery"]'],
    ] as const;
    for (const [key, selector] of views) {
      await page.keyboard.press(key);
      // every folded part open (the advanced settings, the demo's measured table), so all of it is checked
      for (const details of await page.locator(`${selector} details`).all())
        if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open)))
          await details.locator("summary").click();
      const audit = await auditRegion(page, selector);
      expect(audit.controls, selector).toBeGreaterThan(0);
      expect({
        selector,
        unnamed: audit.unnamed,
        unreached: audit.unreached,
        noOutline: audit.noOutline,
      }).toEqual({
        selector,
        unnamed: [],
        unreached: [],
        noOutline: [],
      });
    }
  });

  it("is laid out for 1280×800 and for a 480-px-wide window without horizontal overflow (every view)", async () => {
    const { page } = session.studio;
    const views = ["v2a", "i2a", "a2v", "joint", "models", "system", "gallery"];
    for (const [width, height] of [
      [1280, 800],
      [480, 900],
    ] as const) {
      await page.setViewportSize({ width, height });
      for (const [k, view] of views.entries()) {
        await page.keyboard.press(`Alt+${k + 1}`);
        await page.locator("main").waitFor();
        expect({ view, width, overflow: await overflowX(page) }).toEqual({ view, width, overflow: 0 });
        await page.screenshot({ path: join(ARTIFACTS, `studio-${view}-${width}.png`), fullPage: true });
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
