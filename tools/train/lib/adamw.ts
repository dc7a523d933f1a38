/**
 * AdamW (Loshchilov & Hutter; torch.optim.AdamW semantics: bias-corrected moments, decoupled weight decay on
 * rank ≥ 2 weights only) with global-norm gradient clipping. Written here rather than using tf.train.adam so
 * its state is keyed by parameter name and round-trips through our checkpoints exactly.
 */
import { tf } from "../../../src/engine/ops/tfjs.js";

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clip the global L2 norm of all gradients to this value (0: off). */
  clipNorm?: number;
}

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;
  private readonly clip: number;

  constructor(opts: AdamWOptions = {}) {
    [this.b1, this.b2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.wd = opts.weightDecay ?? 0;
    this.clip = opts.clipNorm ?? 0;
  }

  /** Apply one update; `grads` keyed like `vars`. Returns the gradient norm before clipping. */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): number {
    this.step++;
    const t = this.step;
    const names = [...vars.keys()].filter((k) => grads[k]);
    const normT = tf.tidy(() => tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]))))));
    const norm = normT.dataSync()[0];
    normT.dispose();
    const scale = this.clip > 0 && norm > this.clip ? this.clip / norm : 1;
    const c1 = 1 - this.b1 ** t;
    const c2 = 1 - this.b2 ** t;
    for (const k of names) {
      const p = vars.get(k)!;
      let m = this.m.get(k);
      let v = this.v.get(k);
      if (!m || !v) {
        m = tf.variable(tf.zerosLike(p), false, `${k}#m`);
        v = tf.variable(tf.zerosLike(p), false, `${k}#v`);
        this.m.set(k, m);
        this.v.set(k, v);
      }
      const mm = m;
      const vv = v;
      tf.tidy(() => {
        const g = scale === 1 ? grads[k] : tf.mul(grads[k], scale);
        const m1 = tf.add(tf.mul(mm, this.b1), tf.mul(g, 1 - this.b1));
        const v1 = tf.add(tf.mul(vv, this.b2), tf.mul(tf.square(g), 1 - this.b2));
        let upd: tf.Tensor = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), this.eps));
        if (this.wd > 0 && p.rank >= 2) upd = tf.add(upd, tf.mul(p, this.wd));
        p.assign(tf.sub(p, tf.mul(upd, lr)));
        mm.assign(m1);
        vv.assign(v1);
      });
    }
    return norm;
  }

  async state(): Promise<AdamWState> {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [k, t] of this.m) m.set(k, (await t.data()) as Float32Array);
    for (const [k, t] of this.v) v.set(k, (await t.data()) as Float32Array);
    return { step: this.step, m, v };
  }

  /** Restore moments saved by `state()`; the variables they belong to must already exist in `vars`. */
  load(s: AdamWState, vars: ReadonlyMap<string, tf.Variable>): void {
    this.step = s.step;
    for (const [k, p] of vars) {
      const mv = s.m.get(k);
      const vv = s.v.get(k);
      if (!mv || !vv) continue;
      this.m.set(k, tf.variable(tf.tensor(mv, p.shape), false, `${k}#m`));
      this.v.set(k, tf.variable(tf.tensor(vv, p.shape), false, `${k}#v`));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** A trainable parameter held on the host: its values (updated in place) and rank (weight decay: rank ≥ 2). */
export interface HostParam {
  data: Float32Array;
  rank: number;
}

/**
 * The same AdamW on host Float32Arrays (the ORT training loop, whose gradients come back from the session): each
 * element goes through the same float32 operations as `AdamW.apply` (every intermediate rounded with
 * Math.fround), so the two agree to float32 rounding; only the global norm is summed in float64.
 */
export class HostAdamW {
  step = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;
  private readonly clip: number;

  constructor(opts: AdamWOptions = {}) {
    [this.b1, this.b2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.wd = opts.weightDecay ?? 0;
    this.clip = opts.clipNorm ?? 0;
  }

  /** Apply one update to `params` (in place); `grads` keyed like `params`. Returns the norm before clipping. */
  apply(
    params: ReadonlyMap<string, HostParam>,
    grads: ReadonlyMap<string, Float32Array>,
    lr: number,
  ): number {
    this.step++;
    const f = Math.fround;
    const names = [...params.keys()].filter((k) => grads.has(k));
    let sq = 0;
    for (const k of names) for (const g of grads.get(k)!) sq += g * g;
    const norm = f(Math.sqrt(sq));
    const scale = this.clip > 0 && norm > this.clip ? f(this.clip / norm) : 1;
    const [b1, b2, nb1, nb2] = [f(this.b1), f(this.b2), f(1 - this.b1), f(1 - this.b2)];
    const c1 = f(1 - this.b1 ** this.step);
    const c2 = f(1 - this.b2 ** this.step);
    const eps = f(this.eps);
    const wd = f(this.wd);
    const flr = f(lr);
    for (const k of names) {
      const p = params.get(k)!;
      const g = grads.get(k)!;
      let m = this.m.get(k);
      let v = this.v.get(k);
      if (!m || !v) {
        m = new Float32Array(p.data.length);
        v = new Float32Array(p.data.length);
        this.m.set(k, m);
        this.v.set(k, v);
      }
      const decay = this.wd > 0 && p.rank >= 2;
      const w = p.data;
      for (let i = 0; i < w.length; i++) {
        const gi = scale === 1 ? g[i] : f(g[i] * scale);
        const m1 = f(f(m[i] * b1) + f(gi * nb1));
        const v1 = f(f(v[i] * b2) + f(f(gi * gi) * nb2));
        let upd = f(f(m1 / c1) / f(f(Math.sqrt(f(v1 / c2))) + eps));
        if (decay) upd = f(upd + f(w[i] * wd));
        w[i] = f(w[i] - f(upd * flr));
        m[i] = m1;
        v[i] = v1;
      }
    }
    return norm;
  }

  state(): AdamWState {
    return { step: this.step, m: new Map(this.m), v: new Map(this.v) };
  }

  /** Restore moments saved by `state()` (or by `AdamW`'s checkpoints) for the parameters in `params`. */
  load(s: AdamWState, params: ReadonlyMap<string, HostParam>): void {
    this.step = s.step;
    for (const [k, p] of params) {
      const mv = s.m.get(k);
      const vv = s.v.get(k);
      if (!mv || !vv) continue;
      if (mv.length !== p.data.length || vv.length !== p.data.length)
        throw new Error(`AdamW state of ${k}: ${mv.length} values for a tensor of ${p.data.length}`);
      this.m.set(k, Float32Array.from(mv));
      this.v.set(k, Float32Array.from(vv));
    }
  }
}
