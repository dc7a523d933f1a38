/**
 * The converter on synthetic upstream-layout folders written by the test (diffusers AudioLDM: model_index.json,
 * <component>/config.json, a UNet sharded with a safetensors index, tokenizer/, scheduler/, under a top folder as
 * a folder pick delivers it): every key checked, fp32/fp16/q4 storage, shard limits, and a pack that loads back.
 */
import { describe, expect, it } from "vitest";
import { f32, memoryPack, sameBits, syntheticAudioLDM } from "../../../test/support/packs.js";
import { ModelPackError } from "../errors.js";
import { dequantizeQ4, fromHalfBits, quantizeQ4, toHalfBits } from "../ops/onnx/quant.js";
import { namedParams } from "../ops/param.js";
import { convertPack, type QuantChoice } from "./convert.js";
import { loadPackModels } from "./loader.js";
import { sha256Hex } from "./sha256.js";
import { MiB } from "./shards.js";
import { memorySink } from "./sink.js";

const COMPONENTS = ["unet", "vae", "vocoder", "text_encoder"] as const;

async function convert(quant: QuantChoice, maxShardBytes = 1 * MiB, opts = {}) {
  const src = syntheticAudioLDM({ root: "audioldm-m-full", ...opts });
  const sink = memorySink();
  const manifest = await convertPack(
    [{ spec: "audioldm-m-full", id: "audioldm", tree: src.tree, revision: "abc123" }],
    sink,
    {
      id: `tiny-${quant}`,
      name: "tiny",
      quant,
      maxShardBytes,
    },
  );
  return { src, sink, manifest };
}

