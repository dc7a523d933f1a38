/**
 * diffusers models: audioldm_unet_tiny / sd_unet_tiny (UNet2DConditionModel), audioldm_vae_* / sdvae_*
 * (AutoencoderKL decode and encode), motion_unet_tiny (UNetMotionModel = SD UNet + MotionAdapter).
 * Config comes from each fixture's JSON; the loss is the fixture's `L = sum(out.X * in.probe)`; gradients are
 * taken w.r.t. every input that has a `grad.*` tensor in the io file.
 */
import {
  AutoencoderKL,
  type AutoencoderKLConfig,
} from "../../../src/engine/models/diffusers/autoencoder_kl.js";
import {
  type UNet2DConditionConfig,
  UNet2DConditionModel,
} from "../../../src/engine/models/diffusers/unet_2d_condition.js";
import {
  type MotionAdapterConfig,
  UNetMotionModel,
} from "../../../src/engine/models/diffusers/unet_motion_model.js";
import type { Ops } from "../../../src/engine/ops/ops.js";
import type { Fixture } from "../../support/golden.js";
import { resolveBackend, withTfjsBackend } from "../../support/tfjs-backend.js";
import { loadFixtureWeights } from "../../support/weights.js";
import { fixtureInput, type ParityRunner, type Program, standardRows } from "../harness.js";

type Kind = "unet" | "motion" | "vae_decode" | "vae_encode";
const KIND: Readonly<Record<string, Kind>> = {
  audioldm_unet_tiny: "unet",
  sd_unet_tiny: "unet",
  motion_unet_tiny: "motion",
  audioldm_vae_decode: "vae_decode",
  sdvae_decode: "vae_decode",
  audioldm_vae_encode: "vae_encode",
  sdvae_encode: "vae_encode",
};

/** Fixture families named by prefix, so re-seeded / re-sized variants (e.g. `sd_unet_tiny_b`) run too. */
function kindOf(name: string): Kind | undefined {
  const key = Object.keys(KIND).find((k) => name === k || name.startsWith(`${k}_`));
  return key ? KIND[key] : undefined;
}

const keysWith = (fx: Fixture, prefix: string) => fx.io!.keys().filter((k) => k.startsWith(prefix));

/** in.* tensors that the fixture differentiates (grad.X ↔ in.X). */
const gradInputs = (fx: Fixture) => keysWith(fx, "grad.").map((k) => `in.${k.slice(5)}`);

function inputsOf(fx: Fixture): Program["inputs"] {
  return Object.fromEntries(keysWith(fx, "in.").map((k) => [k, fixtureInput(fx, k)]));
}

/** L = Σ out · in.probe over every element. */
function probeLoss<T>(ops: Ops<T>, out: T, probe: T): T {
  const prod = ops.mul(out, probe);
  return ops.sum(prod, [...ops.shape(prod).keys()]);
}

function unetProgram(fx: Fixture): Program {
  const model = new UNet2DConditionModel(fx.meta.config as Partial<UNet2DConditionConfig>, fx.name);
  loadFixtureWeights(model, fx.weights.get("")!);
  return {
    inputs: inputsOf(fx),
    forward: (ops, xs) => ({
      "out.sample": model.forward(ops, xs["in.sample"], xs["in.timestep"], {
        encoderHiddenStates: xs["in.encoder_hidden_states"] ?? null,
        classLabels: xs["in.class_labels"] ?? null,
      }),
    }),
    loss: (ops, outs, xs) => probeLoss(ops, outs["out.sample"], xs["in.probe"]),
    gradWrt: gradInputs(fx),
  };
}

function motionProgram(fx: Fixture): Program {
  const model = new UNetMotionModel(
    fx.meta.unet_config as Partial<UNet2DConditionConfig>,
    fx.meta.adapter_config as Partial<MotionAdapterConfig>,
    fx.name,
  );
  loadFixtureWeights(model, [fx.weights.get("unet")!, fx.weights.get("adapter")!]);
  return {
    inputs: inputsOf(fx),
    forward: (ops, xs) => ({
      "out.sample": model.forward(ops, xs["in.sample"], xs["in.timestep"], {
        encoderHiddenStates: xs["in.encoder_hidden_states"],
      }),
    }),
    loss: (ops, outs, xs) => probeLoss(ops, outs["out.sample"], xs["in.probe"]),
    gradWrt: gradInputs(fx),
  };
}

function vaeProgram(fx: Fixture, kind: "vae_decode" | "vae_encode"): Program {
  const vae = new AutoencoderKL(fx.meta.config as Partial<AutoencoderKLConfig>, fx.name);
  loadFixtureWeights(vae, fx.weights.get("")!);
  const outKeys = keysWith(fx, "out.");
  const gradOf = keysWith(fx, "grad.");
  if (kind === "vae_decode") {
    // the pipeline scales: AudioLDM `1 / scaling_factor * latents`, SD `latents / scaling_factor`
    const inKey = keysWith(fx, "in.").find((k) => k !== "in.probe")!;
    const outKey = outKeys[0];
    return {
      inputs: inputsOf(fx),
      forward: (ops, xs) => ({
        [outKey]: vae.decode(ops, ops.mul(xs[inKey], 1 / vae.config.scaling_factor)),
      }),
      loss: (ops, outs, xs) => probeLoss(ops, outs[outKey], xs["in.probe"]),
      gradWrt: gradOf.map((k) => `in.${k.slice(5)}`),
    };
  }
  const inKey = keysWith(fx, "in.").find((k) => k !== "in.probe")!;
  return {
    inputs: inputsOf(fx),
    forward: (ops, xs) => {
      const d = vae.encode(ops, xs[inKey]);
      const all: Record<string, typeof d.mean> = {
        "out.mean": d.mean,
        "out.logvar": d.logvar,
        "out.std": d.std,
      };
      return Object.fromEntries(outKeys.map((k) => [k, all[k]]));
    },
    // the fixtures' loss: d sum(out.mean * in.probe) / d in
    loss: (ops, outs, xs) => probeLoss(ops, outs["out.mean"], xs["in.probe"]),
    gradWrt: gradOf.map((k) => `in.${k.slice(5)}`),
  };
}

/** The fixture's model, inputs, outputs and loss as a harness Program (also used by benchmarks). */
export function diffusersProgram(fx: Fixture): Program {
  const kind = kindOf(fx.name);
  if (!kind) throw new Error(`${fx.name} is not a diffusers fixture`);
  if (kind === "unet") return unetProgram(fx);
  if (kind === "motion") return motionProgram(fx);
  return vaeProgram(fx, kind);
}

export const diffusersRunner: ParityRunner = {
  family: "diffusers",
  supports: (name) => kindOf(name) !== undefined,
  // tfjs-backend-wasm: the cpu backend needs minutes per UNet fixture (see test/support/tfjs-backend.ts)
  async run(fx, env) {
    const backend = await resolveBackend("wasm");
    const rows = await withTfjsBackend(backend, () => standardRows(fx, env, diffusersProgram(fx)));
    return rows.map((r) => (r.executor === "tfjs" ? { ...r, note: `tfjs backend: ${backend}` } : r));
  },
};
