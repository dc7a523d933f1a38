/** Model packs: the networks each task uses, and the packs installed in this browser (PacksPanel). */
import { tasks } from "../tabs.js";
import { PacksPanel } from "./PacksPanel.js";

export function ModelsView() {
  const needed = [...new Set(Object.values(tasks).flatMap((t) => t.models))];
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <p>
        The studio runs on model packs: verified weights cached in this browser, usable offline. The bundled
        pack is served from this site (<code>/models/default/</code>); converted packs are made here from
        upstream files.
      </p>
      <h3>Networks the tasks use</h3>
      <ul className="chips">
        {needed.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
      <PacksPanel />
    </section>
  );
}
