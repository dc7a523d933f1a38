/** Adapts a dedicated worker's global scope to the host's `WorkerScope`, and names the /vendor/ asset URLs. */
import type { WorkerScope } from "./host.js";

declare const self: DedicatedWorkerGlobalScope;

export function dedicatedWorkerScope(): WorkerScope {
  return {
    postMessage: (message, transfer) => self.postMessage(message, { transfer }),
    onMessage: (handler) => self.addEventListener("message", (e: MessageEvent) => handler(e.data)),
    onUnhandled: (handler) =>
      self.addEventListener("unhandledrejection", (e: PromiseRejectionEvent) => {
        e.preventDefault();
        handler(e.reason);
      }),
  };
}

/** Same-origin prefix of the runtime files vite.config.ts serves under /vendor/ (ends with "/"). */
export function vendorUrl(): string {
  return new URL(`${import.meta.env.BASE_URL}vendor/`, self.location.origin).href;
}

/** Ends this worker without telling anyone (the crash self-test). */
export function closeSelf(): void {
  self.close();
}
