/** ImageBind scores (AT/AV/VT-align_bind), the aligner's loss on the output, and AV-align, per run with Δ. */
import type { ResultView, RunName } from "../../studio/state.js";

const ROWS: readonly { key: string; label: string; title: string; better: "up" | "down" }[] = [
  {
    key: "AT-align_bind",
    label: "AT-align (bind)",
    title: "cos(ImageBind audio, ImageBind text)",
    better: "up",
  },
  {
    key: "AV-align_bind",
    label: "AV-align (bind)",
    title: "cos(ImageBind audio, ImageBind vision)",
    better: "up",
  },
  {
    key: "VT-align_bind",
    label: "VT-align (bind)",
    title: "cos(ImageBind vision, ImageBind text); the same for both runs",
    better: "up",
  },
  {
    key: "loss",
    label: "Aligner loss",
    title: "Σ w·(1 − cos) on the final output: what the aligner minimises",
    better: "down",
  },
  {
    key: "av-align",
    label: "AV-align (onsets × flow)",
    title: "IoU of audio onsets and optical-flow peaks (approximate port)",
    better: "up",
  },
];

function value(r: ResultView, run: RunName, key: string): number | null | undefined {
  if (key === "loss") return r.runs[run]?.loss;
  if (key === "av-align") return r.avAlign?.status === "done" ? r.avAlign.byRun[run] : undefined;
  return r.runs[run]?.scores[key];
}

const fmt = (v: number | null | undefined) => (v === undefined ? "—" : v === null ? "n/a" : v.toFixed(4));

export function ScoresTable({ result }: { result: ResultView }) {
  const runs = (["vanilla", "guided"] as const).filter((n) => result.runs[n]);
  const both = runs.length === 2;
  const rows = ROWS.filter(
    (row) =>
      runs.some((n) => value(result, n, row.key) !== undefined) ||
      (row.key === "av-align" && result.avAlign?.status === "running"),
  );
  return (
    <div className="table-scroll">
      <table className="scores" data-testid="scores">
        <caption className="sr-only">Scores of each run</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {runs.map((n) => (
              <th key={n} scope="col">
                {n}
              </th>
            ))}
            {both && <th scope="col">Δ guided − vanilla</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const v = runs.map((n) => value(result, n, row.key));
            const [a, b] = v;
            const delta = both && typeof a === "number" && typeof b === "number" ? b - a : null;
            const good = delta !== null && (row.better === "up" ? delta > 0 : delta < 0);
            return (
              <tr key={row.key} data-metric={row.key}>
                <th scope="row" title={row.title}>
                  {row.label}
                </th>
                {v.map((x, k) => (
                  <td key={runs[k]}>
                    {row.key === "av-align" && result.avAlign?.status === "running" ? "computing…" : fmt(x)}
                  </td>
                ))}
                {both && (
                  <td className={delta === null || Math.abs(delta) < 1e-9 ? "" : good ? "better" : "worse"}>
                    {delta === null ? "—" : `${delta > 0 ? "+" : ""}${delta.toFixed(4)}`}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {result.avAlign?.status === "failed" && (
        <p className="muted">AV-align could not be computed: {result.avAlign.note}</p>
      )}
    </div>
  );
}
