/** Summaries of an onnxruntime profile (the chrome-trace JSON written with `enableProfiling`). */

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; output_type_shape?: unknown; activation_size?: string; parameter_size?: string };
}

export interface ProfileSummary {
  /** total kernel µs by op type, descending */
  byOp: { op: string; us: number; count: number }[];
  /** slowest single nodes */
  top: { node: string; op: string; us: number; shape: string }[];
  totalUs: number;
  text: string;
}

/** `runs`: how many session runs the trace covers (times are reported per run). */
export function summarizeProfile(events: readonly TraceEvent[], topN = 15, runs = 1): ProfileSummary {
  const byOp = new Map<string, { us: number; count: number }>();
  const nodes: { node: string; op: string; us: number; shape: string }[] = [];
  const nodeIndex = new Map<string, { node: string; op: string; us: number; shape: string }>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    const us = (e.dur ?? 0) / runs;
    total += us;
    const r = byOp.get(op) ?? { us: 0, count: 0 };
    r.us += us;
    byOp.set(op, r);
    const prev = nodeIndex.get(e.name);
    if (prev) {
      prev.us += us;
      continue;
    }
    r.count++;
    const n = {
      node: e.name.replace(/_kernel_time$/, ""),
      op,
      us,
      shape: JSON.stringify(e.args?.output_type_shape ?? ""),
    };
    nodeIndex.set(e.name, n);
    nodes.push(n);
  }
  const ops = [...byOp].map(([op, r]) => ({ op, ...r })).sort((a, b) => b.us - a.us);
  const top = nodes.sort((a, b) => b.us - a.us).slice(0, topN);
  const lines = [`kernel total ${(total / 1e3).toFixed(0)} ms per run`];
  for (const o of ops)
    lines.push(
      `  ${o.op.padEnd(28)} ${(o.us / 1e3).toFixed(1).padStart(9)} ms  ${((100 * o.us) / total).toFixed(1).padStart(5)}%  ×${o.count}`,
    );
  lines.push("slowest nodes:");
  for (const n of top)
    lines.push(`  ${(n.us / 1e3).toFixed(1).padStart(8)} ms  ${n.op} ${n.node} ${n.shape}`);
  return { byOp: ops, top, totalUs: total, text: lines.join("\n") };
}
