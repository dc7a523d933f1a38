/**
 * Loading tokenizer files from a URL (browser, worker, Node) or a local path (Node), kept apart from the
 * tokenizers themselves, which take the file contents and do no I/O.
 */
import { ModelPackError } from "../../errors.js";
import { ClipTokenizer } from "./clip.js";
import { type RobertaOptions, RobertaTokenizer } from "./roberta.js";

/** Where the bundled CLIP vocabulary lives, relative to the app's base URL (public/ in the repo). */
export const CLIP_VOCAB_PATH = "models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz";

/** Decompress gzip bytes with the platform's `DecompressionStream` (browsers, workers and Node ≥ 18). */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new ModelPackError(
      `gzip decompression failed: ${(e as Error).message} (truncated or not a .gz file?)`,
      {},
      { cause: e },
    );
  }
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
/** Kept in a variable so that browser bundlers do not try to resolve a Node built-in. */
const NODE_FS = "node:fs/promises";

interface NodeFs {
  readFile(path: string | URL): Promise<Uint8Array>;
}

/**
 * The bytes of `source`: an absolute URL (`https:`, `blob:`, `data:`, and `file:` in Node), a path relative to the
 * page in a browser, or a filesystem path in Node.
 */
export async function readResource(source: string | URL): Promise<Uint8Array> {
  const hasScheme = source instanceof URL || /^[a-z][a-z0-9+.-]+:/i.test(source);
  const isFile = hasScheme ? new URL(source).protocol === "file:" : isNode;
  if (isFile && isNode) {
    const fs = (await import(/* @vite-ignore */ NODE_FS)) as NodeFs;
    try {
      return new Uint8Array(await fs.readFile(hasScheme ? new URL(source) : source));
    } catch (e) {
      throw new ModelPackError(
        `cannot read ${String(source)}: ${(e as Error).message}`,
        { file: String(source) },
        { cause: e },
      );
    }
  }
  let res: Response;
  try {
    res = await fetch(source);
  } catch (e) {
    throw new ModelPackError(
      `cannot fetch ${String(source)}: ${(e as Error).message}`,
      { file: String(source) },
      { cause: e },
    );
  }
  if (!res.ok)
    throw new ModelPackError(`cannot fetch ${String(source)}: HTTP ${res.status}`, {
      file: String(source),
      status: res.status,
    });
  return new Uint8Array(await res.arrayBuffer());
}

/** Read a text file (UTF-8), transparently gunzipping `.gz` content. */
export async function readText(source: string | URL): Promise<string> {
  let bytes = await readResource(source);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes);
  return new TextDecoder("utf-8").decode(bytes);
}

/** The CLIP tokenizer from `bpe_simple_vocab_16e6.txt(.gz)` (default: the bundled copy, `CLIP_VOCAB_PATH`). */
export async function loadClipTokenizer(source: string | URL = CLIP_VOCAB_PATH): Promise<ClipTokenizer> {
  return new ClipTokenizer(await readText(source));
}

/** A RoBERTa tokenizer from `vocab.json` and `merges.txt`. */
export async function loadRobertaTokenizer(
  vocabJson: string | URL,
  mergesTxt: string | URL,
  options?: RobertaOptions,
): Promise<RobertaTokenizer> {
  const [vocab, merges] = await Promise.all([readText(vocabJson), readText(mergesTxt)]);
  return new RobertaTokenizer(vocab, merges, options);
}
