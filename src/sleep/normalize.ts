/**
 * Layer scale factors (data-based normalisation, sleep-algorithm.md §2).
 *
 * With the ANN in test mode over the data X, for every weight layer l = 1..L:
 *
 *     s_l = max( max_ij max(0, W_l[i,j]),  max over X of max(0, a_l) )
 *
 * (percentile: the p-th percentile of the positive activations instead of their maximum).
 * The factor of layer l, alpha_l = alpha_scale · factor_l, is
 *
 *     release (the authors' code):  r_l = s_l / r_(l-1), r_0 = 1;  factor_l = 1 / r_l
 *     diehl   (Diehl et al. 2015):  factor_l = s_(l-1) / s_l,  s_0 = 1
 *
 * The two agree on layers 1 and 2 and differ from layer 3 on.
 */
import { Network } from '../model/network.js';
import type { RunOptions } from '../util/control.js';
import { throwIfAborted } from '../util/control.js';
import type { Normalization } from './presets.js';

export interface ScaleFactors {
  normalization: Normalization;
  /** s_l, one per weight layer. */
  layerMax: number[];
  /** factor_l = alpha_l / alpha_scale, one per weight layer. */
  factors: number[];
}

/** The chain of factors from the layer maxima s_l. */
export function scaleChain(layerMax: number[], normalization: Normalization): number[] {
  if (normalization === 'diehl') return layerMax.map((s, l) => (l === 0 ? 1 : layerMax[l - 1]) / s);
  const out: number[] = [];
  let prev = 1;
  for (const s of layerMax) {
    const r = s / prev;
    out.push(1 / r);
    prev = r;
  }
  return out;
}

const HIST_SHIFT = 11; // 2^20 bins over the bits of positive float32: relative resolution 2^-12
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function binValue(bin: number): number {
  u32[0] = (bin << HIST_SHIFT) | (1 << (HIST_SHIFT - 1));
  return f32[0];
}

/**
 * s_l for every weight layer, over the rows of x (n × n0), computed in chunks of `chunk`
 * rows. With `percentile` set, the percentile of the positive activations (from a
 * histogram of float32 bit patterns, 2^-12 relative resolution) replaces their maximum.
 */
export async function layerMaxima(
  net: Network,
  x: Float32Array,
  opts: RunOptions & { percentile?: number; chunk?: number } = {},
): Promise<number[]> {
  const L = net.weightLayers;
  const n0 = net.inputSize;
  const n = x.length / n0;
  // rows per chunk: every layer's activations of a chunk stay under ~128 MB (MLPs: 4,096 rows)
  const units = net.chain.reduce((a, l) => a + l.out[0] * l.out[1] * l.out[2], 0);
  const chunk = opts.chunk ?? Math.max(1, Math.min(4096, Math.floor((32 << 20) / units)));
  // The spiking output layer rectifies: normalise against relu(z_L) whatever the ANN output.
  const view = net.clone();
  if (net.output !== 'linear') view.output = 'relu';
  const actMax = new Array<number>(L).fill(0);
  const hist = opts.percentile !== undefined ? Array.from({ length: L }, () => new Uint32Array(1 << 20)) : null;
  const positives = new Array<number>(L).fill(0);
  for (let r = 0; r < n; r += chunk) {
    throwIfAborted(opts.signal);
    const rows = Math.min(chunk, n - r);
    const all = await view.activations(x.subarray(r * n0, (r + rows) * n0));
    // the outputs of the weight layers (dense, conv), after their ReLU
    const acts = all.filter((_, i) => net.chain[i].kind === 'dense' || net.chain[i].kind === 'conv');
    for (let l = 0; l < L; l++) {
      const a = acts[l];
      let m = actMax[l];
      if (hist) {
        const h = hist[l];
        const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
        let c = 0;
        for (let i = 0; i < a.length; i++) {
          if (a[i] > 0) {
            h[bits[i] >>> HIST_SHIFT]++;
            c++;
          }
        }
        positives[l] += c;
      } else {
        for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
      }
      actMax[l] = m;
    }
    opts.onProgress?.({ phase: 'normalize', done: r + rows, total: n });
  }
  if (hist) {
    const p = opts.percentile! / 100;
    for (let l = 0; l < L; l++) {
      const target = Math.ceil(p * positives[l]);
      let cum = 0;
      for (let b = 0; b < hist[l].length; b++) {
        cum += hist[l][b];
        if (cum >= target && cum > 0) {
          actMax[l] = binValue(b);
          break;
        }
      }
    }
  }
  view.dispose();
  return actMax.map((a, l) => {
    let wmax = 0;
    const w = net.getWeights(l);
    for (let i = 0; i < w.length; i++) if (w[i] > wmax) wmax = w[i];
    return Math.max(wmax, a);
  });
}

/** Scale factors of `net` over the data rows x (see the module comment). */
export async function scaleFactors(
  net: Network,
  x: Float32Array,
  normalization: Normalization = 'release',
  opts: RunOptions & { percentile?: number; chunk?: number } = {},
): Promise<ScaleFactors> {
  const layerMax = await layerMaxima(net, x, {
    ...opts,
    percentile: normalization === 'percentile' ? (opts.percentile ?? 99.9) : undefined,
  });
  return { normalization, layerMax, factors: scaleChain(layerMax, normalization === 'diehl' ? 'diehl' : 'release') };
}
