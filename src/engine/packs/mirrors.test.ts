/** The CSP's model mirrors cover every official download URL, and nothing else is implied by them. */
import { describe, expect, it } from "vitest";
import { allowedBy, extraMirrorSources, MODEL_MIRROR_SOURCES } from "./mirrors.js";
import { MODEL_SPECS } from "./specs.js";

describe("model mirrors in the CSP", () => {
  it("allow the official file URL of every model, and Hugging Face's CDN redirects", () => {
    for (const [id, spec] of Object.entries(MODEL_SPECS)) {
      const url = spec.fileUrl.replace("{revision}", "main").replace("{file}", "unet/config.json");
      expect(allowedBy(MODEL_MIRROR_SOURCES, url), id).toBe(true);
    }
    expect(allowedBy(MODEL_MIRROR_SOURCES, "https://cdn-lfs.huggingface.co/repos/ab/cd/file")).toBe(true);
    expect(allowedBy(MODEL_MIRROR_SOURCES, "https://cas-bridge.xethub.hf.co/xet-bridge-us/x")).toBe(true);
  });

  it("refuse look-alike and plain-http hosts", () => {
    for (const url of [
      "http://huggingface.co/x",
      "https://huggingface.co.evil.example/x",
      "https://evilhuggingface.co/x",
      "https://hf.co.evil.example/x",
      "https://fbaipublicfiles.com/x",
      "https://huggingface.co:8443/x",
    ])
      expect(allowedBy(MODEL_MIRROR_SOURCES, url), url).toBe(false);
  });

  it("parse STUDIO_MODEL_MIRRORS as https origins only", () => {
    expect(extraMirrorSources(undefined)).toEqual([]);
    expect(extraMirrorSources(" https://hf-mirror.com , https://*.example.org:8443")).toEqual([
      "https://hf-mirror.com",
      "https://*.example.org:8443",
    ]);
    for (const bad of ["http://x.org", "https://x.org/path", "*", "https://*", "'unsafe-eval'"])
      expect(() => extraMirrorSources(bad), bad).toThrow(/not an https origin/);
  });
});
