/**
 * Upstream checkpoints read straight from their model repositories: the converter's input tree, built from a
 * repository listing, whose files are read on demand with HTTP Range requests (weights/source.ts
 * `openUrlSource`): the converter streams tensor by tensor and never holds a whole checkpoint, and a dropped
 * read is retried from its own offset. The default mirror of each model is its official file URL
 * (specs.ts `fileUrl`); a mirror is any server with the same URL layout.
 *
 * Listing: Hugging Face layouts (`…/<repo>/resolve/<revision>/<file>`) are listed with the Hub's tree API on the
 * mirror's origin (`/api/models/<repo>/tree/<revision>?recursive=true`, following `Link: rel="next"` pages),
 * which also gives every file's size. A mirror without a listing API (ImageBind's file server) uses the
 * model's known files.
 */
import { ModelPackError } from "../errors.js";
import { type ByteSource, checkRange, openUrlSource } from "../weights/source.js";
import { MODEL_SPECS, type ModelSpecId } from "./specs.js";
import type { InputTree } from "./tree.js";

/** Files a converter can use; the rest of a repository (images, docs, .bin/.ckpt/.onnx copies) is not read. */
const USEFUL = /(\.json|\.txt|\.safetensors|\.pth)$/;
/** Checkpoints that are not diffusers components (whole-model single files at a diffusers repo's root). */
const ROOT_CHECKPOINT = /^[^/]+\.(safetensors|ckpt)$/;

/** Models whose server has no listing: the files the converter needs. */
const KNOWN_FILES: Partial<Record<ModelSpecId, readonly { path: string; size?: number }[]>> = {
  "imagebind-huge": [{ path: "imagebind_huge.pth" }],
};

export interface RemoteOptions {
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** The file URL template ({file}, {revision}); default the model's official one. */
  fileUrl?: string;
  fetch?: typeof fetch;
  /** Extra headers (e.g. `Authorization: Bearer <token>` for gated repositories). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Attempts per Range read before giving up (default 4). */
  retries?: number;
}

export interface RemoteFile {
  path: string;
  /** From the listing when it gives one; checked against the server's Content-Range. */
  size?: number;
}

function fileUrl(template: string, file: string, revision: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return template.replace("{revision}", encodeURIComponent(revision)).replace("{file}", path);
}

