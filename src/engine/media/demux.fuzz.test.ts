/**
 * Fuzzing the MP4 and WebM demuxers with random byte mutations (flip, overwrite, insert, delete, truncate,
 * "interesting" integers) of ffmpeg-written files, and with arbitrary bytes behind each container's magic.
 * Properties: only BadInputError escapes; no case is slow; an accepted file never yields more chunks than it has
 * bytes, and every chunk is a view inside the input.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSamples } from "../../../test/support/demux-files.js";
import { check, type Mutation, mutate, mutationArb, type Tally, timed } from "../../../test/support/fuzz.js";
import { hasFfmpeg } from "../../../test/support/system-ffmpeg.js";
import { BadInputError } from "../errors.js";
import { demux } from "./demux.js";

const RUNS = 3_000;

/** Demuxes `bytes`; only BadInputError may escape, and what is accepted must be consistent with the input. */
function demuxChecked(bytes: Uint8Array, tally: Tally): void {
  try {
    const d = demux(bytes, "fuzz");
    tally.accepted = (tally.accepted ?? 0) + 1;
    let chunks = 0;
    for (const t of d.tracks)
      for (const c of t.chunks) {
        chunks++;
        if (
          c.data.buffer !== bytes.buffer ||
          c.data.byteOffset + c.data.length > bytes.byteOffset + bytes.length
        )
          throw new Error("a chunk outside the input");
        if (!Number.isFinite(c.timestampUs) || !Number.isFinite(c.durationUs))
          throw new Error("a non-finite time");
      }
    if (chunks > bytes.length + 256) throw new Error(`${chunks} chunks from ${bytes.length} bytes`);
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
  }
}

describe.skipIf(!hasFfmpeg)("demux fuzz", () => {
  let dir = "";
  let files: Record<string, Uint8Array> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "demux-fuzz-"));
    files = makeSamples(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [label, pick] of [
    ["MP4", ["h264-aac.mp4", "h264-bframes.mp4", "vp9.mp4", "aac.m4a"]],
    ["WebM", ["vp8-opus.webm", "vp9.webm"]],
  ] as const)
    it(`${label}: mutated files give a demux or a BadInputError, quickly`, async () => {
      const tally: Tally = { slowest: 0, accepted: 0 };
      const bases = pick.map((n) => files[n]!);
      const run = timed(tally, (base: number, muts: Mutation[]) =>
        demuxChecked(mutate(bases[base]!, muts), tally),
      );
      const n = await check(
        `demux ${label} mutations`,
        fc.property(fc.nat(bases.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 6 }), run),
        RUNS,
        tally,
      );
      expect(n).toBeGreaterThan(0);
      expect(tally.accepted).toBeGreaterThan(0); // the mutations reach past the first checks
    });

  it("arbitrary bytes behind the MP4 and EBML magic", async () => {
    const tally: Tally = { slowest: 0, accepted: 0 };
    const ftyp = Uint8Array.from([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70]);
    const ebml = Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3]);
    const run = timed(tally, (webm: boolean, tail: Uint8Array) => {
      const head = webm ? ebml : ftyp;
      const b = new Uint8Array(head.length + tail.length);
      b.set(head);
      b.set(tail, head.length);
      demuxChecked(b, tally);
    });
    await check(
      "demux arbitrary bytes",
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 512 }), run),
      RUNS,
      tally,
    );
  });
});
