/**
 * A keyboard and labelling audit of one region of the studio, run in the page: every visible, enabled control
 * has an accessible name (aria-label, aria-labelledby, a <label>, its text, or alt/title), Tab reaches every one
 * of them (a radio group is one stop), and each shows a focus outline when reached from the keyboard.
 */
import type { Page } from "playwright-core";

export interface A11yAudit {
  controls: number;
  unnamed: string[];
  unreached: string[];
  noOutline: string[];
}

const CONTROLS = "input, select, textarea, button, summary, a[href], [tabindex]:not([tabindex='-1'])";

export async function auditRegion(page: Page, selector: string, maxTabs = 200): Promise<A11yAudit> {
  // tag each control with an id the Tab walk reports, and list the nameless ones
  const found = await page.evaluate(
    ([selector, CONTROLS]) => {
      const root = document.querySelector(selector);
      if (!root) throw new Error(`no element matches ${selector}`);
      const text = (el: Element | null) => (el?.textContent ?? "").replace(/\s+/g, " ").trim();
      const nameOf = (el: HTMLElement): string => {
        const aria = el.getAttribute("aria-label");
        if (aria?.trim()) return aria.trim();
        const by = el.getAttribute("aria-labelledby");
        if (by)
          return by
            .split(/\s+/)
            .map((id) => text(document.getElementById(id)))
            .join(" ")
            .trim();
        const labels = (el as HTMLInputElement).labels;
        if (labels?.length) return [...labels].map(text).join(" ").trim();
        if (el instanceof HTMLButtonElement || el.tagName === "SUMMARY" || el.tagName === "A")
          return text(el) || (el.getAttribute("title") ?? "");
        return el.getAttribute("title") ?? "";
      };
      // checkVisibility: a closed <details> hides its content with content-visibility, which client rects miss
      const visible = (el: HTMLElement) =>
        el.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true });
      const controls = [...root.querySelectorAll<HTMLElement>(CONTROLS)].filter(
        (el) => visible(el) && !(el as HTMLInputElement).disabled && !el.closest("fieldset:disabled"),
      );
      const keys: string[] = [];
      const unnamed: string[] = [];
      const seenRadio = new Set<string>();
      controls.forEach((el, i) => {
        const radio = el instanceof HTMLInputElement && el.type === "radio";
        const key = radio ? `radio:${el.name}` : `c${i}`;
        el.dataset.a11y = key;
        const label = `${el.tagName.toLowerCase()}${radio ? `[name=${el.name}]` : ""} "${nameOf(el)}"`;
        if (!nameOf(el)) unnamed.push(label.replace(' ""', ` #${i} ${el.outerHTML.slice(0, 120)}`));
        if (radio && seenRadio.has(key)) return;
        seenRadio.add(key);
        keys.push(key);
      });
      return { keys, unnamed };
    },
    [selector, CONTROLS] as const,
  );
  // walk with Tab from the control before the region's first one until focus leaves the region
  await page.evaluate((selector) => {
    const first = document.querySelector<HTMLElement>(`${selector} [data-a11y]`);
    first?.focus();
  }, selector);
  await page.keyboard.press("Shift+Tab");
  const reached = new Set<string>();
  const noOutline: string[] = [];
  for (let k = 0; k < maxTabs; k++) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate((selector) => {
      const el = document.activeElement as HTMLElement | null;
      if (!el?.closest(selector)) return { inside: false, key: null, outline: true };
      const s = getComputedStyle(el);
      // <audio controls>/<video controls>: focus is on the browser's own buttons inside the element, which draw
      // their own focus ring (not the host's outline)
      const native = el instanceof HTMLMediaElement && el.controls;
      const outline = native || (s.outlineStyle !== "none" && Number.parseFloat(s.outlineWidth) > 0);
      return {
        inside: true,
        key: el.dataset.a11y ?? null,
        outline,
        what: `${el.tagName.toLowerCase()} ${el.getAttribute("aria-label") ?? el.textContent?.slice(0, 30) ?? ""}`,
      };
    }, selector);
    if (!at.inside) {
      if (reached.size > 0) break;
      continue;
    }
    if (at.key) reached.add(at.key);
    if (!at.outline) noOutline.push(at.what ?? "?");
  }
  return {
    controls: found.keys.length,
    unnamed: found.unnamed,
    unreached: await page.evaluate(
      ([selector, keys]) =>
        keys.map((k) => {
          const el = document.querySelector<HTMLElement>(`${selector} [data-a11y="${k}"]`);
          return `${el?.tagName.toLowerCase()} ${el?.getAttribute("name") ?? el?.textContent?.trim().slice(0, 40) ?? ""}`;
        }),
      [selector, found.keys.filter((k) => !reached.has(k))] as const,
    ),
    noOutline,
  };
}
