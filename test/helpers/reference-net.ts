/**
 * A plain, loop-by-loop forward pass of a Network's chain in double precision: the
 * reference the native kernels (native/core/layers) are checked against.
 */
import type { Network } from '../../src/index.js';

export function referenceForward(net: Network, x: Float32Array, opts: { logits?: boolean } = {}): Float64Array {
  const d = net.inputSize;
  const n = x.length / d;
  const p = net.parameters();
  const K = net.outputSize;
  const out = new Float64Array(n * K);
  for (let r = 0; r < n; r++) {
    let a: number[] = Array.from(x.subarray(r * d, (r + 1) * d));
    for (const op of net.inputOps) {
      const v = op.value;
      const per = net.inputShape[1] * net.inputShape[2];
      const at = (j: number) => (typeof v === 'number' ? v : v.length === 1 ? v[0] : v.length === net.inputShape[0] ? v[Math.floor(j / per)] : v[j]);
      a = a.map((t, j) => (op.op === 'add' ? t + at(j) : op.op === 'sub' ? t - at(j) : op.op === 'mul' ? t * at(j) : t / at(j)));
    }
    let k = 0;
    net.chain.forEach((l, li) => {
      const [C, H, W] = l.in;
      const [O, Ho, Wo] = l.out;
      let z: number[];
      if (l.kind === 'dense') {
        const w = p.weights[k], b = p.biases[k];
        z = Array.from({ length: l.units! }, (_, o) => {
          let s = b ? b[o] : 0;
          for (let i = 0; i < a.length; i++) s += w[o * a.length + i] * a[i];
          return s;
        });
        k++;
      } else {
        const [kh, kw, sh, sw, pt, pl] = l.window!;
        const w = l.kind === 'conv' ? p.weights[k] : null;
        const b = l.kind === 'conv' ? p.biases[k] : null;
        z = new Array(O * Ho * Wo).fill(0);
        for (let o = 0; o < O; o++)
          for (let y = 0; y < Ho; y++)
            for (let xo = 0; xo < Wo; xo++) {
              let s = 0, m = -Infinity, cnt = 0;
              for (let c = l.kind === 'conv' ? 0 : o; c < (l.kind === 'conv' ? C : o + 1); c++)
                for (let i = 0; i < kh; i++)
                  for (let j = 0; j < kw; j++) {
                    const u = y * sh + i - pt, v = xo * sw + j - pl;
                    if (u < 0 || u >= H || v < 0 || v >= W) continue;
                    const val = a[(c * H + u) * W + v];
                    if (l.kind === 'conv') s += w![((o * C + c) * kh + i) * kw + j] * val;
                    else {
                      s += val;
                      m = Math.max(m, val);
                      cnt++;
                    }
                  }
              const idx = (o * Ho + y) * Wo + xo;
              if (l.kind === 'conv') z[idx] = s + (b ? b[o] : 0);
              else if (l.kind === 'maxpool') z[idx] = m;
              else z[idx] = s / (l.countIncludePad ? kh * kw : cnt);
            }
        if (l.kind === 'conv') k++;
      }
      const last = li === net.chain.length - 1;
      const mult = l.dropout ? l.post * net.hiddenScale : l.post;
      a = z.map((v) => {
        let t = v * l.pre;
        if (!last && l.relu) t = Math.max(0, t);
        return last ? t : t * mult;
      });
    });
    let o = a;
    if (!opts.logits) {
      if (net.output === 'relu') o = a.map((v) => Math.max(0, v));
      else if (net.output === 'softmax' || net.output === 'logsoftmax') {
        const T = net.temperature;
        const mx = Math.max(...a.map((v) => v / T));
        const e = a.map((v) => Math.exp(v / T - mx));
        const s = e.reduce((q, v) => q + v, 0);
        o = net.output === 'softmax' ? e.map((v) => v / s) : a.map((v) => v / T - mx - Math.log(s));
      }
    }
    out.set(o, r * K);
  }
  return out;
}

/** A seeded uniform generator in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
