/**
 * The g1/g2 fixtures define their scalar loss with fixed probe tensors: L = Σ_k sum(out.k · in.probe.k), or with a
 * single `in.probe` against the fixture's single output. This reads the pairing from the io file (so other seeds
 * and configs of a family work unchanged) and checks it against the fixture's own description of the loss.
 */

import type { HostTensor } from "../../../src/engine/ops/onnx/session.js";
import type { Ops } from "../../../src/engine/ops/ops.js";
import type { Fixture } from "../../support/golden.js";
import { fixtureInput } from "../harness.js";

export interface ProbePair {
  /** Output key, e.g. "out.text_embeds". */
  out: string;
  /** Probe input key, e.g. "in.probe.text_embeds". */
  probe: string;
}

/** Every probe of the fixture with the output it multiplies. */
export function probePairs(fx: Fixture): ProbePair[] {
  const keys = fx.io?.keys() ?? [];
  const outs = keys.filter((k) => k.startsWith("out."));
  const pairs: ProbePair[] = [];
  for (const k of keys) {
    if (k === "in.probe") {
      if (outs.length !== 1)
        throw new Error(`${fx.name}: a single in.probe needs a single output, found ${outs.join(", ")}`);
      pairs.push({ out: outs[0], probe: k });
    } else if (k.startsWith("in.probe.")) {
      const out = `out.${k.slice("in.probe.".length)}`;
      if (!outs.includes(out)) throw new Error(`${fx.name}: ${k} has no matching ${out}`);
      pairs.push({ out, probe: k });
    }
  }
  if (!pairs.length) throw new Error(`${fx.name}: no in.probe* tensors, so no loss to differentiate`);
  // The fixture states its loss in words (`loss`, or the grad.* entry of `io`); every probe must appear in it.
  const io = (fx.meta.io ?? {}) as Record<string, unknown>;
  const stated = [fx.meta.loss, ...Object.values(io)].filter((v) => typeof v === "string").join(" ");
  for (const p of pairs) {
    const short = p.probe.replace(/^in\./, "");
    if (!stated.includes(short)) throw new Error(`${fx.name}: the stated loss does not mention ${p.probe}`);
  }
  return pairs;
}

export function probeInputs(fx: Fixture, pairs: readonly ProbePair[]): Record<string, HostTensor> {
  return Object.fromEntries(pairs.map((p) => [p.probe, fixtureInput(fx, p.probe)]));
}

/** L = Σ sum(out · probe) over all elements. */
export function probeLoss<T>(
  ops: Ops<T>,
  pairs: readonly ProbePair[],
  outs: Record<string, T>,
  xs: Record<string, T>,
): T {
  let total: T | null = null;
  for (const p of pairs) {
    const o = outs[p.out];
    const axes = ops.shape(o).map((_, i) => i);
    const term = ops.sum(ops.mul(o, xs[p.probe]), axes);
    total = total === null ? term : ops.add(total, term);
  }
  return total!;
}
