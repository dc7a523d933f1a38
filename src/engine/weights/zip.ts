/**
 * A read-only ZIP directory reader over a `ByteSource`, as needed for torch.save archives: the end-of-central-
 * directory record (and its ZIP64 form, for files over 4 GiB such as imagebind_huge.pth), the central directory,
 * and each entry's data offset from its local header. Only STORED (uncompressed) entries can be read; that is
 * what torch.save writes, and a compressed entry fails with a message saying so. APPNOTE.TXT 6.3.x is the spec.
 *
 * Nothing is trusted: every count, size and offset is checked against the file size before it is used.
 */
import { ModelPackError } from "../errors.js";
import type { ByteSource } from "./source.js";

export interface ZipEntry {
  name: string;
  /** 0 = STORED, 8 = DEFLATE, … */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header. */
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
/** A central directory larger than this is not a torch archive (imagebind's has a few thousand entries). */
const MAX_CENTRAL_DIR = 256 * 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as ZIP uses). Pass the previous value to continue over several chunks. */
export function crc32(bytes: Uint8Array, prev = 0): number {
  let c = ~prev >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function u64(dv: DataView, off: number, file: string): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  if (hi >= 0x200000) throw new ModelPackError(`${file}: ZIP64 field exceeds 2^53`, { file });
  return hi * 2 ** 32 + lo;
}

