import { describe, expect, it } from "vitest";
import { initialPacksState, packSummaries, packsReducer, pickedFiles } from "./packs.js";

describe("Models view model", () => {
  it("reduces busy → done/failed, keeps the list, and records verify reports", () => {
    let s = packsReducer(initialPacksState, { type: "busy", what: "install" });
    expect(s).toMatchObject({ busy: "install", error: null });
    s = packsReducer(s, { type: "failed", error: "no mirror" });
    expect(s).toMatchObject({ busy: null, error: "no mirror" });
    s = packsReducer(s, { type: "busy", what: "verify x" });
    expect(s.error).toBeNull();
    s = packsReducer(s, { type: "verified", report: { pack: "x", ok: ["a"], bad: [] } });
    expect(s).toMatchObject({ busy: null, verify: { pack: "x" } });
    s = packsReducer(s, { type: "listed", list: { packs: [], storage: null, persisted: false } });
    expect(s.list?.packs).toEqual([]);
  });

  it("keeps the picked folder's relative paths and skips hidden files", () => {
    const file = (name: string, rel: string) =>
      Object.assign(new File(["x"], name), { webkitRelativePath: rel });
    const picked = pickedFiles([
      file("config.json", "audioldm/unet/config.json"),
      file(".DS_Store", "audioldm/.DS_Store"),
      file("HEAD", "audioldm/.git/HEAD"),
    ]);
    expect(picked.map((p) => p.path)).toEqual(["audioldm/unet/config.json"]);
  });

  it("summarises pack jobs in one line", () => {
    expect(packSummaries["packs-verify"]({ pack: "p", ok: ["a", "b"], bad: [] })).toBe("2 files verified");
    expect(packSummaries["packs-install"]({ id: "default", downloaded: 0, persisted: true })).toBe(
      "default: already cached",
    );
  });
});
