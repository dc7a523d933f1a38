/**
 * Issue 11 item 3, GPU device lost, the protocol half (the browser half, with a real `device.destroy()` on
 * SwiftShader, is e2e/reliability.e2e.ts): the worker host fails the running and queued jobs with
 * DeviceLostError at once — even when the running job never returns, as one waiting on a dead device may not —
 * then asks for a restart; the client replaces the worker and the next job runs on the new one.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DeviceLostError } from "../../src/engine/errors.js";
import { deviceLostError } from "../../src/engine/runtime/runtime.js";
import { selftestSlow } from "../../src/engine/runtime/selftest/slow.js";
import { WorkerClient, type WorkerFactory } from "../../src/workers/client.js";
import { type Host, hostJobs, type JobHandlers } from "../../src/workers/host.js";
import type { FromWorker } from "../../src/workers/protocol.js";

const never = () => new Promise<never>(() => {});

/** In-process workers (structured-cloned messages); `hosts[i]` is the i-th worker started. */
function workers(handlers: (n: number) => Partial<JobHandlers<"engine">>) {
  const hosts: Host[] = [];
  const factory: WorkerFactory = (client) => {
    let toHost: ((d: unknown) => void) | null = null;
    let dead = false;
    const host = hostJobs(
      {
        postMessage: (m: FromWorker, transfer) => {
          const copy = structuredClone(m, { transfer });
          setTimeout(() => !dead && client.message(copy), 0);
        },
        onMessage: (h) => {
          toHost = h;
        },
        onUnhandled: () => {},
      },
      "engine",
      handlers(hosts.length) as JobHandlers<"engine">,
      { heartbeatMs: 50 },
    );
    hosts.push(host);
    return {
      post: (m) => {
        const copy = structuredClone(m);
        setTimeout(() => !dead && toHost?.(copy), 0);
      },
      terminate: () => {
        dead = true;
        host.stop();
      },
    };
  };
  return { factory, hosts };
}

let client: WorkerClient<"engine"> | null = null;
afterEach(() => client?.dispose());

describe("GPU device lost (worker host and client)", () => {
  it("fails the running and queued jobs with DeviceLostError, restarts the worker, and the next job runs", async () => {
    let cancelledBy: AbortSignal | null = null;
    const { factory, hosts } = workers((n) => ({
      // the first worker's job hangs on its "device"; the replacement's jobs run normally
      "selftest-slow":
        n === 0
          ? (_p, ctx) => {
              cancelledBy = ctx.signal;
              return never();
            }
          : (p, ctx) => selftestSlow(p, ctx),
    }));
    const restarts: number[] = [];
    client = new WorkerClient("engine", factory, { onStatus: (s) => restarts.push(s.restarts) });
    const running = client.run("selftest-slow", { iterations: 1, delayMs: 0 });
    const queued = client.run("selftest-slow", { iterations: 2, delayMs: 0 });
    await new Promise((r) => setTimeout(r, 20)); // both reached the worker; the first is running
    const err = deviceLostError({ reason: "destroyed", message: "Device was destroyed." });
    hosts[0]!.failAll(err);
    hosts[0]!.restart(err.message);

    for (const job of [running, queued]) {
      const e = await job.result.then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(DeviceLostError);
      expect((e as DeviceLostError).code).toBe("DEVICE_LOST");
      expect((e as Error).message).toMatch(/GPU device was lost \(destroyed: Device was destroyed\.\)/);
      expect((e as Error).message).toMatch(/run the job again/);
    }
    expect(cancelledBy!.aborted, "the hung job's signal was aborted").toBe(true);
    await expect.poll(() => hosts.length).toBe(2);
    expect(client.status.restarts).toBe(1);
    expect(client.status.lastCrash).toMatch(/GPU device was lost/);
    expect(await client.run("selftest-slow", { iterations: 3, delayMs: 0 }).result).toEqual({ completed: 3 });
    expect(Math.max(...restarts)).toBe(1);
  });

  it("a job that ends after failAll posts nothing more (no second answer for its id)", async () => {
    const posted: FromWorker[] = [];
    let send: (d: unknown) => void = () => {};
    let finish: () => void = () => {};
    const host = hostJobs(
      { postMessage: (m) => posted.push(m), onMessage: (h) => (send = h), onUnhandled: () => {} },
      "engine",
      {
        "selftest-slow": () =>
          new Promise((resolve) => {
            finish = () => resolve({ completed: 1 });
          }),
      } as unknown as JobHandlers<"engine">,
      { heartbeatMs: 60_000 },
    );
    send({ kind: "run", id: "a", job: "selftest-slow", params: { iterations: 1, delayMs: 0 } });
    host.failAll(deviceLostError({ reason: "unknown", message: "" }));
    finish();
    await new Promise((r) => setTimeout(r, 10));
    host.stop();
    const answers = posted.filter((m) => (m.kind === "error" || m.kind === "result") && m.id === "a");
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({
      kind: "error",
      error: { code: "DEVICE_LOST", name: "DeviceLostError" },
    });
    expect((answers[0] as { error: { message: string } }).error.message).toMatch(
      /GPU device was lost \(unknown\)/,
    );
  });
});
