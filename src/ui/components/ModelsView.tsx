/** Model packs. Until pack management lands this lists what each task needs and where packs will live. */
import { tasks } from "../tabs.js";

export function ModelsView() {
  const needed = [...new Set(Object.values(tasks).flatMap((t) => t.models))];
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <p>
        The studio runs on model packs served from this site (<code>/models/</code>). No pack is installed in
        this build yet.
      </p>
      <h3>Networks the tasks use</h3>
      <ul className="chips">
        {needed.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </section>
  );
}
