/**
 * Registers the service worker (src/sw/; built apps only, not the dev server), asks it to cache the bundled pack once it is
 * active, and keeps what it reports in a tiny store that `OfflineStatus` renders: whether the app is available
 * with the network off (the worker controls this page, its shell precache is complete, the pack is cached).
 */
import { useSyncExternalStore } from "react";
import { isFromWorker, type SwStatus, type ToWorker } from "../sw/messages.js";

export type OfflineState =
  | { phase: "unsupported"; reason: string }
  | { phase: "registering" }
  | { phase: "error"; error: string }
  | {
      phase: "active";
      /** The worker controls this page (after the first activation it does, via clients.claim). */
      controlled: boolean;
      /** A newer build is installed and waits for this one's pages to close (or for `applyUpdate`). */
      updateWaiting: boolean;
      status: SwStatus | null;
    };

/** Defined by the service-worker build plugin (src/sw/build.ts): true in builds, false under the dev server. */
declare const __STUDIO_SW__: boolean | undefined;

let state: OfflineState = { phase: "registering" };
const listeners = new Set<() => void>();

function set(next: OfflineState): void {
  state = next;
  for (const l of listeners) l();
}

/** Whether everything needed to run with the network off is in place. */
export function isOfflineReady(s: OfflineState): boolean {
  return s.phase === "active" && s.controlled && s.status?.shell === true && s.status.pack.state === "cached";
}

export function useOfflineState(): OfflineState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}

function post(worker: ServiceWorker | null | undefined, msg: ToWorker): void {
  worker?.postMessage(msg);
}

function refresh(reg: ServiceWorkerRegistration, status: SwStatus | null = null): void {
  const prev = state.phase === "active" ? state.status : null;
  set({
    phase: "active",
    controlled: navigator.serviceWorker.controller !== null,
    updateWaiting: reg.waiting !== null && reg.active !== null,
    status: status ?? prev,
  });
}

let registration: ServiceWorkerRegistration | null = null;

/** Activates a waiting newer build and reloads once it controls the page. */
export function applyUpdate(): void {
  if (!registration?.waiting) return;
  navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
  post(registration.waiting, { type: "skip-waiting" });
}

/** Registers the worker; call once from the entry point. */
export function startOffline(): void {
  if (typeof __STUDIO_SW__ === "undefined" || !__STUDIO_SW__) {
    set({ phase: "unsupported", reason: "the development server runs without a service worker" });
    return;
  }
  if (!("serviceWorker" in navigator)) {
    set({ phase: "unsupported", reason: "this browser (or a private window) has no service workers" });
    return;
  }
  const sw = navigator.serviceWorker;
  sw.addEventListener("message", (e: MessageEvent) => {
    if (isFromWorker(e.data) && registration) refresh(registration, e.data.status);
  });
  const base = import.meta.env.BASE_URL;
  sw.register(`${base}sw.js`, { scope: base }).then(
    (reg) => {
      registration = reg;
      refresh(reg);
      reg.addEventListener("updatefound", () => {
        reg.installing?.addEventListener("statechange", () => refresh(reg));
      });
      sw.addEventListener("controllerchange", () => {
        refresh(reg);
        post(sw.controller, { type: "status" });
      });
      void sw.ready.then((ready) => {
        refresh(ready);
        post(ready.active, { type: "cache-pack" });
      });
    },
    (e: unknown) => set({ phase: "error", error: e instanceof Error ? e.message : String(e) }),
  );
}
