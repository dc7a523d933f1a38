/**
 * tools/run.mjs as the tools use it: it re-runs itself with glibc's mmap threshold fixed (see there), passes a
 * SIGTERM on to the process doing the work, and keeps its exit status.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../test/support/golden.js";

const run = promisify(execFile);
let entry = "";

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "run-mjs-"));
  entry = join(dir, "probe.ts");
  // prints what the running process sees; waits for a signal with --wait; exits with --exit N. The SIGTERM handler
  // is installed before the line that tells the test it may send the signal (a signal arriving between the two
  // would meet the default action and kill the probe: this raced under a loaded CI)
  await writeFile(
    entry,
    `const a = process.argv.slice(2);
const code: number = a.includes("--exit") ? Number(a[a.indexOf("--exit") + 1]) : 0;
if (a.includes("--wait")) {
  process.on("SIGTERM", () => { console.log("SIGTERM"); process.exit(7); });
  setInterval(() => {}, 1000);
}
console.log(JSON.stringify({ mmap: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, pid: process.pid, ppid: process.ppid, args: a }));
if (!a.includes("--wait")) process.exit(code);
`,
  );
});

const probe = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
  const r = await run("node", ["tools/run.mjs", entry, ...args], { cwd: repoRoot, env, timeout: 60_000 });
  return JSON.parse(r.stdout.trim().split("\n")[0]!) as {
    mmap: string | null;
    pid: number;
    ppid: number;
    args: string[];
  };
};

describe.skipIf(process.platform !== "linux")("tools/run.mjs", () => {
  it("runs the entry with MALLOC_MMAP_THRESHOLD_=1048576 in a child, with its arguments", async () => {
    const { MALLOC_MMAP_THRESHOLD_: _, STUDIO_MALLOC: __, ...env } = process.env;
    const p = await probe(env, "--x", "1");
    expect(p.mmap).toBe("1048576");
    expect(p.args).toEqual(["--x", "1"]);
  });

  it("leaves the environment alone when the variable is set or STUDIO_MALLOC=default", async () => {
    const { MALLOC_MMAP_THRESHOLD_: _, ...env } = process.env;
    expect((await probe({ ...env, STUDIO_MALLOC: "default" })).mmap).toBeNull();
    expect((await probe({ ...env, MALLOC_MMAP_THRESHOLD_: "65536" })).mmap).toBe("65536");
  });

  it("keeps the entry's exit status", async () => {
    const { MALLOC_MMAP_THRESHOLD_: _, ...env } = process.env;
    await expect(probe(env, "--exit", "3")).rejects.toMatchObject({ code: 3 });
  });

  it("passes a SIGTERM sent to it on to the entry, and exits with the entry's status", async () => {
    const { MALLOC_MMAP_THRESHOLD_: _, STUDIO_MALLOC: __, ...env } = process.env;
    const p = spawn("node", ["tools/run.mjs", entry, "--wait"], { cwd: repoRoot, env });
    let out = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (out.includes("\n")) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    const seen = JSON.parse(out.split("\n")[0]!) as { pid: number; ppid: number };
    expect(seen.ppid).toBe(p.pid); // the work runs in a child of the process the caller started
    p.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => p.on("exit", (c) => resolve(c)));
    expect(out).toContain("SIGTERM");
    expect(code).toBe(7);
  });
});
