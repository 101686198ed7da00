import { Network, type LayerSpec } from '../../src/index.js';

/** n float32 values in [-1, 1) from a 32-bit LCG (deterministic test matrices). */
export function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Uniform [0, 1) numbers from a 32-bit LCG. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** A network of the given layers with weights U(lo, hi) and biases U(-0.2, 0.2). */
export function randomNetwork(input: [number, number, number], layers: LayerSpec[], seed: number, lo = -0.3, hi = 0.6, output: 'linear' | 'relu' | 'softmax' = 'linear'): Network {
  const r = lcg(seed);
  const net = new Network({ input, layers, output });
  const p = net.parameters();
  for (const w of p.weights) for (let i = 0; i < w.length; i++) w[i] = lo + (hi - lo) * r();
  for (const b of p.biases) if (b) for (let i = 0; i < b.length; i++) b[i] = 0.4 * r() - 0.2;
  net.setParameters(p);
  return net;
}

/** n images of `size` values: 0 with probability 0.4, else U(0, 1). */
export function randomImages(n: number, size: number, seed: number): Float32Array {
  const r = lcg(seed);
  return new Float32Array(n * size).map(() => (r() < 0.4 ? 0 : r()));
}
