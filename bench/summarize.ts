/**
 * node tools/run.mjs bench/summarize.ts <run.json> [<more.json> ... --out <merged.json>]
 *
 * Re-renders the markdown summary of a bench run from its JSON (e.g. after the summary code changed), writing
 * the .md next to it and printing it. With several files (runs of `--only <sections>` on the same machine, e.g.
 * sections a loaded box could not fit in one budget), the later runs' sections are merged into the first and
 * written to --out (+ .md); the merged file's notes say which sections came from which run. Numbers are never
 * recomputed: only what the JSONs hold is shown.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { BenchResults } from "./lib/results.js";
import { writeSummary } from "./lib/summary.js";

const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? args[outAt + 1] : undefined;
const files = args.filter((a, i) => a.endsWith(".json") && !(outAt >= 0 && i === outAt + 1));
if (!files.length || (files.length > 1 && !out?.endsWith(".json"))) {
  console.error(
    "usage: node tools/run.mjs bench/summarize.ts <results .json> [<more .json> ... --out <merged .json>]",
  );
  process.exit(2);
}

function read(file: string): BenchResults {
  const r = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
  if (!r.meta || !Array.isArray(r.components))
    throw new TypeError(`${file} is not a bench results file (no meta / components)`);
  return r;
}

const base = read(files[0]);
for (const file of files.slice(1)) {
  const r = read(file);
  if (
    r.meta.host !== base.meta.host ||
    r.meta.quick !== base.meta.quick ||
    r.meta.threads !== base.meta.threads
  )
    throw new RangeError(
      `${file}: host/quick/threads (${r.meta.host}/${r.meta.quick}/${r.meta.threads}) differ from ${files[0]}`,
    );
  const sections = new Set<string>([
    ...r.components.map((c) => c.section),
    ...(r.guidance.length ? ["guidance"] : []),
    ...(r.memory ? ["memory"] : []),
    ...(r.browser ? ["browser"] : []),
  ]);
  base.components.push(...r.components);
  base.guidance.push(...r.guidance);
  if (r.memory) base.memory = r.memory;
  if (r.browser) base.browser = r.browser;
  if (r.peer && (!base.peer || base.peer.skipped === "peer section deselected")) base.peer = r.peer;
  base.skipped = base.skipped.filter((s) => !sections.has(s.section.split(":")[0]));
  base.skipped.push(...r.skipped.filter((s) => !base.skipped.some((b) => b.section === s.section)));
  base.notes.push(
    ...r.notes,
    `sections ${[...sections].join(", ")} come from another invocation (${r.meta.args.join(" ")}) at ${r.meta.date.slice(11, 16)} UTC on the same machine, load ${r.meta.loadStart.join("/")}; their eff. uses the first run's calibration`,
  );
  base.meta.durationS += r.meta.durationS;
  base.meta.loadEnd = r.meta.loadEnd;
}
const target = out ?? files[0];
if (out) writeFileSync(out, `${JSON.stringify(base, null, 1)}\n`);
const md = writeSummary(base);
writeFileSync(target.replace(/\.json$/, ".md"), md);
console.log(md);
