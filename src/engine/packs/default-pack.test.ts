/**
 * The bundled default pack (public/models/default/, built from a training run by tools/train/build-pack.ts):
 * every file matches its manifest's sha256, it stays under 30 MB, every component loads through the pack loader,
 * and its tokenizer files work. That its weights are the trained ones is shown by behaviour in
 * test/pipelines/default-pack-trained.test.ts. The seeded random-weights pack (`npm run pack -- random`, same
 * layout and id) is deterministic: two builds are byte-identical.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../test/support/golden.js";
import { ClipTokenizer } from "../preprocess/tokenizers/clip.js";
import { gunzip } from "../preprocess/tokenizers/load.js";
import { RobertaTokenizer } from "../preprocess/tokenizers/roberta.js";
import { buildRandomPack, DEFAULT_PACK, RANDOM_PACK } from "./default-pack.js";
import { loadPackModels } from "./loader.js";
import { parseManifest } from "./schema.js";
import { sha256Hex } from "./sha256.js";
import { memorySink } from "./sink.js";
import { folderPack } from "./sink-node.js";

const dir = join(repoRoot, "public", DEFAULT_PACK.path);
const read = async (p: string) => new Uint8Array(await readFile(join(dir, ...p.split("/"))));
const text = async (p: string) => new TextDecoder().decode(await read(p));
const clipGz = () => readFile(join(repoRoot, "public/models/tokenizers/clip/bpe_simple_vocab_16e6.txt.gz"));

describe("the bundled default pack", () => {
  it("is the world-trained build, every file matches its manifest, and it stays under 30 MB", async () => {
    const committed = await read("manifest.json");
    const manifest = parseManifest(committed);
    expect(manifest.id).toBe(DEFAULT_PACK.id);
    expect(manifest.name).toBe(DEFAULT_PACK.name);
    expect(manifest.description).not.toMatch(/NOT TRAINED|random/);
    for (const f of manifest.files) {
      const bytes = await read(f.path);
      expect(bytes.length, f.path).toBe(f.size);
      expect(sha256Hex(bytes), f.path).toBe(f.sha256);
    }
    const total = manifest.files.reduce((a, f) => a + f.size, 0) + committed.length;
    expect(total).toBeLessThan(30 * 1024 * 1024);
  });

  it("the random-weights pack builds byte for byte the same twice, with the bundled pack's id", {
    timeout: 300_000,
  }, async () => {
    const gz = new Uint8Array(await clipGz());
    const [a, b] = [memorySink(), memorySink()];
    const first = await buildRandomPack(a, gz);
    const second = await buildRandomPack(b, gz);
    expect(second.files).toEqual(first.files);
    expect(sha256Hex(b.files.get("manifest.json")!)).toBe(sha256Hex(a.files.get("manifest.json")!));
    for (const f of first.files) expect(sha256Hex(a.files.get(f.path)!), f.path).toBe(f.sha256);
    expect(first.id).toBe(DEFAULT_PACK.id);
    expect(first.name).toBe(RANDOM_PACK.name);
    const total = first.files.reduce((s, f) => s + f.size, 0) + a.files.get("manifest.json")!.length;
    expect(total).toBeLessThan(30 * 1024 * 1024);
  });

  it("has every component of every task, and loads them all through the pack loader", {
    timeout: 300_000,
  }, async () => {
    const pack = await folderPack(dir);
    const kinds = Object.values(pack.manifest.models).flatMap((m) =>
      Object.values(m.components).map((c) => c.kind),
    );
    expect(kinds.sort()).toEqual(
      [
        "imagebind",
        "audioldm.unet",
        "audioldm.vae",
        "audioldm.vocoder",
        "audioldm.text_encoder",
        "sd.unet",
        "sd.vae",
        "sd.text_encoder",
        "animatediff.motion_adapter",
      ].sort(),
    );
    const loaded = await loadPackModels(pack);
    expect(Object.keys(loaded).sort()).toEqual([
      "audioldm",
      "imagebind",
      "motion-adapter",
      "stable-diffusion",
    ]);
    expect(pack.manifest.models.imagebind.components.imagebind.keyPrefixes).toContain(
      "modality_trunks.audio.",
    );
  });

  it("ships working tokenizers: a generated RoBERTa BPE, and CLIP's vocabulary in both forms", async () => {
    const m = parseManifest(await read("manifest.json"));
    const rob = m.models.audioldm.tokenizers.tokenizer;
    const roberta = new RobertaTokenizer(await text(rob.files.vocab), await text(rob.files.merges));
    const ids = roberta.encode("a dog barking in the rain", { padding: "none" }).inputIds;
    expect(ids[0]).toBe(roberta.bosId);
    expect(ids.at(-1)).toBe(roberta.eosId);
    expect(ids.length).toBeLessThan(16); // 25 bytes: the learned merges join most of them
    const hf = m.models["stable-diffusion"].tokenizers.tokenizer.files;
    const fromHf = ClipTokenizer.fromHfFiles(JSON.parse(await text(hf.vocab)), await text(hf.merges));
    const bpe = m.models.imagebind.tokenizers.bpe.files.bpe; // stored inflated: packs hold no .gz files
    expect(bpe).toBe("imagebind/bpe/bpe_simple_vocab_16e6.txt");
    const fromBpe = new ClipTokenizer(await text(bpe));
    expect(await gunzip(new Uint8Array(await clipGz()))).toEqual(await read(bpe));
    const prompt = "A cat playing the piano, 4K!";
    expect(Array.from(fromHf.encodeHf(prompt).inputIds)).toEqual(
      Array.from(fromBpe.encodeHf(prompt).inputIds),
    );
  });
});
