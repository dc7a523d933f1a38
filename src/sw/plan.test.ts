import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ModelPackError } from "../engine/errors.js";
import { planBuild } from "./build.js";
import { isFromWorker, isToWorker } from "./messages.js";
import { cacheNames, routeRequest, type SwBuild, staleCaches } from "./plan.js";

const build: SwBuild = {
  version: "abc123",
  shell: ["index.html", "assets/index-X.js", "vendor/ort/ort.wasm", "demos/a b.png"],
  pack: {
    id: "default",
    dir: "models/default/",
    manifestSha256: "f".repeat(64),
    files: [
      { path: "manifest.json", size: 10, sha256: "f".repeat(64) },
      { path: "unet/model.safetensors", size: 20, sha256: "e".repeat(64) },
    ],
  },
};
const scope = "http://app.test/";
const route = (url: string, method = "GET", mode = "cors") =>
  routeRequest({ url, method, mode }, scope, build);

describe("routeRequest", () => {
  it("answers navigations from index.html, shell and pack files from their caches (query ignored)", () => {
    expect(route("http://app.test/?heartbeatTimeoutMs=2000", "GET", "navigate")).toEqual({
      kind: "navigate",
      key: "http://app.test/index.html",
    });
    expect(route("http://app.test/assets/index-X.js?v=1")).toEqual({
      kind: "shell",
      key: "http://app.test/assets/index-X.js",
    });
    expect(route("http://app.test/demos/a%20b.png").kind).toBe("shell");
    expect(route("http://app.test/models/default/unet/model.safetensors")).toEqual({
      kind: "pack",
      key: "http://app.test/models/default/unet/model.safetensors",
    });
    expect(route("http://app.test/models/default/manifest.json").kind).toBe("pack");
  });

  it("never touches cross-origin, non-GET, unknown or malformed requests", () => {
    expect(route("https://huggingface.co/assets/index-X.js").kind).toBe("pass");
    expect(route("http://app.test:8080/assets/index-X.js").kind).toBe("pass");
    expect(route("http://app.test/assets/index-X.js", "POST").kind).toBe("pass");
    expect(route("http://app.test/index.html", "HEAD").kind).toBe("pass");
    expect(route("http://app.test/models/default/other.bin").kind).toBe("pass");
    expect(route("http://app.test/models/mine/manifest.json").kind).toBe("pass");
    expect(route("http://app.test/assets/%E0%A4%A.js").kind).toBe("pass");
    expect(route("http://app.test/sw.js").kind).toBe("pass");
  });

  it("stays inside a sub-path scope", () => {
    const sub = routeRequest(
      { url: "http://app.test/index.html", method: "GET", mode: "cors" },
      "http://app.test/studio/",
      build,
    );
    expect(sub.kind).toBe("pass");
  });
});

describe("cache names", () => {
  it("come from the build, and only other builds' studio caches are stale", () => {
    const names = cacheNames(build);
    expect(names.shell).toContain(build.version);
    expect(names.pack).toContain(build.pack!.manifestSha256.slice(0, 16));
    const other = cacheNames({ ...build, version: "def456" }).shell;
    expect(staleCaches([names.shell, names.pack!, other, "someone-else"], build)).toEqual([other]);
  });
});

describe("planBuild", () => {
  // the real bundled pack, linked into a fake output folder (its manifest must pass the real schema)
  const pack = fileURLToPath(new URL("../../public/models/default/", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "sw-plan-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  put("index.html", "<!doctype html>");
  put("assets/a.js", "1");
  put("assets/a.js.map", "{}");
  put("models/tokenizers/x.gz", "zz");
  const manifest = JSON.parse(readFileSync(join(pack, "manifest.json"), "utf8")) as {
    files: { path: string; size: number; role: string }[];
  };
  mkdirSync(join(dir, "models/default"), { recursive: true });
  for (const top of new Set(manifest.files.map((f) => f.path.split("/")[0]!)))
    symlinkSync(join(pack, top), join(dir, "models/default", top));

  it("lists the shell without maps or packs, hashes the content into the version, and lists the pack", () => {
    put("models/default/manifest.json", readFileSync(join(pack, "manifest.json"), "utf8"));
    const plan = planBuild(dir, "models/default/", "models/");
    expect(plan.shell).toEqual(["assets/a.js", "index.html"]);
    expect(plan.pack?.files.map((f) => f.path)).toEqual([
      "manifest.json",
      ...manifest.files.map((f) => f.path),
    ]);
    expect(plan.pack?.manifestSha256).toBe(plan.pack?.files[0]?.sha256);
    put("assets/a.js", "2");
    expect(planBuild(dir, "models/default/", "models/").version).not.toBe(plan.version);
  });

  it("refuses a pack whose files differ in size from its manifest, naming the file", () => {
    const tok = manifest.files.find((f) => f.role !== "weights")!;
    const edited = {
      ...manifest,
      files: manifest.files.map((f) => (f === tok ? { ...f, size: f.size + 1 } : f)),
    };
    put("models/default/manifest.json", JSON.stringify(edited));
    expect(() => planBuild(dir, "models/default/", "models/")).toThrow(ModelPackError);
    expect(() => planBuild(dir, "models/default/", "models/")).toThrow(`${tok.path}: ${tok.size} bytes`);
  });
});

describe("page ↔ worker messages", () => {
  it("accept what the other side sends and reject anything else", () => {
    expect(isToWorker({ type: "cache-pack" })).toBe(true);
    expect(isToWorker({ type: "delete-everything" })).toBe(false);
    expect(isToWorker("cache-pack")).toBe(false);
    const status = { version: "v", shell: true, pack: { state: "caching", files: 1, total: 3, bytes: 10 } };
    expect(isFromWorker({ type: "status", status })).toBe(true);
    expect(
      isFromWorker({ type: "status", status: { ...status, pack: { state: "caching", files: 1, total: 3 } } }),
    ).toBe(false);
    expect(
      isFromWorker({ type: "status", status: { ...status, pack: { state: "cached", files: -1, total: 3 } } }),
    ).toBe(false);
    expect(isFromWorker({ type: "status", status: { ...status, shell: "yes" } })).toBe(false);
    expect(
      isFromWorker({ type: "status", status: { ...status, pack: { state: "error", files: 0, total: 3 } } }),
    ).toBe(false);
  });
});
