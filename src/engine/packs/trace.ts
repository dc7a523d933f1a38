/**
 * Activation memory of a forward pass, measured by tracing the model code symbolically: the ONNX emitter runs
 * the forward on shape-only tensors (no weights are read), and a proxy around it records every op's output
 * size and every use, in execution order. From that:
 *  - `peakLive`: the largest sum of tensors alive at once when each is freed after its last use — what an
 *    executor that frees eagerly (ONNX Runtime's memory planner) needs for one run;
 *  - `retained`: the sum of all intermediates — what a tidy scope holds until it ends;
 *  - `tape`: what the tfjs tape holds for a backward pass when the model checkpoints segments (`ops.checkpoint`):
 *    everything outside the segments, each segment's input and output, plus the largest segment's own
 *    intermediates (recomputed one segment at a time during the backward); equal to `retained` without segments;
 *  - `largest`: the largest single tensor (checked against the adapter's maxBufferSize).
 * Reshapes are views (no bytes); everything else is a fresh buffer. Model weights are not activations.
 */
import { OnnxEmitter, type Sym } from "../ops/onnx/emitter.js";

export interface ActivationProfile {
  peakLive: number;
  retained: number;
  tape: number;
  largest: number;
  ops: number;
}

const isSym = (v: unknown): v is Sym =>
  v !== null && typeof v === "object" && "name" in v && "shape" in v && "dtype" in v && !("buffer" in v);

const bytesOf = (s: Sym) => s.shape.reduce((a, b) => a * b, 1) * 4;

interface Event {
  def: string | null;
  bytes: number;
  uses: string[];
  /** The outermost checkpoint segment the op ran in (null: outside every segment). */
  seg: number | null;
}

/**
 * Trace `run` (which calls model code on the given ops and returns its outputs) and profile its activations.
 * Inputs created with `ops.input` count as alive from the start.
 */
export function traceActivations(run: (ops: OnnxEmitter) => Sym | readonly Sym[]): ActivationProfile {
  const em = new OnnxEmitter({ weights: "fp32" });
  const events: Event[] = [];
  const alias = new Map<string, string>(); // reshape output → the buffer it views
  const weights = new Set<string>();
  const root = (n: string) => alias.get(n) ?? n;
  let depth = 0;
  let segments = 0;
  let seg: number | null = null;
  const segOutputs = new Set<string>();
  const proxy: OnnxEmitter = new Proxy(em, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "constructor") return v;
      if (prop === "checkpoint")
        return (...args: unknown[]) => {
          const outer = depth === 0;
          if (outer) seg = ++segments;
          depth++;
          let out: unknown;
          try {
            out = v.apply(receiver, args);
          } finally {
            depth--;
            if (outer) seg = null;
          }
          if (outer && isSym(out)) segOutputs.add(root(out.name));
          return out;
        };
      return (...args: unknown[]) => {
        const out: unknown = v.apply(receiver, args);
        if (!isSym(out)) return out;
        if (prop === "param" || prop === "constant") {
          weights.add(out.name);
          return out;
        }
        const uses = args
          .flatMap((a) => (Array.isArray(a) ? a : [a]))
          .filter(isSym)
          .map((s) => root(s.name))
          .filter((n) => !weights.has(n) && n !== out.name);
        if (prop === "reshape" && args.length && isSym(args[0])) {
          if (out.name !== args[0].name) alias.set(out.name, root(args[0].name));
          events.push({ def: null, bytes: 0, uses, seg });
          return out;
        }
        if (prop === "input") {
          events.push({ def: out.name, bytes: bytesOf(out), uses: [], seg });
          return out;
        }
        // ops that return an existing tensor (no-op slices, transposes, broadcasts) allocate nothing
        const fresh = !events.some((e) => e.def === out.name) && !alias.has(out.name);
        events.push({ def: fresh ? out.name : null, bytes: fresh ? bytesOf(out) : 0, uses, seg });
        return out;
      };
    },
  });
  const outs = run(proxy);
  const outputs = new Set((Array.isArray(outs) ? outs : [outs]).map((s: Sym) => root(s.name)));
  const lastUse = new Map<string, number>();
  events.forEach((e, i) => {
    for (const u of e.uses) lastUse.set(u, i);
  });
  const size = new Map<string, number>();
  let live = 0;
  let peakLive = 0;
  let retained = 0;
  let outside = 0;
  const inSegment = new Map<number, number>();
  let largest = 0;
  events.forEach((e, i) => {
    if (e.def) {
      size.set(e.def, e.bytes);
      live += e.bytes;
      retained += e.bytes;
      if (e.seg === null || segOutputs.has(e.def)) outside += e.bytes;
      else inSegment.set(e.seg, (inSegment.get(e.seg) ?? 0) + e.bytes);
      largest = Math.max(largest, e.bytes);
      peakLive = Math.max(peakLive, live);
    }
    for (const u of new Set(e.uses)) {
      if (lastUse.get(u) === i && !outputs.has(u) && size.has(u)) {
        live -= size.get(u)!;
        size.delete(u);
      }
    }
    if (e.def && !lastUse.has(e.def) && !outputs.has(e.def)) {
      live -= e.bytes; // never used: freed right away
      size.delete(e.def);
    }
  });
  const tape = outside + Math.max(0, ...inSegment.values());
  return { peakLive, retained, tape, largest, ops: events.length };
}
