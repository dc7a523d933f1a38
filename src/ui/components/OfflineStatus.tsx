/** The System view's offline line: is the app (shell + bundled pack) available with the network off? */
import { applyUpdate, isOfflineReady, type OfflineState, useOfflineState } from "../offline.js";

const MB = 1024 * 1024;

function describe(s: OfflineState): string {
  if (s.phase === "unsupported") return `Not available offline: ${s.reason}.`;
  if (s.phase === "registering") return "Setting up offline use…";
  if (s.phase === "error")
    return `Not available offline: the service worker failed to register (${s.error}).`;
  if (!s.status) return "Service worker starting…";
  if (!s.status.shell) return "Caching the app…";
  if (!s.controlled) return "The app is cached; reload once to let it work offline.";
  const p = s.status.pack;
  switch (p.state) {
    case "none":
      return "Available offline (this build has no bundled pack).";
    case "cached":
      return `Available offline: the app and the bundled pack (${p.total} files) are cached.`;
    case "caching":
      return `Caching the bundled pack for offline use: ${p.files}/${p.total} files (${(p.bytes / MB).toFixed(1)} MB)…`;
    case "missing":
      return `The app is cached; the bundled pack is not yet (${p.files}/${p.total} files).`;
    case "error":
      return `The app is cached, but caching the bundled pack failed (${p.error}); it is retried on the next load.`;
  }
}

/** A one-word state for tests and styling: "ready" when the app works offline. */
function stateWord(s: OfflineState): string {
  if (isOfflineReady(s)) return "ready";
  if (s.phase !== "active") return s.phase;
  if (!s.status) return "starting";
  return s.controlled ? `pack-${s.status.pack.state}` : "uncontrolled";
}

export function OfflineStatus() {
  const s = useOfflineState();
  return (
    <div className="offline-status" data-testid="offline-status" data-offline={stateWord(s)}>
      <h3>Offline</h3>
      <p role="status">
        {describe(s)}
        {s.phase === "active" && s.status && ` Build ${s.status.version}.`}
      </p>
      {s.phase === "active" && s.updateWaiting && (
        <button type="button" onClick={applyUpdate}>
          Update to the new version and reload
        </button>
      )}
    </div>
  );
}
