/**
 * A `ByteSource` over a local file in Node (tools/, tests). Kept apart from `source.ts` so that browser bundles
 * never import `node:fs`.
 */
import { open } from "node:fs/promises";
import { ModelPackError } from "../errors.js";
import { type ByteSource, checkRange } from "./source.js";

export interface FileSource extends ByteSource {
  /** Close the file handle; later reads fail. */
  close(): Promise<void>;
}

/** Open `path` for random-access reads. The size is taken once, at open. */
export async function openFileSource(path: string, name = path): Promise<FileSource> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new ModelPackError(`${name}: cannot open (${(e as Error).message})`, { file: name }, { cause: e });
  }
  const { size } = await fh.stat();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (closed) throw new ModelPackError(`${name}: read after close`, { file: name });
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new ModelPackError(
            `${name}: file ended at ${offset + done} while reading ${length} bytes at ${offset} (file shrank?)`,
            {
              file: name,
            },
          );
        }
        done += bytesRead;
      }
      return out;
    },
    close,
  };
}
