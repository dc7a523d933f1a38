/**
 * Training kernels for tfjs-backend-wasm (Node training scripts, tools/train/).
 *
 * tfjs-backend-wasm 4.22 has the forward kernels every model needs, but two gradient kernels are missing:
 *  - `Conv2DBackpropFilter` (the weight gradient of every conv and conv-transpose): lowered to ONE forward
 *    `Conv2D` (XNNPACK) with batch and channels swapped. (The backend's `Conv3DBackpropFilterV2` on depth-1
 *    views would also do, but it is a direct loop, ~25× slower here, and wrong for strides > 1.)
 *  - `UnsortedSegmentSum` (the gradient of `gather`, i.e. of every embedding table and ImageBind's EOS
 *    pooling): a host loop over the wasm heap.
 * Optionally (`fastBackpropInput`) the existing `Conv2DBackpropInput` is replaced by the same forward-conv
 * lowering. Inference never reaches the two added kernels, so registering them changes no forward numerics.
 */
import * as tf from "@tensorflow/tfjs-core";

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

type Backend = tf.KernelBackend & WasmBackendLike;

/** Run another wasm kernel from inside a kernel. */
function call(b: Backend, name: string, inputs: tf.NamedTensorInfoMap, attrs: object): tf.TensorInfo {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
  return k.kernelFunc({ inputs, backend: b, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

const free = (b: Backend, ...ts: tf.TensorInfo[]) => {
  for (const t of ts) b.disposeData(t.dataId);
};

/**
 * [N, h, w, C] → [N, (h−1)·sh + 1 + extraH, (w−1)·sw + 1 + extraW, C] with the input on the stride grid and zeros
 * elsewhere (a strided conv's output gradient placed on the stride-1 grid).
 */
function zeroInsert(b: Backend, t: tf.TensorInfo, sh: number, sw: number, outH: number, outW: number) {
  const [n, h, w, c] = t.shape;
  const out = b.makeOutput([n, outH, outW, c], "float32");
  const dst = b.typedArrayFromHeap(out);
  dst.fill(0);
  const src = b.typedArrayFromHeap(t);
  for (let q = 0; q < n; q++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const so = ((q * h + i) * w + j) * c;
        dst.set(src.subarray(so, so + c), ((q * outH + i * sh) * outW + j * sw) * c);
      }
  return out;
}

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
}

function checkAttrs(name: string, a: ConvGradAttrs): [number, number] {
  if (a.dataFormat !== undefined && a.dataFormat !== "NHWC")
    throw new Error(`${name} (wasm training kernel): only NHWC is supported`);
  if (a.pad !== "valid") throw new Error(`${name} (wasm training kernel): only 'valid' padding is supported`);
  return typeof a.strides === "number" ? [a.strides, a.strides] : a.strides;
}

const CONV = { pad: "valid", dataFormat: "NHWC", dilations: [1, 1], strides: [1, 1] } as const;

/**
 * dW[u, v, c, o] = Σ_{n,i,j} x[n, i·s + u, j·s + v, c] · dy[n, i, j, o] as ONE forward conv (XNNPACK): input
 * xᵀ [C, H, W, N], filter dy placed on the stride-1 grid [fh, fw, N, O] → [C, kh, kw, O].
 */
function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
  const [sh, sw] = checkAttrs("Conv2DBackpropFilter", attrs);
  const b = args.backend as Backend;
  const [kh, kw, c, o] = attrs.filterShape;
  const [, h, w] = x.shape;
  if (sh === kh && sw === kw && (sh > 1 || sw > 1)) return patchFilterGrad(b, x, dy, [kh, kw, c, o]);
  const fh = h - kh + 1;
  const fw = w - kw + 1;
  const g =
    sh > 1 || sw > 1 || dy.shape[1] !== fh || dy.shape[2] !== fw ? zeroInsert(b, dy, sh, sw, fh, fw) : dy;
  const xt = call(b, "Transpose", { x }, { perm: [3, 1, 2, 0] });
  const gt = call(b, "Transpose", { x: g }, { perm: [1, 2, 0, 3] });
  const y = call(b, "Conv2D", { x: xt, filter: gt }, CONV); // [C, kh, kw, O]
  const out = call(b, "Transpose", { x: y }, { perm: [1, 2, 0, 3] });
  free(b, xt, gt, y);
  if (g !== dy) free(b, g);
  if (out.shape.join() !== [kh, kw, c, o].join())
    throw new Error(
      `Conv2DBackpropFilter (wasm training kernel): got [${out.shape}], want [${[kh, kw, c, o]}]`,
    );
  return out;
}

/**
 * Non-overlapping patches (kernel = stride, e.g. ImageBind's audio stem): dW = patchesᵀ · dy as one matmul,
 * patches [N·oh·ow, kh·kw·C] gathered by a reshape/transpose (zero insertion would cost sh·sw times more).
 */
function patchFilterGrad(
  b: Backend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  [kh, kw, c, o]: [number, number, number, number],
): tf.TensorInfo {
  const [n, , ,] = x.shape;
  const [, oh, ow] = dy.shape;
  const crop = call(b, "Slice", { x }, { begin: [0, 0, 0, 0], size: [n, oh * kh, ow * kw, c] });
  const x5 = { dataId: crop.dataId, dtype: crop.dtype, shape: [n * oh, kh, ow, kw * c] };
  const t = call(b, "Transpose", { x: x5 }, { perm: [1, 3, 0, 2] }); // [kh, kw·C, N·oh, ow]
  const patches = { dataId: t.dataId, dtype: t.dtype, shape: [kh * kw * c, n * oh * ow] };
  const g = { dataId: dy.dataId, dtype: dy.dtype, shape: [n * oh * ow, o] };
  const y = call(
    b,
    "BatchMatMul",
    { a: { ...patches, shape: [1, ...patches.shape] }, b: { ...g, shape: [1, ...g.shape] } },
    { transposeA: false, transposeB: false },
  );
  free(b, crop, t);
  return { dataId: y.dataId, dtype: y.dtype, shape: [kh, kw, c, o] };
}

/**
 * dx = full correlation of dy (on the stride-1 grid) with the flipped, channel-swapped filter, as one forward
 * conv (XNNPACK); rows/columns of x that no output reads get zero. Also the forward of conv2dTranspose.
 */
function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
  const [sh, sw] = checkAttrs("Conv2DBackpropInput", attrs);
  // zero insertion multiplies the work by sh·sw: past that the backend's direct loop is cheaper
  if (sh * sw > MAX_ZERO_INSERT && stockInput)
    return stockInput(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const b = args.backend as Backend;
  const [n, h, w, c] = attrs.inputShape;
  const [kh, kw] = filter.shape;
  const [, oh, ow] = dy.shape;
  const gh = (oh - 1) * sh + 1;
  const gw = (ow - 1) * sw + 1;
  const g = sh > 1 || sw > 1 ? zeroInsert(b, dy, sh, sw, gh, gw) : dy;
  // pad kh−1 before; after: enough to reach h rows of output (h − (gh + kh − 1) extra zero rows when s ∤ h − k)
  const padH = kh - 1 + Math.max(0, h - (gh + kh - 1));
  const padW = kw - 1 + Math.max(0, w - (gw + kw - 1));
  const gp = call(
    b,
    "PadV2",
    { x: g },
    {
      paddings: [
        [0, 0],
        [kh - 1, padH],
        [kw - 1, padW],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const fr = call(b, "Reverse", { x: filter }, { dims: [0, 1] });
  const ft = call(b, "Transpose", { x: fr }, { perm: [0, 1, 3, 2] });
  const out = call(b, "Conv2D", { x: gp, filter: ft }, CONV);
  free(b, gp, fr, ft);
  if (g !== dy) free(b, g);
  if (out.shape.join() !== [n, h, w, c].join())
    throw new Error(`Conv2DBackpropInput (wasm training kernel): got [${out.shape}], want [${[n, h, w, c]}]`);
  return out;
}

function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  const b = args.backend as WasmBackendLike;
  const inner = x.shape.slice(1).reduce((a, d) => a * d, 1);
  const out = b.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  const dst = b.typedArrayFromHeap(out);
  dst.fill(0);
  const src = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue; // TF drops out-of-range ids
    const so = r * inner;
    const d = s * inner;
    for (let j = 0; j < inner; j++) dst[d + j] += src[so + j];
  }
  return out;
}

/**
 * BatchMatMul with `transposeA`/`transposeB` takes a path ~10× slower than the plain product in tfjs-backend-wasm
 * 4.22 (measured: [1536, 4704]·[64, 4704]ᵀ 1.6 s vs 0.12 s), and every Linear forward (x·Wᵀ) and every matmul
 * gradient uses a transposed operand. The wrapper transposes the operand explicitly (one Transpose kernel) and
 * calls the backend's kernel without flags: the same products, summed in XNNPACK's order.
 */
function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (!stockMatMul) throw new Error("BatchMatMul (wasm training kernel): the backend's kernel was not found");
  if (!attrs.transposeA && !attrs.transposeB)
    return stockMatMul(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const be = args.backend as Backend;
  const swap = (t: tf.TensorInfo) => {
    const r = t.shape.length;
    const perm = [...Array(r - 2).keys(), r - 1, r - 2];
    return call(be, "Transpose", { x: t }, { perm });
  };
  const at = attrs.transposeA ? swap(a) : a;
  const bt = attrs.transposeB ? swap(b) : b;
  const out = stockMatMul({
    inputs: { a: at, b: bt },
    backend: be,
    attrs: { ...(args.attrs as object), transposeA: false, transposeB: false },
  } as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  if (at !== a) free(be, at);
  if (bt !== b) free(be, bt);
  return out;
}
let stockMatMul: tf.KernelFunc | null = null;
const fastMatMul = batchMatMul as unknown as tf.KernelFunc;

let registered = false;

export interface WasmTrainingKernelOptions {
  /**
   * Also replace wasm's `Conv2DBackpropInput` (a direct loop, ~10× slower than XNNPACK's forward conv on the
   * training shapes) with the forward-conv lowering above. It changes the float summation order of input
   * gradients and of conv-transpose forwards, so only training processes opt in. Default false.
   */
  fastBackpropInput?: boolean;
  /** Replace wasm's BatchMatMul by the explicit-transpose wrapper above (training processes). Default false. */
  fastMatMul?: boolean;
}

/** Register the missing wasm gradient kernels (idempotent; a no-op for kernels the backend already has). */
export function registerWasmTrainingKernels(opts: WasmTrainingKernelOptions = {}): void {
  if (!registered) {
    registered = true;
    const table: [string, (a: KernelArgs) => tf.TensorInfo][] = [
      ["Conv2DBackpropFilter", conv2dBackpropFilter],
      ["UnsortedSegmentSum", unsortedSegmentSum],
    ];
    for (const [kernelName, f] of table) {
      if (tf.getKernel(kernelName, "wasm")) continue;
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: f as unknown as tf.KernelFunc });
    }
  }
  const current = tf.getKernel("Conv2DBackpropInput", "wasm");
  if (opts.fastBackpropInput && current?.kernelFunc !== fastInput) {
    if (current) {
      stockInput = current.kernelFunc;
      tf.unregisterKernel("Conv2DBackpropInput", "wasm");
    }
    tf.registerKernel({ kernelName: "Conv2DBackpropInput", backendName: "wasm", kernelFunc: fastInput });
  }
  const mm = tf.getKernel("BatchMatMul", "wasm");
  if (opts.fastMatMul && mm && mm.kernelFunc !== fastMatMul) {
    stockMatMul = mm.kernelFunc;
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: fastMatMul });
  }
}

const fastInput = conv2dBackpropInput as unknown as tf.KernelFunc;
/** The backend's own kernel, kept for strides where zero insertion would cost more than it saves. */
let stockInput: tf.KernelFunc | null = null;
const MAX_ZERO_INSERT = 8;
