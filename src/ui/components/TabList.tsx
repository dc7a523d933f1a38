/**
 * WAI-ARIA tabs with a roving tabindex: only the selected tab is in the Tab order; ←/→ move between tabs
 * (wrapping) and select them, Home/End jump to the ends.
 */
import { type KeyboardEvent, useEffect, useRef } from "react";
import { type TabId, tabs } from "../tabs.js";

export const tabId = (id: TabId) => `tab-${id}`;
export const panelId = (id: TabId) => `panel-${id}`;

export function TabList({ selected, onSelect }: { selected: TabId; onSelect: (id: TabId) => void }) {
  const refs = useRef(new Map<TabId, HTMLButtonElement>());
  // A shortcut (Alt+digit) can change the selection while another tab has focus: keep focus on the selected tab.
  useEffect(() => {
    const focused = document.activeElement;
    if (focused instanceof HTMLElement && focused.getAttribute("role") === "tab")
      refs.current.get(selected)?.focus();
  }, [selected]);
  const move = (e: KeyboardEvent, index: number) => {
    const last = tabs.length - 1;
    const to = {
      ArrowRight: index === last ? 0 : index + 1,
      ArrowLeft: index === 0 ? last : index - 1,
      Home: 0,
      End: last,
    }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const id = tabs[to]!.id;
    onSelect(id);
    refs.current.get(id)?.focus();
  };
  return (
    <div role="tablist" aria-label="Studio sections" className="tablist">
      {tabs.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => {
            if (el) refs.current.set(t.id, el);
            else refs.current.delete(t.id);
          }}
          type="button"
          role="tab"
          id={tabId(t.id)}
          aria-selected={t.id === selected}
          aria-controls={panelId(t.id)}
          tabIndex={t.id === selected ? 0 : -1}
          className="tab"
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => move(e, i)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
