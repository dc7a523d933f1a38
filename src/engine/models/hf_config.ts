/**
 * Reading transformers/diffusers `config.json` objects into our typed configs: known keys are taken verbatim,
 * anything else (`architectures`, `torch_dtype`, `_name_or_path`, …) is ignored, and activation names are
 * narrowed to the ones `nn/activations` implements.
 */
import { UnsupportedError } from "../errors.js";
import type { ActivationName } from "../nn/activations.js";

const ACTIVATIONS: readonly ActivationName[] = [
  "silu",
  "swish",
  "gelu",
  "gelu_new",
  "quick_gelu",
  "relu",
  "tanh",
];

/** A transformers ACT2FN name we implement, or an error naming the model and config key. */
export function supportedActivation(model: string, key: string, name: string): ActivationName {
  if ((ACTIVATIONS as readonly string[]).includes(name)) return name as ActivationName;
  throw new UnsupportedError(
    `${model} ${key} "${name}" is not supported (supported: ${ACTIVATIONS.join(", ")})`,
  );
}

/** Defaults overridden by the keys of `raw` that the config declares (null/undefined values are skipped). */
export function pickKeys<C extends object>(defaults: Readonly<C>, raw: Readonly<Record<string, unknown>>): C {
  const picked = Object.fromEntries(
    Object.keys(defaults)
      .filter((k) => raw[k] !== undefined && raw[k] !== null)
      .map((k) => [k, raw[k]]),
  );
  return { ...defaults, ...picked } as C;
}
