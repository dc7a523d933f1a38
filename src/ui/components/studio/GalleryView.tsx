/** The gallery: every saved result (IndexedDB), newest first — open it in its compare view, re-run it, delete it. */
import { useEffect } from "react";
import { useStudio, useStudioCommands } from "../../context.js";
import type { ResultMeta } from "../../studio/state.js";
import { tasks } from "../../tabs.js";

const when = (t: number) =>
  new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

function lossLine(e: ResultMeta): string {
  const v = e.runs.vanilla?.loss;
  const g = e.runs.guided?.loss;
  if (v !== undefined && g !== undefined) return `aligner loss ${v.toFixed(3)} → ${g.toFixed(3)}`;
  return g !== undefined ? `aligner loss ${g.toFixed(3)}` : "";
}

function Entry({ e }: { e: ResultMeta }) {
  const studio = useStudioCommands();
  return (
    <li className="gallery-entry" data-entry={e.id} data-task={e.task}>
      <div className="job-head">
        <strong>{e.title}</strong>
        <span className="muted">{when(e.createdAt)}</span>
      </div>
      <p className="muted">
        {tasks[e.task].title} · {e.durationS.toFixed(1)} s · seed {e.settings.seed} · {e.settings.steps} steps
        · pack {e.packId} · {lossLine(e)}
      </p>
      <div className="buttons">
        <button type="button" onClick={() => void studio.openEntry(e.id)} aria-label={`Compare ${e.title}`}>
          Compare
        </button>
        <button type="button" onClick={() => void studio.rerun(e.id)} aria-label={`Re-run ${e.title}`}>
          Re-run
        </button>
        <button
          type="button"
          className="danger"
          onClick={() => void studio.deleteEntry(e.id)}
          aria-label={`Delete ${e.title}`}
        >
          Delete
        </button>
      </div>
    </li>
  );
}

export function GalleryView() {
  const studio = useStudioCommands();
  const gallery = useStudio((s) => s.studio.gallery);
  useEffect(() => {
    void studio.loadGallery();
  }, [studio]);
  return (
    <section aria-labelledby="gallery-title" data-testid="gallery" data-status={gallery.status}>
      <h2 id="gallery-title">Gallery</h2>
      <p className="muted">Results are kept in this browser (IndexedDB) with their inputs and settings.</p>
      {gallery.error && (
        <p className="job-error" role="alert">
          {gallery.error}
        </p>
      )}
      {gallery.status === "ready" && gallery.entries.length === 0 && (
        <p>No results yet: generate something on a task tab.</p>
      )}
      <ul className="gallery">
        {gallery.entries.map((e) => (
          <Entry key={e.id} e={e} />
        ))}
      </ul>
    </section>
  );
}