describe("convertPack (diffusers AudioLDM folder)", () => {
  it("fp32: checks, shards under the limit, hashes every file, keeps configs verbatim, loads back bit-exactly", async () => {
    const { src, sink, manifest } = await convert("fp32");
    const model = manifest.models.audioldm;
    expect(Object.keys(model.components).sort()).toEqual([...COMPONENTS].sort());
    expect(model.components.unet.config).toEqual(src.configs.unet);
    expect(model.components.unet.source).toMatchObject({ repo: "cvssp/audioldm-m-full", revision: "abc123" });
    expect(model.components.unet.source.files).toContain(
      "unet/diffusion_pytorch_model.safetensors.index.json",
    );
    expect(model.scheduler?.config).toMatchObject({ beta_schedule: "scaled_linear", steps_offset: 1 });
    expect(Object.keys(model.tokenizers.tokenizer.files).sort()).toEqual(["merges", "vocab"]);
    // the 8.6 MB fp32 UNet is split into ≤ 1 MiB shards
    const unetFiles = new Set(Object.values(model.components.unet.tensors).map((t) => t.file));
    expect(unetFiles.size).toBeGreaterThan(8);
    for (const f of manifest.files) {
      const bytes = sink.files.get(f.path)!;
      expect(bytes.length, f.path).toBe(f.size);
      expect(sha256Hex(bytes), f.path).toBe(f.sha256);
      if (f.role === "weights") expect(f.size).toBeLessThanOrEqual(MiB);
    }
    expect(sink.files.has("manifest.json")).toBe(true);

    const loaded = await loadPackModels(memoryPack(sink.files));
    for (const c of COMPONENTS) {
      for (const [key, p] of namedParams(loaded.audioldm[c].module)) {
        const raw = src.state[c][key];
        if (!raw) continue; // optional buffers the checkpoint does not carry
        if (raw.dtype === "F32") expect(sameBits(p.values(), f32(raw)), `${c}/${key}`).toBe(true);
      }
    }
  });

  it("fp16: rank ≥ 2 float tensors become F16 (exact round trip of the half values), rank ≤ 1 stay F32", async () => {
    const { src, sink, manifest } = await convert("fp16", 256 * MiB);
    const unet = manifest.models.audioldm.components.unet;
    expect(unet.dtype).toBe("fp16");
    expect(new Set(Object.values(unet.tensors).map((t) => t.file)).size).toBe(1);
    expect(unet.tensors["conv_in.weight"].dtype).toBe("F16");
    expect(unet.tensors["conv_in.bias"].dtype).toBe("F32");
    const loaded = await loadPackModels(memoryPack(sink.files), { components: ["unet"] });
    const params = new Map(namedParams(loaded.audioldm.unet.module));
    const w = f32(src.state.unet["conv_in.weight"]);
    const half = w.map((v) => fromHalfBits(toHalfBits(v)));
    expect(sameBits(params.get("conv_in.weight")!.values(), half)).toBe(true);
    expect(sameBits(params.get("conv_in.bias")!.values(), f32(src.state.unet["conv_in.bias"]))).toBe(true);
  });

  it("q4: forward-only components store Linear weights as MatMulNBits blocks only; gradient-path ones stay fp16", async () => {
    const { src, sink, manifest } = await convert("q4", 256 * MiB);
    const { unet, vae, text_encoder } = manifest.models.audioldm.components;
    expect(unet.quantization).toBe("q4");
    expect(text_encoder.quantization).toBe("q4");
    expect(vae.quantization).toBe("none");
    const key = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight";
    expect(unet.q4[key]).toMatchObject({ codes: `${key}::q4`, scales: `${key}::q4scales`, blockSize: 32 });
    expect(unet.tensors[key]).toBeUndefined();
    expect(unet.tensors[`${key}::q4`].dtype).toBe("U8");
    expect(unet.tensors["conv_in.weight"].dtype).toBe("F16"); // convs are not linear
    const loaded = await loadPackModels(memoryPack(sink.files), { components: ["audioldm/unet"] });
    const p = new Map(namedParams(loaded.audioldm.unet.module)).get(key)!;
    expect(p.data).toBeNull();
    expect(p.q4?.blockSize).toBe(32);
    const [n, k] = p.shape;
    const expected = dequantizeQ4(quantizeQ4(f32(src.state.unet[key]), n, k, 32));
    expect(sameBits(p.values(), expected)).toBe(true);
    // codes + scales take 0.625 bytes per weight instead of fp16's 2
    const bytes = (k: string) => unet.tensors[k].offsets[1] - unet.tensors[k].offsets[0];
    expect(bytes(`${key}::q4`) + bytes(`${key}::q4scales`)).toBe((n * k) / 2 + (n * k * 4) / 32);
  });

  it("names every missing, unexpected and mis-shaped key, and writes nothing", async () => {
    const edit = (sd: Record<string, { shape: readonly number[] } & object>) => {
      delete sd["conv_in.weight"];
      delete sd["mid_block.resnets.0.conv1.bias"];
      sd["down_blocks.0.extra.weight"] = sd["conv_out.bias"];
      sd["conv_out.bias"] = { ...sd["conv_out.bias"], shape: [2, 4] };
    };
    const src = syntheticAudioLDM({ editUnet: edit });
    const sink = memorySink();
    const err = await convertPack([{ spec: "audioldm-m-full", tree: src.tree }], sink, {
      id: "x",
      name: "x",
      quant: "fp16",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/audioldm-m-full\/unet/);
    expect(msg).toMatch(/missing 2: .*conv_in\.weight/);
    expect(msg).toMatch(/mid_block\.resnets\.0\.conv1\.bias/);
    expect(msg).toMatch(/unexpected 1: down_blocks\.0\.extra\.weight/);
    expect(msg).toMatch(/wrong shape 1: conv_out\.bias \[2,4\] \(expected \[8\]\)/);
    expect(sink.files.size).toBe(0);
  });

  it("names missing config, weights, shards and tokenizer files", async () => {
    const cases: [string, RegExp][] = [
      ["unet/config.json", /unet\/config\.json is missing/],
      [
        "unet/diffusion_pytorch_model-00002-of-00003.safetensors",
        /shard "diffusion_pytorch_model-00002-of-00003\.safetensors" is missing/,
      ],
      ["tokenizer/merges.txt", /tokenizer file tokenizer\/merges\.txt is missing/],
      ["vae/diffusion_pytorch_model.safetensors", /vae: no weights found/],
    ];
    for (const [drop, re] of cases) {
      const src = syntheticAudioLDM();
      const tree = src.tree.filter((f) => f.path !== drop);
      const err = await convertPack([{ spec: "audioldm-m-full", tree }], memorySink(), {
        id: "x",
        name: "x",
        quant: "fp32",
      }).catch((e: unknown) => e);
      expect(err, drop).toBeInstanceOf(ModelPackError);
      expect((err as Error).message, drop).toMatch(re);
    }
  });

  it("refuses a tensor larger than the shard limit, naming it", async () => {
    const err = await convert("fp32", 64 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as Error).message).toMatch(/tensor ".*" \(\d+ bytes\) does not fit in a 65536-byte shard/);
  });
});
