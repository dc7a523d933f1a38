/**
 * Loss curves of the training jobs as markdown (for docs/training.md): per job, the mean loss (and its parts)
 * over 10 equal windows of steps, a sparkline, seconds per step and total time.
 *
 *   node tools/run.mjs tools/train/report.ts [--root .cache/train] [--out FILE]
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { flags } from "./lib/env.js";

interface Line {
  step: number;
  loss: number;
  ms: number;
  [k: string]: number;
}

const f = flags();
const root = f.str("root", ".cache/train");
const BARS = "▁▂▃▄▅▆▇█";

async function jobDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    // earlier smoke runs, data caches and built packs are not jobs of this run
    if (!e.isDirectory() || /^(smoke|data$|pack$)/.test(e.name)) continue;
    const p = join(dir, e.name);
    if (
      await readFile(join(p, "log.jsonl")).then(
        () => true,
        () => false,
      )
    )
      out.push(p);
    else out.push(...(await jobDirs(p)));
  }
  return out.sort();
}

const sections: string[] = [];
for (const dir of await jobDirs(root)) {
  const lines = (await readFile(join(dir, "log.jsonl"), "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
  if (!lines.length) continue;
  const keys = Object.keys(lines[0]).filter((k) => !["step", "gradNorm", "lr", "ms", "batchMs"].includes(k));
  const windows = Math.min(10, lines.length);
  const rows: string[] = [];
  const means: number[] = [];
  for (let w = 0; w < windows; w++) {
    const part = lines.slice(
      Math.floor((w * lines.length) / windows),
      Math.floor(((w + 1) * lines.length) / windows),
    );
    const avg = (k: string) => part.reduce((a, l) => a + l[k], 0) / part.length;
    means.push(avg("loss"));
    rows.push(
      `| ${part[0].step}–${part[part.length - 1].step} | ${keys.map((k) => avg(k).toPrecision(4)).join(" | ")} |`,
    );
  }
  const lo = Math.min(...means);
  const hi = Math.max(...means);
  const spark = means.map((m) => BARS[Math.round(((m - lo) / (hi - lo || 1)) * (BARS.length - 1))]).join("");
  const secs = lines.reduce((a, l) => a + l.ms, 0) / 1000;
  const done = await readFile(join(dir, "done.json"), "utf8").then(
    () => "finished",
    () => "not finished",
  );
  sections.push(
    [
      `#### ${dir.slice(root.length + 1)} (${lines.length} steps, ${done}; ${(secs / 60).toFixed(1)} min, ${(secs / lines.length).toFixed(2)} s/step)`,
      "",
      `loss ${spark}  ${means[0].toPrecision(4)} → ${means[means.length - 1].toPrecision(4)}`,
      "",
      `| steps | ${keys.join(" | ")} |`,
      `|---|${keys.map(() => "---").join("|")}|`,
      ...rows,
      "",
    ].join("\n"),
  );
}
const md = sections.join("\n");
const out = f.str("out", "");
if (out) await writeFile(out, `${md}\n`);
process.stdout.write(`${md}\n`);
