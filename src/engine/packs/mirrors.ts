/**
 * Where the studio may download model files from: the `connect-src` of its Content-Security-Policy (vite.config.ts)
 * beside 'self'. The official repositories of every model in specs.ts, and the hosts Hugging Face redirects
 * `resolve/` downloads to (its LFS and Xet CDNs). A deployment that uses another mirror adds its origin with
 * the environment variable `STUDIO_MODEL_MIRRORS` (comma-separated https origins) when it builds or serves.
 * Kept free of imports: the Vite config reads it.
 */
export const MODEL_MIRROR_SOURCES: readonly string[] = Object.freeze([
  "https://huggingface.co",
  "https://*.huggingface.co",
  "https://*.hf.co",
  "https://dl.fbaipublicfiles.com",
]);

/** `STUDIO_MODEL_MIRRORS` parsed: https origins only (no paths, no wildcards beyond a leading `*.`). */
export function extraMirrorSources(env: string | undefined): string[] {
  if (!env?.trim()) return [];
  return env.split(",").map((raw) => {
    const s = raw.trim();
    if (!/^https:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?$/i.test(s))
      throw new Error(
        `STUDIO_MODEL_MIRRORS: "${s}" is not an https origin (e.g. https://mirror.example.org)`,
      );
    return s;
  });
}

/** Whether `url` may be fetched under these CSP sources (the browser's host-source matching, https only). */
export function allowedBy(sources: readonly string[], url: string): boolean {
  const u = new URL(url);
  return sources.some((s) => {
    const m = /^(https?):\/\/(\*\.)?([^/:]+)(?::(\d+))?$/.exec(s);
    if (!m || `${m[1]}:` !== u.protocol) return false;
    if ((m[4] ?? "") !== u.port) return false; // no port in the source: the scheme's default only
    return m[2] ? u.hostname.endsWith(`.${m[3]}`) : u.hostname === m[3];
  });
}
