/**
 * Backprop and losses (native/core/backprop.cc, loss.cc) against central finite
 * differences of the loss the same native code computes. Float32 arithmetic: eps = 1e-3,
 * tolerance 2e-3 absolute + 2% relative (rounding of the loss is ~1e-7·|L|/eps).
 */
import { describe, expect, it } from 'vitest';
import { addon, type NativeGradientOptions } from '../../src/native/binding.js';
import { Network } from '../../src/index.js';
import { loadMnist } from '../../src/data/mnist.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomNet(sizes: number[], seed: number, spec: Partial<ConstructorParameters<typeof Network>[0]> = {}): Network {
  const r = rng(seed);
  const net = new Network({ sizes, ...spec });
  const params = net.parameters();
  for (const w of params.weights) for (let i = 0; i < w.length; i++) w[i] = (r() * 2 - 1) * (1.5 / Math.sqrt(w.length / 4));
  for (const b of params.biases) if (b) for (let i = 0; i < b.length; i++) b[i] = (r() * 2 - 1) * 0.3;
  net.setParameters(params);
  return net;
}

function fill(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

function oneHot(labels: number[], classes: number): Float32Array {
  const y = new Float32Array(labels.length * classes);
  labels.forEach((c, i) => (y[i * classes + c] = 1));
  return y;
}

function softLabels(n: number, classes: number, seed: number): Float32Array {
  const y = fill(n * classes, seed, 0.05, 1);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < classes; j++) s += y[r * classes + j];
    for (let j = 0; j < classes; j++) y[r * classes + j] /= s;
  }
  return y;
}

const loss = async (net: Network, x: Float32Array, n: number, y: Float32Array, opts: NativeGradientOptions) =>
  addon().gradients(net.native(), x, n, y, opts);

/** Compares analytic gradients with central differences on `indices` of the array `target`. */
async function checkFd(
  net: Network,
  x: Float32Array,
  n: number,
  y: Float32Array,
  opts: NativeGradientOptions,
  target: Float32Array,
  analytic: Float32Array,
  indices: number[],
  commit: (t: Float32Array) => void = () => {},
): Promise<void> {
  const eps = 1e-3;
  for (const i of indices) {
    const keep = target[i];
    target[i] = keep + eps;
    commit(target);
    const up = await loss(net, x, n, y, opts);
    target[i] = keep - eps;
    commit(target);
    const down = await loss(net, x, n, y, opts);
    target[i] = keep;
    commit(target);
    const fd = (up - down) / (2 * eps);
    expect(Math.abs(fd - analytic[i]), `index ${i}: fd ${fd} vs analytic ${analytic[i]}`).toBeLessThanOrEqual(
      2e-3 + 0.02 * Math.abs(analytic[i]),
    );
  }
}

function sample(length: number, count: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => Math.floor(r() * length));
}

async function fullCheck(net: Network, x: Float32Array, n: number, y: Float32Array, opts: NativeGradientOptions) {
  const gx = new Float32Array(x.length);
  const params = net.parameters();
  const gw = params.weights.map((w) => new Float32Array(w.length));
  const gb = params.biases.map((b) => (b ? new Float32Array(b.length) : null));
  const value = await addon().gradients(net.native(), x, n, y, opts, { x: gx, weights: gw, biases: gb });
  expect(Number.isFinite(value)).toBe(true);
  expect(gx.some((v) => v !== 0)).toBe(true);
  await checkFd(net, x, n, y, opts, x, gx, sample(x.length, 24, 1));
  for (let l = 0; l < net.weightLayers; l++) {
    await checkFd(net, x, n, y, opts, net.getWeights(l), gw[l], sample(gw[l].length, 16, 2 + l), (w) => net.setWeights(l, w));
    const b = net.getBias(l);
    if (b) await checkFd(net, x, n, y, opts, b, gb[l]!, sample(b.length, 6, 9 + l), (v) => net.setBias(l, v));
  }
}

describe('backprop: gradients against finite differences', () => {
  const n = 4;

  it("paper network: relu output, no biases, squared error, test-mode hidden scale", async () => {
    const net = randomNet([6, 8, 7, 3], 11, { output: 'relu', dropout: 0.2, dropoutMode: 'paper' });
    // positive outputs for the relu output to matter: make the targets large
    await fullCheck(net, fill(n * 6, 3), n, oneHot([0, 1, 2, 1], 3), { loss: 'mse' });
  });

  it('linear output with biases, softmax cross-entropy on soft targets, mean reduction', async () => {
    const net = randomNet([5, 9, 4], 12, { output: 'linear', biases: true });
    await fullCheck(net, fill(n * 5, 4), n, softLabels(n, 4, 5), { loss: 'cross-entropy', reduction: 'mean' });
  });

  it('softmax output with temperature: cross-entropy and squared error', async () => {
    const net = randomNet([5, 8, 3], 13, { output: 'softmax', temperature: 2.5, biases: true });
    const x = fill(n * 5, 6);
    await fullCheck(net, x, n, softLabels(n, 3, 7), { loss: 'cross-entropy' });
    await fullCheck(net, x, n, oneHot([2, 0, 1, 1], 3), { loss: 'mse' });
  });

  it('train mode: paper and inverted dropout masks are fixed by the seed, so gradients match', async () => {
    const net = randomNet([6, 10, 9, 4], 14, { output: 'linear', biases: true });
    const x = fill(n * 6, 8);
    const y = oneHot([3, 1, 0, 2], 4);
    await fullCheck(net, x, n, y, { loss: 'cross-entropy', train: true, dropout: 0.3, seed: 5, step: 2 });
    await fullCheck(net, x, n, y, { loss: 'mse', train: true, dropout: 0.3, inverted: true, seed: 5, step: 3 });
  });

  it('input gradients of MNIST digits in a 784-32-10 paper network', async () => {
    const { test } = loadMnist();
    const rows = 3;
    const x = test.x.slice(0, rows * 784);
    const net = randomNet([784, 32, 10], 15, { output: 'relu', dropout: 0.2 });
    // keep the output positive on real digits so the relu output passes gradient
    const gx = new Float32Array(x.length);
    const y = oneHot(Array.from(test.y.subarray(0, rows)), 10);
    await addon().gradients(net.native(), x, rows, y, { loss: 'mse' }, { x: gx });
    expect(gx.some((v) => v !== 0)).toBe(true);
    await checkFd(net, x, rows, y, { loss: 'mse' }, x, gx, sample(x.length, 30, 16));
  });
});

