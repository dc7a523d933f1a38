/** The studio shell: title, tabs, the selected panel, and a status bar. */
import { useEffect } from "react";
import { ModelsView } from "./components/ModelsView.js";
import { StatusBar } from "./components/StatusBar.js";
import { SystemView } from "./components/SystemView.js";
import { GalleryView } from "./components/studio/GalleryView.js";
import { panelId, TabList, tabId } from "./components/TabList.js";
import { TaskTab } from "./components/TaskTab.js";
import { useDispatch, useStudio } from "./context.js";
import { type TabId, tabs, tasks } from "./tabs.js";

function Panel({ id }: { id: TabId }) {
  const tab = tabs.find((t) => t.id === id)!;
  if (tab.kind === "models") return <ModelsView />;
  if (tab.kind === "system") return <SystemView />;
  if (tab.kind === "gallery") return <GalleryView />;
  // keyed: each task gets its own component state (open sections, trim slider) instead of reusing another tab's
  return <TaskTab key={tab.id} task={tasks[tab.id]} />;
}

export function App({ onKey }: { onKey: (e: KeyboardEvent) => boolean }) {
  const tab = useStudio((s) => s.tab);
  const dispatch = useDispatch();
  useEffect(() => {
    const handler = (e: KeyboardEvent) => {
      if (onKey(e)) e.preventDefault();
    };
    window.addEventListener("keydown", handler);
    return () => window.removeEventListener("keydown", handler);
  }, [onKey]);
  return (
    <div className="app">
      <header className="app-header">
        <h1>
          Seeing <span aria-hidden="true">&amp;</span>
          <span className="sr-only">and</span> Hearing <small>studio</small>
        </h1>
        <p className="tagline">Open-domain visual–audio generation, in your browser.</p>
      </header>
      <nav>
        <TabList selected={tab} onSelect={(id) => dispatch(`tab.${id}`)} />
      </nav>
      <main>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: WAI-ARIA tabs pattern: the tabpanel is focusable so Tab moves from the tablist into the panel */}
        <div id={panelId(tab)} role="tabpanel" aria-labelledby={tabId(tab)} tabIndex={0} className="panel">
          <Panel id={tab} />
        </div>
      </main>
      <StatusBar />
    </div>
  );
}
