/**
 * Browser factories for the two workers. The `new Worker(new URL(...), { type: "module" })` calls must stay
 * literal: that is the pattern Vite recognises to bundle a worker.
 */
import type { WorkerFactory, WorkerPort, WorkerPortHandlers } from "./client.js";

function wrap(worker: Worker, h: WorkerPortHandlers): WorkerPort {
  worker.addEventListener("message", (e) => h.message(e.data));
  worker.addEventListener("error", (e) => {
    e.preventDefault();
    h.error(e.message || "the worker script failed to load or threw an uncaught error");
  });
  worker.addEventListener("messageerror", () => h.error("a message from the worker could not be decoded"));
  return { post: (m, transfer) => worker.postMessage(m, transfer), terminate: () => worker.terminate() };
}

export const engineWorker: WorkerFactory = (h) =>
  wrap(new Worker(new URL("./engine.worker.ts", import.meta.url), { type: "module", name: "engine" }), h);

export const mediaWorker: WorkerFactory = (h) =>
  wrap(new Worker(new URL("./media.worker.ts", import.meta.url), { type: "module", name: "media" }), h);
