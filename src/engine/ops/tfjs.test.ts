import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { relL2 } from "../../../test/support/golden.js";
import { conv2dRef, convTranspose2dRef, maxAbsDiff, randn } from "../../../test/support/naive.js";
import { Param } from "./param.js";
import { TfjsOps, valueAndGrads } from "./tfjs.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const ops = new TfjsOps();
const t = (d: Float32Array, s: number[]) => tf.tensor(d, s);

describe("TfjsOps conv", () => {
  const cases: {
    name: string;
    xs: number[];
    ws: number[];
    stride: [number, number];
    pad: [[number, number], [number, number]];
    dil: [number, number];
  }[] = [
    {
      name: "3x3 pad 1",
      xs: [2, 3, 7, 6],
      ws: [4, 3, 3, 3],
      stride: [1, 1],
      pad: [
        [1, 1],
        [1, 1],
      ],
      dil: [1, 1],
    },
    {
      name: "k16 s10 (ImageBind audio stem)",
      xs: [1, 1, 38, 52],
      ws: [5, 1, 16, 16],
      stride: [10, 10],
      pad: [
        [0, 0],
        [0, 0],
      ],
      dil: [1, 1],
    },
    {
      name: "stride 2 asymmetric pad (VAE downsample)",
      xs: [1, 2, 8, 9],
      ws: [3, 2, 3, 3],
      stride: [2, 2],
      pad: [
        [0, 1],
        [0, 1],
      ],
      dil: [1, 1],
    },
    {
      name: "1d dilation 5 (HiFiGAN resblock)",
      xs: [2, 3, 1, 40],
      ws: [3, 3, 1, 11],
      stride: [1, 1],
      pad: [
        [0, 0],
        [25, 25],
      ],
      dil: [1, 5],
    },
    {
      name: "1d dilation 3, odd length",
      xs: [1, 2, 1, 23],
      ws: [2, 2, 1, 7],
      stride: [1, 1],
      pad: [
        [0, 0],
        [9, 9],
      ],
      dil: [1, 3],
    },
  ];
  for (const c of cases) {
    it(`matches the float64 reference: ${c.name}`, () => {
      const x = randn(
        c.xs.reduce((a, b) => a * b),
        1,
      );
      const w = randn(
        c.ws.reduce((a, b) => a * b),
        2,
        0.3,
      );
      const b = randn(c.ws[0], 3);
      const ref = conv2dRef(x, c.xs, w, c.ws, b, c.stride, c.pad, c.dil);
      const is1d = c.xs[2] === 1 && c.ws[2] === 1;
      const y = tf.tidy(() =>
        is1d
          ? ops.conv(t(x, [c.xs[0], c.xs[1], c.xs[3]]), t(w, [c.ws[0], c.ws[1], c.ws[3]]), t(b, [c.ws[0]]), {
              stride: c.stride[1],
              padding: [c.pad[1]],
              dilation: c.dil[1],
            })
          : ops.conv(t(x, c.xs), t(w, c.ws), t(b, [c.ws[0]]), {
              stride: c.stride,
              padding: c.pad,
              dilation: c.dil,
            }),
      );
      const expected = is1d ? [ref.shape[0], ref.shape[1], ref.shape[3]] : ref.shape;
      expect(y.shape).toEqual(expected);
      expect(maxAbsDiff(y.dataSync(), ref.data)).toBeLessThan(1e-4);
      y.dispose();
    });
  }

  it("lowers a kernel==stride conv3d to patches exactly (ImageBind PadIm2Video stem)", () => {
    const xs = [2, 3, 2, 28, 14];
    const ws = [5, 3, 2, 14, 14];
    const x = randn(
      xs.reduce((a, b) => a * b),
      4,
    );
    const w = randn(
      ws.reduce((a, b) => a * b),
      5,
      0.1,
    );
    const y = tf.tidy(() => ops.conv(t(x, xs), t(w, ws), null, { stride: [2, 14, 14] }));
    expect(y.shape).toEqual([2, 5, 1, 2, 1]);
    // reference: direct sum
    const out = y.dataSync();
    let worst = 0;
    for (let n = 0; n < 2; n++)
      for (let o = 0; o < 5; o++)
        for (let ph = 0; ph < 2; ph++) {
          let s = 0;
          for (let c = 0; c < 3; c++)
            for (let d = 0; d < 2; d++)
              for (let i = 0; i < 14; i++)
                for (let j = 0; j < 14; j++)
                  s +=
                    x[(((n * 3 + c) * 2 + d) * 28 + ph * 14 + i) * 14 + j] *
                    w[(((o * 3 + c) * 2 + d) * 14 + i) * 14 + j];
          worst = Math.max(worst, Math.abs(out[(n * 5 + o) * 2 + ph] - s));
        }
    expect(worst).toBeLessThan(1e-4);
    y.dispose();
  });

  it("accumulates like torch on the cpu backend (im2col + matMul, not tap-by-tap float32 sums)", () => {
    // HiFi-GAN's widest resblock conv: 256 channels, k 11, dilation 5. The cpu backend's own Conv2D kernel
    // lands at ~9e-7 relative L2 here (one float32 rounding per product), the matMul lowering at ~1.5e-7.
    const [c, k, l] = [256, 11, 64];
    const x = randn(c * l, 11);
    const w = randn(c * c * k, 12, 1 / Math.sqrt(c * k));
    const ref = conv2dRef(
      x,
      [1, c, 1, l],
      w,
      [c, c, 1, k],
      null,
      [1, 1],
      [
        [0, 0],
        [25, 25],
      ],
      [1, 5],
    );
    const y = tf.tidy(() => ops.conv(t(x, [1, c, l]), t(w, [c, c, k]), null, { padding: 25, dilation: 5 }));
    expect(relL2(y.dataSync(), ref.data).rel).toBeLessThan(3e-7);
    y.dispose();
  });

  it("gives the float64 transposed-conv gradient through a strided conv2d (frozen or traced weight)", () => {
    // L = Σ conv(x)·p ⇒ dL/dx = convTranspose(p, w) (rows/cols the floor drops get zero gradient). A frozen
    // weight (ops.constant / params) takes the custom-gradient path, any other tensor the im2col graph.
    const xs = [2, 3, 9, 8];
    const ws = [4, 3, 3, 3];
    const x = t(randn(2 * 3 * 9 * 8, 13), xs);
    const w = randn(4 * 3 * 3 * 3, 14, 0.3);
    const p = randn(2 * 4 * 4 * 3, 15);
    const ref = convTranspose2dRef(p, [2, 4, 4, 3], w, ws, null, [2, 2], [0, 0], [0, 1]);
    expect(ref.shape).toEqual(xs);
    const local = new TfjsOps();
    for (const wt of [t(w, ws), local.constant(w, ws)]) {
      const f = (xi: tf.Tensor) =>
        tf.sum(tf.mul(local.conv(xi, wt, null, { stride: 2 }), t(p, [2, 4, 4, 3])));
      const { grads } = valueAndGrads(f, [x]);
      expect(maxAbsDiff(grads[0].dataSync(), ref.data)).toBeLessThan(1e-5);
    }
    // a traced weight still gets its gradient: dL/dw = Σ_n p ⋆ x (checked against the frozen-path forward)
    const wt = t(w, ws);
    const { grads } = valueAndGrads(
      (wi: tf.Tensor) => tf.sum(tf.mul(local.conv(x, wi, null, { stride: 2 }), t(p, [2, 4, 4, 3]))),
      [wt],
    );
    const e = 1e-2;
    for (const idx of [0, 40, 107]) {
      const plus = Float32Array.from(w);
      const minus = Float32Array.from(w);
      plus[idx] += e;
      minus[idx] -= e;
      const val = (v: Float32Array) =>
        tf.sum(tf.mul(local.conv(x, t(v, ws), null, { stride: 2 }), t(p, [2, 4, 4, 3]))).dataSync()[0];
      const fd = (val(plus) - val(minus)) / (2 * e);
      expect(Math.abs(grads[0].dataSync()[idx] - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
    local.dispose();
  });

  it("takes gradients through a dilated conv (tfjs has none natively)", () => {
    const x = t(randn(2 * 3 * 30, 6), [2, 3, 30]);
    const w = t(randn(3 * 3 * 3, 7, 0.3), [3, 3, 3]);
    const f = (xi: tf.Tensor) => tf.sum(tf.square(ops.conv(xi, w, null, { padding: 3, dilation: 3 })));
    const { grads } = valueAndGrads(f, [x]);
    // central differences on a few coordinates
    const xd = x.dataSync();
    for (const idx of [0, 17, 45, 100, 179]) {
      const e = 1e-2;
      const plus = Float32Array.from(xd);
      const minus = Float32Array.from(xd);
      plus[idx] += e;
      minus[idx] -= e;
      const fp = f(t(plus, [2, 3, 30])).dataSync()[0];
      const fm = f(t(minus, [2, 3, 30])).dataSync()[0];
      const fd = (fp - fm) / (2 * e);
      expect(Math.abs(grads[0].dataSync()[idx] - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe("TfjsOps convTranspose", () => {
  const cases = [
    {
      name: "HiFiGAN k16 s5 p5",
      xs: [1, 4, 1, 9],
      ws: [4, 2, 1, 16],
      stride: [1, 5] as [number, number],
      pad: [0, 5] as [number, number],
      op: [0, 0] as [number, number],
    },
    {
      name: "k4 s2 p1",
      xs: [2, 3, 5, 4],
      ws: [3, 2, 4, 4],
      stride: [2, 2] as [number, number],
      pad: [1, 1] as [number, number],
      op: [0, 0] as [number, number],
    },
    {
      name: "output padding",
      xs: [1, 2, 3, 3],
      ws: [2, 2, 3, 3],
      stride: [2, 2] as [number, number],
      pad: [1, 1] as [number, number],
      op: [1, 1] as [number, number],
    },
  ];
  for (const c of cases) {
    it(`matches the float64 reference: ${c.name}`, () => {
      const x = randn(
        c.xs.reduce((a, b) => a * b),
        8,
      );
      const w = randn(
        c.ws.reduce((a, b) => a * b),
        9,
        0.3,
      );
      const b = randn(c.ws[1], 10);
      const ref = convTranspose2dRef(x, c.xs, w, c.ws, b, c.stride, c.pad, c.op);
      const is1d = c.xs[2] === 1;
      const y = tf.tidy(() =>
        is1d
          ? ops.convTranspose(
              t(x, [c.xs[0], c.xs[1], c.xs[3]]),
              t(w, [c.ws[0], c.ws[1], c.ws[3]]),
              t(b, [c.ws[1]]),
              {
                stride: c.stride[1],
                padding: c.pad[1],
              },
            )
          : ops.convTranspose(t(x, c.xs), t(w, c.ws), t(b, [c.ws[1]]), {
              stride: c.stride,
              padding: c.pad,
              outputPadding: c.op,
            }),
      );
      expect(y.shape).toEqual(is1d ? [ref.shape[0], ref.shape[1], ref.shape[3]] : ref.shape);
      expect(maxAbsDiff(y.dataSync(), ref.data)).toBeLessThan(1e-4);
      y.dispose();
    });
  }
});

describe("TfjsOps misc", () => {
  it("softmax on a non-last axis, layerNorm, attention chunking equal the unchunked result", () => {
    const x = t(randn(2 * 5 * 3, 11), [2, 5, 3]);
    const s = ops.softmax(x, 1);
    const sums = tf.sum(s, 1).dataSync();
    for (const v of sums) expect(v).toBeCloseTo(1, 5);
    const ln = ops.layerNorm(x, null, null, 1e-6, 1);
    const m = tf.mean(ln, [1, 2]).dataSync();
    for (const v of m) expect(Math.abs(v)).toBeLessThan(1e-5);
    const q = t(randn(2 * 3 * 17 * 4, 12), [2, 3, 17, 4]);
    const k = t(randn(2 * 3 * 9 * 4, 13), [2, 3, 9, 4]);
    const v = t(randn(2 * 3 * 9 * 5, 14), [2, 3, 9, 5]);
    const bias = t(randn(17 * 9, 15), [1, 1, 17, 9]);
    const full = ops.attention(q, k, v, { scale: 0.5, bias });
    const chunked = new TfjsOps({ attentionChunkElements: 2 * 3 * 9 * 4 }).attention(q, k, v, {
      scale: 0.5,
      bias,
    });
    expect(chunked.shape).toEqual([2, 3, 17, 5]);
    expect(maxAbsDiff(full.dataSync(), chunked.dataSync())).toBeLessThan(1e-6);
  });

  it("caches params per version and reports a clear error for unloaded weights", () => {
    const p = new Param([2, 3]);
    p.name = "layer.weight";
    expect(() => ops.param(p)).toThrow(/layer\.weight.*not loaded/);
    p.set(new Float32Array(6).fill(1));
    const a = ops.param(p);
    expect(ops.param(p)).toBe(a);
    p.set(new Float32Array(6).fill(2));
    expect(ops.param(p).dataSync()[0]).toBe(2);
  });

  it("linear equals x Wᵀ + b on 3-D input", () => {
    const w = new Param([4, 3]);
    const b = new Param([4]);
    w.set(randn(12, 20));
    b.set(randn(4, 21));
    const xd = randn(2 * 5 * 3, 22);
    const y = ops.linear(t(xd, [2, 5, 3]), w, b).dataSync();
    let worst = 0;
    for (let r = 0; r < 10; r++)
      for (let o = 0; o < 4; o++) {
        let s = b.data![o];
        for (let i = 0; i < 3; i++) s += xd[r * 3 + i] * w.data![o * 3 + i];
        worst = Math.max(worst, Math.abs(y[r * 4 + o] - s));
      }
    expect(worst).toBeLessThan(1e-5);
  });
});

describe("TfjsOps frozen-weight conv fast path (wasm)", () => {
  it("matches the float64 reference in value and input gradient, incl. dilation and asymmetric padding", async () => {
    const { withTfjsBackend } = await import("../../../test/support/tfjs-backend.js");
    await withTfjsBackend("wasm", async () => {
      if (tf.getBackend() !== "wasm") return; // wasm unavailable: nothing to test here
      const fast = new TfjsOps();
      const cases = [
        {
          xs: [1, 6, 1, 37],
          ws: [5, 6, 1, 7],
          pad: [
            [0, 0],
            [9, 9],
          ] as [[number, number], [number, number]],
          dil: [1, 3] as [number, number],
        },
        {
          xs: [2, 3, 9, 8],
          ws: [4, 3, 3, 3],
          pad: [
            [1, 1],
            [1, 1],
          ] as [[number, number], [number, number]],
          dil: [1, 1] as [number, number],
        },
        {
          xs: [1, 2, 7, 6],
          ws: [3, 2, 3, 2],
          pad: [
            [0, 2],
            [1, 0],
          ] as [[number, number], [number, number]],
          dil: [2, 1] as [number, number],
        },
      ];
      for (const c of cases) {
        const x = randn(
          c.xs.reduce((a, b) => a * b),
          31,
        );
        const wv = randn(
          c.ws.reduce((a, b) => a * b),
          32,
          0.3,
        );
        const p = new Param(c.ws);
        p.name = "w";
        p.set(wv);
        const ref = conv2dRef(x, c.xs, wv, c.ws, null, [1, 1], c.pad, c.dil);
        const probe = randn(ref.data.length, 33);
        // dL/dx for L = Σ conv(x)·probe is the transposed conv of the probe: reference by finite-free adjoint
        const xt = tf.tensor(x, c.xs);
        const f = (xi: tf.Tensor) =>
          tf.sum(
            tf.mul(
              fast.conv(xi, fast.param(p), null, { padding: c.pad, dilation: c.dil }),
              tf.tensor(probe, ref.shape),
            ),
          );
        const { value, grads } = valueAndGrads(f, [xt]);
        let dot = 0;
        for (let i = 0; i < probe.length; i++) dot += probe[i] * ref.data[i];
        expect(Math.abs(value.dataSync()[0] - dot)).toBeLessThan(1e-3 * Math.max(1, Math.abs(dot)));
        // exact float64 adjoint: dx[n,c,i,j] = Σ probe[n,o,y,q]·w[o,c,ki,kj] over y − p_t + ki·d_h = i, q − p_l + kj·d_w = j
        const [n, ci, h, wd] = c.xs;
        const [o, , kh, kw] = c.ws;
        const [, , oh, ow] = ref.shape;
        const dx = new Float64Array(x.length);
        for (let b = 0; b < n; b++)
          for (let oc = 0; oc < o; oc++)
            for (let yy = 0; yy < oh; yy++)
              for (let qq = 0; qq < ow; qq++) {
                const pv = probe[((b * o + oc) * oh + yy) * ow + qq];
                for (let cc = 0; cc < ci; cc++)
                  for (let ki = 0; ki < kh; ki++)
                    for (let kj = 0; kj < kw; kj++) {
                      const i = yy - c.pad[0][0] + ki * c.dil[0];
                      const j = qq - c.pad[1][0] + kj * c.dil[1];
                      if (i < 0 || i >= h || j < 0 || j >= wd) continue;
                      dx[((b * ci + cc) * h + i) * wd + j] += pv * wv[((oc * ci + cc) * kh + ki) * kw + kj];
                    }
              }
        expect(maxAbsDiff(grads[0].dataSync(), dx)).toBeLessThan(1e-4);
      }
      fast.dispose();
    });
  });
});

describe("TfjsOps checkpoint (gradient checkpointing)", () => {
  it("gives the same value and gradient as the plain graph and keeps less memory alive", async () => {
    const w1 = t(randn(8 * 8 * 3, 40, 0.3), [8, 8, 3]);
    const w2 = t(randn(8 * 8 * 3, 41, 0.3), [8, 8, 3]);
    const block = (ops: TfjsOps) => (v: tf.Tensor) =>
      ops.add(
        v,
        ops.conv(
          ops.leakyRelu(ops.conv(ops.leakyRelu(v, 0.1), w1, null, { padding: 3, dilation: 3 }), 0.1),
          w2,
          null,
          { padding: 1 },
        ),
      );
    const x = t(randn(8 * 1500, 42), [1, 8, 1500]);
    const run = async (checkpointing: boolean) => {
      const ops = new TfjsOps({ checkpointing });
      const f = (xi: tf.Tensor) => {
        let h = xi;
        for (let k = 0; k < 5; k++) h = ops.checkpoint(block(ops), h);
        return tf.sum(tf.square(h));
      };
      const info = await tf.profile(() => {
        const { value, grads } = valueAndGrads(f, [x]);
        return tf.concat([tf.reshape(value, [1]), tf.reshape(grads[0], [-1])]);
      });
      const out = tf.tidy(() => {
        const { value, grads } = valueAndGrads(f, [x]);
        return { v: value.dataSync()[0], g: grads[0].dataSync().slice() };
      });
      ops.dispose();
      return { ...out, peak: info.peakBytes };
    };
    const plain = await run(false);
    const ckpt = await run(true);
    expect(ckpt.v).toBe(plain.v);
    expect(maxAbsDiff(ckpt.g, plain.g)).toBeLessThan(1e-5 * Math.max(...plain.g.map(Math.abs)));
    expect(ckpt.peak).toBeLessThan(plain.peak * 0.7);
  });
});
