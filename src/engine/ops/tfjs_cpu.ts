/**
 * Faster kernels for tfjs-backend-cpu (Node tests and the pure-JS fallback).
 *
 * The stock cpu `Slice` copies a non-contiguous slice element by element through TensorBuffer index
 * arithmetic; on the model paths (attention splits, conv-transpose cropping, the dilated-conv lowering) it
 * dominated run time (a tiny ImageBind audio forward spent 2.4 s of 3 s in Slice). This kernel copies the
 * innermost contiguous runs instead. Results are identical (a copy).
 */

import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";

type Values = Float32Array | Int32Array | Uint8Array;

function fastSlice(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const cpu = args.backend as MathBackendCPU;
  const attrs = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  const src = cpu.data.get(x.dataId).values as Values;
  const shape = x.shape;
  const rank = shape.length;
  const total = size.reduce((a, b) => a * b, 1);
  const Ctor = src.constructor as { new (n: number): Values };
  const out = new Ctor(total);
  if (total === 0) return cpu.makeTensorInfo(size, x.dtype, out);
  // Collapse trailing dims that are taken whole into one contiguous run.
  let k = rank - 1;
  let run = 1;
  while (k >= 0 && begin[k] === 0 && size[k] === shape[k]) run *= shape[k--];
  if (k < 0) {
    out.set(src.subarray(0, total));
    return cpu.makeTensorInfo(size, x.dtype, out);
  }
  run *= size[k];
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  // iterate over the outer index space [0..k)
  const idx = new Array<number>(k).fill(0);
  const baseInner = begin[k] * strides[k];
  let o = 0;
  for (;;) {
    let off = baseInner;
    for (let d = 0; d < k; d++) off += (begin[d] + idx[d]) * strides[d];
    out.set(src.subarray(off, off + run), o);
    o += run;
    let d = k - 1;
    while (d >= 0 && ++idx[d] === size[d]) idx[d--] = 0;
    if (d < 0) break;
  }
  return cpu.makeTensorInfo(size, x.dtype, out);
}

let registered = false;

/** Replace the cpu backend's Slice with the run-copying kernel (idempotent). */
export function registerFastCpuKernels(): void {
  if (registered) return;
  registered = true;
  const existing = tf.getKernel("Slice", "cpu");
  if (existing) tf.unregisterKernel("Slice", "cpu");
  tf.registerKernel({
    kernelName: "Slice",
    backendName: "cpu",
    kernelFunc: fastSlice as unknown as tf.KernelFunc,
  });
}
