/**
 * One browser + studio page per test file: launched before the file's tests, closed after, with the checks
 * every file ends with (no request off the origin, no CSP violation or page error).
 */
import { afterAll, beforeAll, expect, inject } from "vitest";
import { type Browser, foreignRequests, launchBrowser, openStudio, type StudioPage } from "./browser.js";

export interface Session {
  readonly baseURL: string;
  readonly origin: string;
  readonly browser: Browser;
  readonly studio: StudioPage;
  /** Asserts that every request stayed on the origin and nothing violated the CSP or threw on the page. */
  expectClean(): void;
}

export function studioSession(
  opts: { webgpu?: boolean; query?: string; args?: readonly string[] } = {},
): Session {
  const baseURL = inject("baseURL");
  const origin = new URL(baseURL).origin;
  let browser: Browser | null = null;
  let studio: StudioPage | null = null;
  beforeAll(async () => {
    browser = await launchBrowser({ webgpu: opts.webgpu ?? true, args: opts.args });
    studio = await openStudio(browser, `${baseURL}${opts.query ?? ""}`);
  });
  afterAll(async () => {
    await browser?.close();
  });
  const session: Session = {
    baseURL,
    origin,
    get browser() {
      if (!browser) throw new Error("the browser is not launched yet");
      return browser;
    },
    get studio() {
      if (!studio) throw new Error("the studio is not open yet");
      return studio;
    },
    expectClean() {
      expect(foreignRequests(session.browser.requests, origin)).toEqual([]);
      expect(session.studio.problems.filter((p) => /CSP violation|pageerror/.test(p))).toEqual([]);
    },
  };
  return session;
}