/** `https://host/<repo>/resolve/{revision}/{file}` → the Hub tree API URL of `repo` on that host, else null. */
export function listingUrl(template: string, repo: string, revision: string): string | null {
  const m = /^(https?:\/\/[^/]+)\/(.+)\/resolve\/\{revision\}\/\{file\}$/.exec(template);
  if (!m || m[2] !== repo) return null;
  return `${m[1]}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
}

function nextLink(link: string | null): string | null {
  const m = link ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
  return m ? m[1] : null;
}

interface HubEntry {
  type: string;
  path: string;
  size?: number;
  lfs?: { size?: number };
}

/** The files of a model's repository that the converter may read. */
export async function listRemoteFiles(spec: ModelSpecId, opts: RemoteOptions = {}): Promise<RemoteFile[]> {
  const s = MODEL_SPECS[spec];
  const revision = opts.revision ?? "main";
  const template = opts.fileUrl ?? s.fileUrl;
  const first = listingUrl(template, s.repo, revision);
  if (!first) {
    const known = KNOWN_FILES[spec];
    if (!known)
      throw new ModelPackError(
        `${s.name}: the mirror ${template} has no listing API; use a Hugging Face-style mirror (…/${s.repo}/resolve/{revision}/{file})`,
        { file: template },
      );
    return known.map((f) => ({ ...f }));
  }
  const doFetch = opts.fetch ?? globalThis.fetch;
  const out: RemoteFile[] = [];
  let url: string | null = first;
  for (let page = 0; url; page++) {
    if (page > 100)
      throw new ModelPackError(`${s.repo}: the listing has more than 100 pages`, { file: first });
    const res = await fetchWithRetry(doFetch, url, opts, `${s.repo}: listing`);
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const hint =
        res.status === 401 || res.status === 403 ? " (a gated repository needs an access token)" : "";
      throw new ModelPackError(`${s.repo}@${revision}: listing answered HTTP ${res.status}${hint}`, {
        file: url,
        status: res.status,
      });
    }
    const body: unknown = await res.json().catch(() => null);
    if (!Array.isArray(body))
      throw new ModelPackError(`${s.repo}: the listing is not a JSON array of files`, { file: url });
    for (const e of body as HubEntry[]) {
      if (e?.type !== "file" || typeof e.path !== "string") continue;
      const size = e.lfs?.size ?? e.size;
      out.push({ path: e.path, size: Number.isSafeInteger(size) ? size : undefined });
    }
    url = nextLink(res.headers.get("Link"));
    if (url) url = new URL(url, first).href;
  }
  return out;
}

/** A GET that retries network failures (a dropped keep-alive connection, a flaky link) with backoff. */
async function fetchWithRetry(
  doFetch: typeof fetch,
  url: string,
  opts: RemoteOptions,
  what: string,
): Promise<Response> {
  const retries = opts.retries ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await doFetch(url, { headers: opts.headers, signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if (attempt >= retries)
        throw new ModelPackError(
          `${what} failed (${(e as Error).message}); check the mirror and your connection`,
          { file: url },
        );
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

/**
 * A Range-read source that connects on first use (a repository lists many files the converter never opens)
 * and retries a failed read from its own offset.
 */
function lazyUrlSource(url: string, name: string, size: number, opts: RemoteOptions): ByteSource {
  let open: Promise<ByteSource> | null = null;
  const connect = () => {
    open ??= openUrlSource(url, { fetch: opts.fetch, headers: opts.headers, signal: opts.signal, name }).then(
      (src) => {
        if (src.size !== size)
          throw new ModelPackError(`${name}: the server has ${src.size} bytes, the listing said ${size}`, {
            file: name,
          });
        return src;
      },
    );
    open.catch(() => {
      open = null; // a failed connection is retried by the next read
    });
    return open;
  };
  const retries = opts.retries ?? 4;
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      for (let attempt = 1; ; attempt++) {
        try {
          return await (await connect()).read(offset, length);
        } catch (e) {
          if (opts.signal?.aborted || attempt >= retries || !isTransient(e)) throw e;
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        }
      }
    },
  };
}

/** Network failures and 5xx/429 answers are retried; a wrong size, a changed file or a 404 is not. */
function isTransient(e: unknown): boolean {
  if (!(e instanceof ModelPackError)) return false;
  const status = e.details?.status;
  if (typeof status === "number") return status >= 500 || status === 429;
  return /request failed/.test(e.message);
}

/** Opens the sizes the listing did not give (one `Range: bytes=0-0` request each). */
async function withSizes(
  files: RemoteFile[],
  url: (f: string) => string,
  opts: RemoteOptions,
): Promise<Required<RemoteFile>[]> {
  return Promise.all(
    files.map(async (f) =>
      f.size !== undefined
        ? (f as Required<RemoteFile>)
        : {
            path: f.path,
            size: (
              await openUrlSource(url(f.path), {
                fetch: opts.fetch,
                headers: opts.headers,
                signal: opts.signal,
              })
            ).size,
          },
    ),
  );
}

/** The converter's input tree for `spec`, read from its repository (or a mirror) on demand. */
export async function remoteTree(spec: ModelSpecId, opts: RemoteOptions = {}): Promise<InputTree> {
  const s = MODEL_SPECS[spec];
  const revision = opts.revision ?? "main";
  const template = opts.fileUrl ?? s.fileUrl;
  const url = (f: string) => fileUrl(template, f, revision);
  const listed = await listRemoteFiles(spec, opts);
  const diffusers = listed.some((f) => f.path === "model_index.json");
  const useful = listed.filter((f) => USEFUL.test(f.path) && !(diffusers && ROOT_CHECKPOINT.test(f.path)));
  if (useful.length === 0)
    throw new ModelPackError(`${s.repo}@${revision}: no config or weight files in the listing`, {
      file: s.repo,
    });
  const sized = await withSizes(useful, url, opts);
  return sized.map((f) => ({
    path: f.path,
    source: lazyUrlSource(url(f.path), `${s.repo}/${f.path}`, f.size, opts),
  }));
}
