import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelPackError } from "../errors.js";
import { blobSource, bytesSource, openUrlSource, readAll, sliceSource } from "./source.js";
import { openFileSource } from "./source-node.js";

const DATA = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);

describe("in-memory, Blob and slice sources", () => {
  it("read exact ranges and reject out-of-range reads with the file name", async () => {
    for (const src of [bytesSource(DATA, "mem.bin"), blobSource(new Blob([DATA]), "mem.bin")]) {
      expect(src.size).toBe(1000);
      expect([...(await src.read(10, 3))]).toEqual([70, 77, 84]);
      expect((await src.read(1000, 0)).length).toBe(0);
      await expect(src.read(999, 2)).rejects.toThrow(/mem\.bin.*past the end.*truncated/);
      await expect(src.read(-1, 2)).rejects.toBeInstanceOf(ModelPackError);
      await expect(src.read(1.5, 2)).rejects.toBeInstanceOf(ModelPackError);
    }
  });

  it("names a File by its own name", () => {
    expect(blobSource(new File([DATA], "unet.safetensors")).name).toBe("unet.safetensors");
  });

  it("slices and bounds-checks the window", async () => {
    const s = sliceSource(bytesSource(DATA), 100, 50, "win");
    expect([...(await s.read(0, 2))]).toEqual([DATA[100], DATA[101]]);
    await expect(s.read(49, 2)).rejects.toThrow(/win/);
    expect(() => sliceSource(bytesSource(DATA), 990, 20)).toThrow(ModelPackError);
  });

  it("readAll refuses files over the limit", async () => {
    await expect(readAll(bytesSource(DATA, "big.json"), 999)).rejects.toThrow(/big\.json.*limit/);
    expect((await readAll(bytesSource(DATA))).length).toBe(1000);
  });
});

describe("Node file source", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "weights-src-"));
    await writeFile(join(dir, "w.bin"), DATA);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads ranges, bounds-checks, and refuses reads after close", async () => {
    const src = await openFileSource(join(dir, "w.bin"));
    expect(src.size).toBe(1000);
    expect([...(await src.read(998, 2))]).toEqual([DATA[998], DATA[999]]);
    await expect(src.read(998, 3)).rejects.toBeInstanceOf(ModelPackError);
    await src.close();
    await expect(src.read(0, 1)).rejects.toThrow(/after close/);
  });

  it("reports a missing file as a ModelPackError", async () => {
    await expect(openFileSource(join(dir, "nope.pth"))).rejects.toThrow(/nope\.pth.*cannot open/);
  });
});

type Mode = "range" | "ignore-range" | "bad-range" | "changes";

describe("URL source (HTTP Range)", () => {
  let server: Server;
  let base = "";
  let mode: Mode = "range";
  let etag = '"v1"';
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.headers.range ?? ""}|${req.headers["if-range"] ?? ""}`);
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      const ifRange = req.headers["if-range"];
      if (mode === "ignore-range" || !m || (ifRange && ifRange !== etag)) {
        res.writeHead(200, { "Content-Length": DATA.length, ETag: etag });
        res.end(Buffer.from(DATA));
        return;
      }
      const [a, b] = [Number(m[1]), Math.min(Number(m[2]), DATA.length - 1)];
      const cr =
        mode === "bad-range" && a > 0
          ? `bytes ${a + 1}-${b}/${DATA.length}`
          : `bytes ${a}-${b}/${DATA.length}`;
      res.writeHead(206, { "Content-Range": cr, "Content-Length": b - a + 1, ETag: etag });
      res.end(Buffer.from(DATA.subarray(a, b + 1)));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("learns the size from Content-Range and reads ranges with If-Range", async () => {
    mode = "range";
    requests.length = 0;
    const src = await openUrlSource(`${base}/unet.safetensors`);
    expect(src.size).toBe(1000);
    expect([...(await src.read(500, 4))]).toEqual([...DATA.subarray(500, 504)]);
    expect(requests).toEqual(["bytes=0-0|", 'bytes=500-503|"v1"']);
    expect((await src.read(0, 0)).length).toBe(0);
    await expect(src.read(999, 5)).rejects.toThrow(/past the end/);
  });

  it("refuses a server that ignores Range, saying what to do", async () => {
    mode = "ignore-range";
    await expect(openUrlSource(`${base}/x.pth`)).rejects.toThrow(/ignores HTTP Range.*download it/);
  });

  it("rejects a mismatched Content-Range", async () => {
    mode = "bad-range";
    const src = await openUrlSource(`${base}/x.pth`);
    await expect(src.read(10, 4)).rejects.toThrow(/asked for bytes 10-13\/1000/);
  });

  it("fails when the file changes on the server between reads", async () => {
    mode = "range";
    etag = '"v1"';
    const src = await openUrlSource(`${base}/x.pth`);
    etag = '"v2"';
    await expect(src.read(10, 4)).rejects.toThrow(/changed on the server/);
    etag = '"v1"';
  });

  it("reports network errors and HTTP errors as ModelPackError", async () => {
    const down: typeof fetch = () => Promise.reject(new TypeError("connection refused"));
    await expect(openUrlSource("http://x/y.pth", { fetch: down })).rejects.toThrow(
      /request failed.*connection refused/,
    );
    const notFound: typeof fetch = () =>
      Promise.resolve(new Response("nope", { status: 404, statusText: "Not Found" }));
    await expect(openUrlSource("http://x/y.pth", { fetch: notFound })).rejects.toThrow(/HTTP 404/);
  });
});
