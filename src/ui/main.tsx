/**
 * Entry point: wires workers → client → commands → store, renders the shell, and starts the capability probe.
 * `window.__studio` exposes the same dispatcher and commands the UI uses (for e2e tests and the console).
 */
import "../workers/csp.js";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { engineWorker, mediaWorker } from "../workers/browser.js";
import type { ClientOptions } from "../workers/client.js";
import { createStudioClient } from "../workers/studio-client.js";
import { App } from "./App.js";
import { type ActionContext, dispatch, dispatchKey } from "./actions.js";
import { createCommands } from "./commands.js";
import { StudioProvider } from "./context.js";
import { startOffline } from "./offline.js";
import { createStudioStore } from "./store.js";
import { createStudioCommands } from "./studio/commands.js";
import { openGalleryDb } from "./studio/gallery-db.js";
import "./styles.css";

/** `?heartbeatTimeoutMs=N` shortens crash detection (e2e); bounded so a typo cannot disable it. */
function heartbeatFromUrl(fallback: number): number {
  const n = Number(new URLSearchParams(location.search).get("heartbeatTimeoutMs"));
  return Number.isFinite(n) && n >= 1000 && n <= 600_000 ? n : fallback;
}

const store = createStudioStore();
const onStatus: ClientOptions["onStatus"] = (status) =>
  store.setState((s) => ({ workers: { ...s.workers, [status.worker]: status } }));
const client = createStudioClient(
  { engine: engineWorker, media: mediaWorker },
  {
    // The engine worker may block for a while inside a long wasm kernel; the media worker never does
    // (ffmpeg runs in its own nested worker).
    engine: { heartbeatTimeoutMs: heartbeatFromUrl(60_000), onStatus },
    media: { heartbeatTimeoutMs: heartbeatFromUrl(30_000), onStatus },
  },
);
const commands = createCommands(client, store);
const ctx: ActionContext = {
  commands,
  store,
  studio: createStudioCommands(commands, store, openGalleryDb()),
};
const onKey = (e: KeyboardEvent) => dispatchKey(ctx, e);

declare global {
  interface Window {
    __studio?: { dispatch(name: string): unknown } & ActionContext;
  }
}
window.__studio = { ...ctx, dispatch: (name) => dispatch(ctx, name) };

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <StudioProvider value={ctx}>
      <App onKey={onKey} />
    </StudioProvider>
  </StrictMode>,
);

void ctx.commands.probe();
startOffline();
void ctx.studio.loadGallery();