describe('backprop: consistency', () => {
  it('test-mode forward of the cache equals Network.forward (squared error against 0 = ½Σa²)', async () => {
    const net = randomNet([6, 8, 7, 3], 21, { output: 'relu', dropout: 0.2 });
    const x = fill(5 * 6, 22);
    const a = await net.forward(x);
    let expected = 0;
    for (const v of a) expected += 0.5 * v * v;
    expect(expected).toBeGreaterThan(0);
    const got = await loss(net, x, 5, new Float32Array(15), { loss: 'mse' });
    expect(got).toBeCloseTo(expected, 5);
  });

  it('sum reduction gives per-row gradients; mean divides by n', async () => {
    const net = randomNet([5, 8, 3], 23, { output: 'linear', biases: true });
    const x = fill(3 * 5, 24);
    const y = oneHot([0, 1, 2], 3);
    const gAll = new Float32Array(15);
    const sum = await addon().gradients(net.native(), x, 3, y, { loss: 'cross-entropy' }, { x: gAll });
    const gMean = new Float32Array(15);
    const mean = await addon().gradients(net.native(), x, 3, y, { loss: 'cross-entropy', reduction: 'mean' }, { x: gMean });
    expect(mean).toBeCloseTo(sum / 3, 6);
    for (let i = 0; i < 15; i++) expect(gMean[i]).toBeCloseTo(gAll[i] / 3, 6);
    const g1 = new Float32Array(5);
    await addon().gradients(net.native(), x.subarray(5, 10), 1, y.subarray(3, 6), { loss: 'cross-entropy' }, { x: g1 });
    for (let i = 0; i < 5; i++) expect(g1[i]).toBeCloseTo(gAll[5 + i], 6);
  });

  it('rejects unknown losses, cross-entropy on a relu output and wrong shapes with codes', async () => {
    const net = randomNet([5, 8, 3], 25, { output: 'relu' });
    const x = fill(10, 26);
    const y = new Float32Array(6);
    await expect(loss(net, x, 2, y, { loss: 'hinge' as never })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(loss(net, x, 2, y, { loss: 'cross-entropy' })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(loss(net, x, 2, new Float32Array(5), { loss: 'mse' })).rejects.toMatchObject({ code: 'ERR_SHAPE' });
    expect(() =>
      addon().gradients(net.native(), x, 2, y, { loss: 'mse' }, { weights: [new Float32Array(3), null] }),
    ).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }) as never);
  });
});

describe("the release's training gradient (mse-release)", () => {
  it('passes the error straight through a clamped output ReLU, where the true gradient is zero', async () => {
    // 1-1-2 network: hidden h = relu(x); outputs z = [h, -h]. For x = 1: z = [1, -1], a = [1, 0].
    const net = new Network({ sizes: [1, 1, 2], output: 'relu' });
    net.setWeights(0, Float32Array.from([1]));
    net.setWeights(1, Float32Array.from([1, -1]));
    const x = new Float32Array([1]);
    const y = new Float32Array([0, 1]); // e = a − y = [1, −1]
    const grad = async (l: 'mse' | 'mse-release') => {
      const dx = new Float32Array(1);
      const dW = [new Float32Array(1), new Float32Array(2)];
      const L = await addon().gradients(net.native(), x, 1, y, { loss: l }, { x: dx, weights: dW });
      return { L, dx: dx[0], dW2: Array.from(dW[1]) };
    };
    const t = await grad('mse');
    const r = await grad('mse-release');
    expect(t.L).toBeCloseTo(1, 6); // both report the same loss, 1/2 (1 + 1)
    expect(r.L).toBeCloseTo(1, 6);
    // true gradient: only output 0 passes (z_1 < 0): g = [1, 0] → dW2 = g hᵀ = [1, 0], dx = 1
    expect(t.dW2).toEqual([1, 0]);
    expect(t.dx).toBeCloseTo(1, 6);
    // release: g = e = [1, −1] → dW2 = [1, −1], dx = 1·1 + (−1)(−1) = 2
    expect(r.dW2).toEqual([1, -1]);
    expect(r.dx).toBeCloseTo(2, 6);
  });
});
