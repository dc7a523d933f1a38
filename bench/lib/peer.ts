/**
 * `--torch <python>`: the upstream PyTorch implementations (diffusers UNet2DConditionModel / AutoencoderKL,
 * transformers SpeechT5HifiGan, ImageBind) timed on the SAME weights, shapes and thread count, in the same run.
 * The bench exports its random weights in upstream key names (safetensors + config.json per component) and runs
 * bench/peer/torch_peer.py; when the interpreter cannot import the upstream packages the peer is skipped and the
 * summary says why.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import type { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import { namedParams } from "../../src/engine/ops/param.js";
import { writeSafetensors } from "../../src/engine/weights/safetensors.js";
import { audioUnetCase, type Case, vaeDecodeCase, vocoderCase } from "./cases.js";
import type { PeerResult } from "./results.js";

export interface PeerOptions {
  python: string | null;
  threads: number;
  quick: boolean;
  seconds: number;
  log: (s: string) => void;
  /** The models with their weights (filled on demand: exporting needs host values). */
  models: () => { unet: UNet2DConditionModel; vae: AutoencoderKL; vocoder: SpeechT5HifiGan };
}

const SCRIPT = "bench/peer/torch_peer.py";

interface Check {
  ok: boolean;
  versions: Record<string, string>;
  missing: string[];
}

export function checkPeer(python: string): Check {
  const r = spawnSync(python, [SCRIPT, "--check"], { encoding: "utf8", timeout: 120_000 });
  if (r.error) return { ok: false, versions: {}, missing: [`cannot run ${python}: ${r.error.message}`] };
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as Check;
  } catch {
    return {
      ok: false,
      versions: {},
      missing: [`${python} ${SCRIPT} --check printed no result: ${r.stderr.slice(-300)}`],
    };
  }
}

function exportComponent(dir: string, module: object, config: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { dtype: "F32"; shape: readonly number[]; data: Uint8Array }> = {};
  for (const [k, p] of namedParams(module)) {
    const v = p.values();
    if (!(v instanceof Float32Array)) continue;
    tensors[k] = { dtype: "F32", shape: p.shape, data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
  }
  writeFileSync(join(dir, "model.safetensors"), writeSafetensors(tensors, { format: "pt" }));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
}

function exportInputs(
  dir: string,
  c: Case,
): Record<string, { file: string; dtype: string; shape: number[] }> {
  const out: Record<string, { file: string; dtype: string; shape: number[] }> = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    const file = join(dir, `${k}.bin`);
    writeFileSync(file, new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
    out[k] = { file, dtype: v.data instanceof Int32Array ? "int32" : "float32", shape: v.shape };
  }
  return out;
}

export async function runTorchPeer(o: PeerOptions): Promise<PeerResult> {
  if (!o.python) {
    // Not asked for: still say whether this machine could run it, so the summary gives the real reason.
    const probe = checkPeer("python3");
    const reason = probe.ok
      ? "peer skipped: no --torch <python> given (python3 here can import the upstream packages: pass --torch python3)"
      : `peer skipped: no --torch <python> given, and python3 on this machine cannot import the upstream implementations (${probe.missing.join("; ")})`;
    o.log(reason);
    return { skipped: reason, python: "python3", versions: probe.versions };
  }
  const check = checkPeer(o.python);
  if (!check.ok) {
    const reason = `peer skipped: ${o.python} cannot import the upstream implementations (${check.missing.join("; ")})`;
    o.log(reason);
    return { skipped: reason, python: o.python, versions: check.versions };
  }
  const root = mkdtempSync(join(tmpdir(), "bench-peer-"));
  try {
    const m = o.models();
    const cases: { component: string; shape: string; dir: string; inputs: object }[] = [];
    const add = (name: string, module: object, config: Record<string, unknown>, c: Case) => {
      const dir = join(root, name);
      exportComponent(dir, module, config);
      cases.push({ component: c.component, shape: c.shape, dir, inputs: exportInputs(dir, c) });
    };
    add("unet", m.unet, { ...m.unet.config }, audioUnetCase(m.unet, o.seconds));
    add("vae", m.vae, { ...m.vae.config }, vaeDecodeCase(m.vae, o.seconds));
    add("vocoder", m.vocoder, { ...m.vocoder.config }, vocoderCase(m.vocoder, o.seconds));
    const spec = join(root, "spec.json");
    writeFileSync(spec, JSON.stringify({ threads: o.threads, repeats: o.quick ? 1 : 3, cases }));
    o.log(`peer: ${o.python} ${SCRIPT} (${cases.length} cases)`);
    const r = spawnSync(o.python, [SCRIPT, spec], { encoding: "utf8", timeout: 30 * 60_000 });
    const components: NonNullable<PeerResult["components"]> = [];
    const errors: string[] = [];
    for (const line of r.stdout.split("\n")) {
      if (!line.trim().startsWith("{")) continue;
      const j = JSON.parse(line) as { error?: string; component: string } & NonNullable<
        PeerResult["components"]
      >[number];
      if (j.error) errors.push(`${j.component}: ${j.error}`);
      else components.push(j);
    }
    return {
      python: o.python,
      versions: check.versions,
      components,
      ...(errors.length ? { skipped: `some peer cases failed: ${errors.join("; ")}` } : {}),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