export class ZipArchive {
  private readonly dataOffsets = new Map<string, number>();
  private constructor(
    readonly source: ByteSource,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  private fail(msg: string, details: Record<string, string | number> = {}): never {
    throw new ModelPackError(`${this.source.name}: ${msg}`, { file: this.source.name, ...details });
  }

  static async open(source: ByteSource): Promise<ZipArchive> {
    const file = source.name;
    const fail = (msg: string): never => {
      throw new ModelPackError(`${file}: ${msg}`, { file });
    };
    if (source.size < 22) fail("too short to be a ZIP archive (truncated?)");
    // The EOCD record is 22 bytes plus a comment of up to 65535 bytes, at the very end. Torch writes no comment,
    // so a short tail read usually finds it (one small request over HTTP); otherwise look at the whole window.
    let tailLen = 0;
    let tailStart = 0;
    let tdv: DataView = new DataView(new ArrayBuffer(0));
    let eocd = -1;
    for (const want of [1024, 22 + 0xffff]) {
      if (eocd >= 0 || tailLen >= source.size) break;
      tailLen = Math.min(source.size, want);
      tailStart = source.size - tailLen;
      const tail = await source.read(tailStart, tailLen);
      tdv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
      for (let i = tailLen - 22; i >= 0; i--) {
        if (tdv.getUint32(i, true) === SIG_EOCD && i + 22 + tdv.getUint16(i + 20, true) === tailLen) {
          eocd = i;
          break;
        }
      }
    }
    if (eocd < 0)
      fail("no ZIP end-of-central-directory record (truncated download, or not a torch.save file)");
    let count = tdv.getUint16(eocd + 10, true);
    let cdSize = tdv.getUint32(eocd + 12, true);
    let cdOffset = tdv.getUint32(eocd + 16, true);
    if (tdv.getUint16(eocd + 4, true) !== 0 || tdv.getUint16(eocd + 6, true) !== 0)
      fail("multi-disk ZIP archives are not supported");
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: a 20-byte locator sits just before the EOCD and points at the 56-byte ZIP64 EOCD record.
      const locAt = tailStart + eocd - 20;
      if (locAt < 0) fail("ZIP64 locator missing");
      const loc = await source.read(locAt, 20);
      const ldv = new DataView(loc.buffer, loc.byteOffset, 20);
      if (ldv.getUint32(0, true) !== SIG_LOCATOR64) fail("ZIP64 locator missing or corrupt");
      const e64At = u64(ldv, 8, file);
      if (e64At + 56 > locAt) fail("ZIP64 end-of-central-directory offset is out of range");
      const e64 = await source.read(e64At, 56);
      const edv = new DataView(e64.buffer, e64.byteOffset, 56);
      if (edv.getUint32(0, true) !== SIG_EOCD64) fail("ZIP64 end-of-central-directory record is corrupt");
      count = u64(edv, 32, file);
      cdSize = u64(edv, 40, file);
      cdOffset = u64(edv, 48, file);
    }
    if (cdSize > MAX_CENTRAL_DIR)
      fail(`central directory of ${cdSize} bytes is over the ${MAX_CENTRAL_DIR}-byte limit`);
    if (cdOffset + cdSize > source.size) fail("central directory runs past the end of the file (truncated?)");
    if (count * 46 > cdSize) fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
    const cd = await source.read(cdOffset, cdSize);
    const dv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
    const entries = new Map<string, ZipEntry>();
    const names = new TextDecoder("utf-8", { fatal: false });
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || dv.getUint32(p, true) !== SIG_CENTRAL)
        fail(`central directory entry ${i} is corrupt`);
      const flags = dv.getUint16(p + 8, true);
      const method = dv.getUint16(p + 10, true);
      const crc = dv.getUint32(p + 16, true);
      let compressedSize = dv.getUint32(p + 20, true);
      let size = dv.getUint32(p + 24, true);
      const nameLen = dv.getUint16(p + 28, true);
      const extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      const disk = dv.getUint16(p + 34, true);
      let localHeaderOffset = dv.getUint32(p + 42, true);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cdSize) fail(`central directory entry ${i} runs past the directory`);
      const name = names.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information (0x0001) holds, in order, only the fields whose 32-bit form is saturated.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = dv.getUint16(x, true);
        const len = dv.getUint16(x + 2, true);
        if (x + 4 + len > xEnd) fail(`entry "${name}" has a corrupt extra field`);
        if (id === 0x0001) {
          let q = x + 4;
          const take = (): number => {
            if (q + 8 > x + 4 + len) fail(`entry "${name}" has a short ZIP64 extra field`);
            const v = u64(dv, q, file);
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        x += 4 + len;
      }
      if (disk !== 0 && disk !== 0xffff) fail(`entry "${name}" is on another disk`);
      if (localHeaderOffset + 30 + compressedSize > source.size)
        fail(`entry "${name}" runs past the end of the file (truncated?)`);
      if (entries.has(name)) fail(`entry "${name}" appears twice`);
      entries.set(name, { name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset });
      p = end;
    }
    return new ZipArchive(source, entries);
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) this.fail(`archive has no entry "${name}"`, { entry: name });
    return e;
  }

  /** Absolute offset of an entry's data, from its local header (whose extra field may differ from the central one). */
  async dataOffset(e: ZipEntry): Promise<number> {
    const cached = this.dataOffsets.get(e.name);
    if (cached !== undefined) return cached;
    if (e.method !== 0) {
      this.fail(
        `entry "${e.name}" is compressed (method ${e.method}); torch.save writes uncompressed entries, so re-save the checkpoint with torch.save`,
        {
          entry: e.name,
        },
      );
    }
    if (e.flags & 1) this.fail(`entry "${e.name}" is encrypted`, { entry: e.name });
    if (e.compressedSize !== e.size)
      this.fail(`entry "${e.name}" is stored but its sizes differ`, { entry: e.name });
    const h = await this.source.read(e.localHeaderOffset, 30);
    const dv = new DataView(h.buffer, h.byteOffset, 30);
    if (dv.getUint32(0, true) !== SIG_LOCAL)
      this.fail(`entry "${e.name}" has no local header at ${e.localHeaderOffset}`, { entry: e.name });
    const start = e.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (start + e.size > this.source.size)
      this.fail(`entry "${e.name}" runs past the end of the file (truncated?)`, { entry: e.name });
    this.dataOffsets.set(e.name, start);
    return start;
  }

  /**
   * Read `length` bytes at `offset` within an entry's (uncompressed) data. A read of the whole entry is checked
   * against its CRC-32 unless `verify` is false (or the writer recorded no CRC).
   */
  async read(name: string, offset = 0, length?: number, verify = true): Promise<Uint8Array> {
    const e = this.entry(name);
    const n = length ?? e.size - offset;
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(n) ||
      offset < 0 ||
      n < 0 ||
      offset + n > e.size
    ) {
      this.fail(`read of ${n} bytes at ${offset} is outside entry "${name}" (${e.size} bytes)`, {
        entry: name,
      });
    }
    const bytes = await this.source.read((await this.dataOffset(e)) + offset, n);
    if (verify && offset === 0 && n === e.size && !(e.crc32 === 0 && n > 0) && crc32(bytes) !== e.crc32) {
      this.fail(`entry "${name}" fails its CRC-32 check (corrupt or tampered file)`, { entry: name });
    }
    return bytes;
  }
}
