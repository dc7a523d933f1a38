/**
 * Launches Debian's Chromium through playwright-core with a fresh profile, and opens the studio while
 * recording every request (page, workers, nested workers), console errors and CSP violations.
 * Headless WebGPU here is SwiftShader: correct but slow, so tests use tiny shapes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const BASE_FLAGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export interface Browser {
  context: BrowserContext;
  /** Every request URL any page or worker of this browser made. */
  requests: string[];
  close(): Promise<void>;
}

export async function launchBrowser(
  opts: { webgpu?: boolean; args?: readonly string[] } = {},
): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "studio-e2e-profile-"));
  const args = [
    ...BASE_FLAGS,
    ...(opts.webgpu === false ? [] : ["--enable-unsafe-webgpu"]),
    ...(opts.args ?? []),
  ];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args,
    viewport: { width: 1280, height: 800 },
  });
  const requests: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  return {
    context,
    requests,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface StudioPage {
  page: Page;
  /** Console errors and CSP violations seen so far. */
  problems: string[];
}

/** Opens the studio and waits until the shell has rendered. */
export async function openStudio(browser: Browser, url: string): Promise<StudioPage> {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(url);
  await page.getByRole("tablist").waitFor();
  return { page, problems };
}

/** Requests whose origin differs from `origin` (data: and blob: URLs stay inside the page). */
export function foreignRequests(requests: readonly string[], origin: string): string[] {
  return requests.filter(
    (u) => !u.startsWith("data:") && !u.startsWith("blob:") && new URL(u).origin !== origin,
  );
}
