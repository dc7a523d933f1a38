/**
 * node tools/run.mjs bench/summarize.ts bench/results/<date>-<host>.json
 *
 * Re-renders the markdown summary of a bench run from its JSON (e.g. after the summary code changed), writing
 * the .md next to it and printing it. Numbers are never recomputed: only what the JSON holds is shown.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { BenchResults } from "./lib/results.js";
import { writeSummary } from "./lib/summary.js";

const file = process.argv[2];
if (!file?.endsWith(".json")) {
  console.error("usage: node tools/run.mjs bench/summarize.ts <results .json>");
  process.exit(2);
}
const results = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
if (!results.meta || !Array.isArray(results.components))
  throw new TypeError(`${file} is not a bench results file (no meta / components)`);
const md = writeSummary(results);
writeFileSync(file.replace(/\.json$/, ".md"), md);
console.log(md);
