/**
 * Sleep beyond the paper's network (../shared/spec/sleep-general.md): the five cases of §5
 * that pin the definition down, each a test, plus the errors for parameters that do not fit
 * the network.
 *
 * 1. the paper's MLP through the general chain (layer specs, zero biases in both bias modes)
 *    = the authors' golden record;
 * 2. a conv layer whose kernel covers its input is a dense layer;
 * 3. a 1×1 convolution with one post spike per channel and step follows the dense rule;
 * 4. a 1×3×3 input and a 2×2 kernel, worked out by hand;
 * 5. event engine = per-step dense reference on random CNNs (both poolings, biases in both
 *    modes, padding, stride 2, mean STDP, plastic subsets) and on the PyTorch LeNet fixtures.
 */
import { describe, expect, it } from 'vitest';
import { ArgumentError, Network, UnsupportedError, head, loadDataset, loadOnnx, sleep, type LayerSpec, type SleepOptions, type SleepResult } from '../src/index.js';
import { join } from 'node:path';
import { changes, controlNetwork, manifest, pairs, spikes } from './helpers/authors-fixture.js';
import { lcg, randomImages, randomNetwork } from './helpers/random.js';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'onnx', `${name}.onnx`);

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function expectSameSleep(a: SleepResult, b: SleepResult): void {
  expect(a.stats.spikes).toEqual(b.stats.spikes);
  expect(a.stats.potentiation).toEqual(b.stats.potentiation);
  expect(a.stats.depression).toEqual(b.stats.depression);
  expect(a.stats.weightsChanged).toEqual(b.stats.weightsChanged);
  for (let l = 0; l < a.stats.neuronSpikes.length; l++) expect(Array.from(a.stats.neuronSpikes[l])).toEqual(Array.from(b.stats.neuronSpikes[l]));
  for (let k = 0; k < a.network.weightLayers; k++) expect(maxDiff(a.network.getWeights(k), b.network.getWeights(k))).toBe(0);
  for (let l = 0; l < a.stats.membranes.length; l++) expect(maxDiff(a.stats.membranes[l], b.stats.membranes[l])).toBe(0);
}

describe('sleep-general §5.1: the paper\'s MLP through the general chain', () => {
  it('written as layer specs with zero biases (both bias modes) it replays the golden record exactly', async () => {
    const m = manifest();
    const ctrl = controlNetwork();
    const layers: LayerSpec[] = [
      { type: 'dense', units: 1200, bias: true },
      { type: 'relu' },
      { type: 'dense', units: 1200, bias: true },
      { type: 'relu' },
      { type: 'dense', units: 10, bias: true },
      { type: 'relu' },
    ];
    const general = new Network({ input: [1, 28, 28], layers, dropout: 0.2, dropoutMode: 'paper' }, [0, 1, 2].map((k) => ctrl.getWeights(k)));
    expect(general.chain.map((l) => l.kind)).toEqual(['dense', 'dense', 'dense']);
    expect(general.getBias(2)!.every((b) => b === 0)).toBe(true);
    const expected = ctrl.getWeights(0).slice();
    for (const c of changes(1)) expected[c.row * 784 + c.col] = c.value;
    const rec = spikes(1);
    for (const bias of ['ignore', 'current'] as const) {
      const { stats, network } = await sleep(general, new Float32Array(784), {
        preset: 'mnist-fgsm',
        scaleFactors: m.norm_constants,
        replay: spikes(0),
        raster: { from: 0, to: m.steps },
        bias,
      });
      expect(stats.spikes).toEqual(m.spike_counts);
      expect(pairs(stats.raster!.offsets[1], stats.raster!.indices[1])).toEqual(pairs(rec.offsets, rec.indices));
      expect(stats.weightsChanged).toEqual(m.weights_changed);
      expect(maxDiff(network.getWeights(0), expected)).toBe(0);
    }
  }, 60_000);
});

describe('sleep-general §5.2: a conv layer whose kernel covers its input is a dense layer', () => {
  it('conv 20×28×28 → conv 15×1×1 → dense 10 sleeps as the MLP 784-20-15-10 with the same weights', async () => {
    const { train } = await loadDataset('mnist', { quick: true });
    const data = head(train, 300);
    const cnn = randomNetwork(
      [1, 28, 28],
      [
        { type: 'conv', filters: 20, kernel: 28, bias: true },
        { type: 'relu' },
        { type: 'conv', filters: 15, kernel: 1, bias: true },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 10, bias: true },
      ],
      3,
      -0.05,
      0.08,
    );
    const p = cnn.parameters();
    const mlp = new Network({ sizes: [784, 20, 15, 10], biases: true, output: 'linear' }, p.weights, p.biases);
    // same activations → the same scale factors (up to the summation order of conv vs. GEMM)
    const base: SleepOptions = { steps: 1500, seed: 9, maxRate: 120, inc: 0.01, dec: 0.008, alphaScale: 2, beta: [1, 0.6, 0.5], stdpGate: 'sigmoid' };
    const m = await sleep(mlp, data, base);
    const c0 = await sleep(cnn, data, base);
    c0.stats.scaleFactors.forEach((f, i) => expect(Math.abs(f / m.stats.scaleFactors[i] - 1)).toBeLessThan(1e-5));
    for (const extra of [{ bias: 'ignore' }, { bias: 'current' }, { bias: 'current', convStdp: 'mean' }] as SleepOptions[]) {
      const opts = { ...base, ...extra, scaleFactors: m.stats.scaleFactors };
      const a = await sleep(mlp, data, opts);
      const b = await sleep(cnn, data, opts);
      expect(a.stats.spikes.slice(1).every((s) => s > 0)).toBe(true); // every layer fires: the comparison means something
      expect(a.stats.weightsChanged.every((s) => s > 0)).toBe(true);
      expect(b.stats.layers).toEqual(['conv', 'conv', 'dense']);
      expectSameSleep(a, b);
    }
  });
});

describe('sleep-general §5.3: a 1×1 convolution with one post spike per channel and step follows the dense rule', () => {
  it('input spikes at one position only: the conv layer there is the dense layer C→C_out', async () => {
    const [C, H, W, O] = [4, 3, 3, 3];
    const pos = 1 * W + 2; // (y, x) = (1, 2)
    const r = lcg(21);
    const steps = 300;
    const offsets = new Int32Array(steps + 1);
    const convIdx: number[] = [];
    const denseIdx: number[] = [];
    for (let t = 0; t < steps; t++) {
      for (let c = 0; c < C; c++)
        if (r() < 0.45) {
          convIdx.push(c * H * W + pos);
          denseIdx.push(c);
        }
      offsets[t + 1] = convIdx.length;
    }
    const conv = randomNetwork([C, H, W], [{ type: 'conv', filters: O, kernel: 1 }], 4, -0.4, 0.9);
    const dense = new Network({ sizes: [C, O], output: 'linear' }, [conv.getWeights(0)]); // [o][c] in both
    const opts: SleepOptions = { steps, beta: [1.2], alphaScale: 1, scaleFactors: [1], inc: 0.05, dec: 0.03, stdpGate: 'sigmoid', raster: { from: 0, to: steps } };
    for (const convStdp of ['sum', 'mean'] as const) {
      const a = await sleep(conv, new Float32Array(C * H * W), { ...opts, convStdp, replay: { offsets, indices: Int32Array.from(convIdx) } });
      const b = await sleep(dense, new Float32Array(C), { ...opts, convStdp, replay: { offsets, indices: Int32Array.from(denseIdx) } });
      // only the neurons at (·, 1, 2) fire, at most one per channel and step
      const ra = a.stats.raster!;
      const post = ra.indices[1];
      expect(post.length).toBeGreaterThan(20);
      for (const i of post) expect(i % (H * W)).toBe(pos);
      expect(Array.from(post).map((i) => Math.floor(i / (H * W)))).toEqual(Array.from(b.stats.raster!.indices[1]));
      expect(Array.from(ra.offsets[1])).toEqual(Array.from(b.stats.raster!.offsets[1]));
      expect(a.stats.depression[0]).toBeGreaterThan(0);
      expect(maxDiff(a.network.getWeights(0), b.network.getWeights(0))).toBe(0);
      const va = a.stats.membranes[1];
      for (let o = 0; o < O; o++) expect(va[o * H * W + pos]).toBe(b.stats.membranes[1][o]);
    }
  });
});

describe('sleep-general §5.4: a 1×3×3 input and a 2×2 kernel, by hand', () => {
  // input  0 1 2     kernel a b     output positions p00 p01
  //        3 4 5            c d                      p10 p11
  //        6 7 8
  // a = 0.5, b = 0.25, c = -0.25, d = 0.75; bias 0.25 as a current: alpha·κ·b with
  // κ = 2·dt·maxRate = 2·0.001·250 = 0.5 → 0.125 per step. alpha = 1, threshold·beta = 1,
  // decay 0.5, inc 0.125, dec 0.0625, no gate (f = 1).
  const net = new Network({ input: [1, 3, 3], layers: [{ type: 'conv', filters: 1, kernel: 2, bias: true }], output: 'linear' }, [Float32Array.of(0.5, 0.25, -0.25, 0.75)], [Float32Array.of(0.25)]);
  const opts: SleepOptions = { beta: [1], alphaScale: 1, scaleFactors: [1], maxRate: 250, decay: 0.5, inc: 0.125, dec: 0.0625, stdpGate: 'none', bias: 'current' };
  // step 1: {4}        I = (d, c, b, a) + 0.125 = (0.875, -0.125, 0.375, 0.625) = v; no spike
  // step 2: {0, 4, 8}  I = (a+d, c, b, a+d) + 0.125 = (1.375, -0.125, 0.375, 1.375)
  //                    v = 0.5·v + I = (1.8125, -0.1875, 0.5625, 1.6875): p00 and p11 fire
  //   STDP p00: a +inc (0 spiked), b −dec (1), c −dec (3), d +inc (4)
  //        p11: a +inc (4), b −dec (5), c −dec (7), d +inc (8)
  //   sum:  a 0.75, b 0.125, c -0.375, d 1.0    mean (2 spikes of the channel): a 0.625, b 0.1875, c -0.3125, d 0.875
  //   reset: v = (0, -0.1875, 0.5625, 0)
  // step 3: {1, 2}     I = (b, a+b, 0, 0) + 0.125 = (0.25, 1.0, 0.125, 0.125)
  //                    v = (0.25, 0.90625, 0.40625, 0.125); no spike
  // step 4: {1, 2, 5}  I = (b, a+b+d, 0, b) + 0.125 = (0.25, 2.0, 0.125, 0.25)
  //                    v = (0.375, 2.453125, 0.328125, 0.3125): p01 fires
  //   STDP p01: a +inc (1), b +inc (2), c −dec (4), d +inc (5) → a 0.875, b 0.25, c -0.4375, d 1.125
  //   reset: v = (0.375, 0, 0.328125, 0.3125)
  const stream = [[4], [0, 4, 8], [1, 2], [1, 2, 5]];
  const replay = (n: number) => {
    const offsets = [0];
    const indices: number[] = [];
    for (const s of stream.slice(0, n)) offsets.push(indices.push(...s));
    return { offsets, indices };
  };

  it('four steps, summed STDP: membranes, spikes and weights as worked out', async () => {
    for (const engine of ['event', 'dense'] as const) {
      const { stats, network } = await sleep(net, new Float32Array(9), { ...opts, steps: 4, replay: replay(4), engine, raster: { from: 0, to: 4 } });
      expect(stats.spikes).toEqual([9, 3]);
      expect(Array.from(stats.neuronSpikes[1])).toEqual([1, 1, 0, 1]);
      expect(Array.from(stats.raster!.offsets[1])).toEqual([0, 0, 2, 2, 3]);
      expect(Array.from(stats.raster!.indices[1])).toEqual([0, 3, 1]);
      expect(Array.from(stats.membranes[1])).toEqual([0.375, 0, 0.328125, 0.3125]);
      expect(Array.from(network.getWeights(0))).toEqual([0.875, 0.25, -0.4375, 1.125]);
      expect(Array.from(network.getBias(0)!)).toEqual([0.25]); // biases never change
      expect(stats.potentiation[0]).toBe(2 + 2 + 3);
      expect(stats.depression[0]).toBe(2 + 2 + 1);
    }
  });

  it('two steps, mean STDP: the summed update divided by the channel\'s 2 spikes', async () => {
    for (const engine of ['event', 'dense'] as const) {
      const { stats, network } = await sleep(net, new Float32Array(9), { ...opts, steps: 2, replay: replay(2), engine, convStdp: 'mean' });
      expect(Array.from(stats.membranes[1])).toEqual([0, -0.1875, 0.5625, 0]);
      expect(Array.from(network.getWeights(0))).toEqual([0.625, 0.1875, -0.3125, 0.875]);
    }
  });

  it('without the bias current (bias: "ignore") the membranes lack it', async () => {
    // v after step 2 = 0.5·(0.75, -0.25, 0.25, 0.5) + (1.25, -0.25, 0.25, 1.25) = (1.625, -0.375, 0.375, 1.5): p00, p11 fire still
    const { stats } = await sleep(net, new Float32Array(9), { ...opts, bias: 'ignore', steps: 2, replay: replay(2) });
    expect(Array.from(stats.membranes[1])).toEqual([0, -0.375, 0.375, 0]);
  });
});

describe('sleep-general §5.5: event engine = per-step dense reference on random CNNs', () => {
  const cases: [string, [number, number, number], LayerSpec[], SleepOptions][] = [
    [
      'conv pad 1 → maxpool 2 → conv stride 2 pad 1 → dense; biases as currents',
      [1, 12, 12],
      [
        { type: 'conv', filters: 4, kernel: 3, padding: 1, bias: true },
        { type: 'relu' },
        { type: 'maxpool', kernel: 2 },
        { type: 'conv', filters: 6, kernel: 3, stride: 2, padding: 1, bias: true },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 5, bias: true },
      ],
      { bias: 'current', beta: [1, 1.2, 1.5] },
    ],
    [
      'two channels, conv stride 2 → avgpool 2 → dense → dense; biases ignored, mean STDP',
      [2, 10, 10],
      [
        { type: 'conv', filters: 3, kernel: 3, stride: 2, padding: 1, bias: true },
        { type: 'relu' },
        { type: 'avgpool', kernel: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 8, bias: true },
        { type: 'relu' },
        { type: 'dense', units: 4 },
      ],
      { bias: 'ignore', convStdp: 'mean', beta: [1, 0.4, 1, 1.5] },
    ],
    [
      'avgpool with stride 1 and padding, maxpool 3 stride 2, only the dense head plastic, masked-mean input',
      [1, 11, 11],
      [
        { type: 'conv', filters: 5, kernel: 4, bias: true },
        { type: 'relu' },
        { type: 'avgpool', kernel: 2, stride: 1, padding: 1 },
        { type: 'maxpool', kernel: 3, stride: 2 },
        { type: 'conv', filters: 4, kernel: 2, padding: [0, 1], bias: true },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 6, bias: true },
      ],
      { bias: 'current', layers: 'dense', input: 'masked-mean', maskSize: 6, beta: [1, 0.5, 1, 1.2] },
    ],
    [
      'output drive, release gate, layers [0, 3]',
      [1, 12, 12],
      [
        { type: 'conv', filters: 4, kernel: 5, bias: true },
        { type: 'relu' },
        { type: 'avgpool', kernel: 2 },
        { type: 'conv', filters: 3, kernel: 3, stride: 2, bias: true },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 5, bias: true },
      ],
      { bias: 'current', dc: 0.05, stdpGate: 'release', layers: [0, 3], beta: [1, 0.5, 1, 1] },
    ],
    [
      'mean input, 9,000 steps (several windows of the layer-wise order)',
      [1, 8, 8],
      [
        { type: 'conv', filters: 3, kernel: 3, padding: 1 },
        { type: 'relu' },
        { type: 'maxpool', kernel: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 4 },
      ],
      { input: 'mean', steps: 9000, maxRate: 40, beta: [1, 1] },
    ],
  ];
  it.each(cases)('%s', async (_name, input, layers, extra) => {
    const net = randomNetwork(input, layers, 17);
    const data = randomImages(40, input[0] * input[1] * input[2], 5);
    const opts: SleepOptions = { steps: 600, seed: 2, maxRate: 150, inc: 0.02, dec: 0.015, alphaScale: 1.5, stdpGate: 'sigmoid', ...extra };
    const a = await sleep(net, data, opts);
    const b = await sleep(net, data, { ...opts, engine: 'dense' });
    expect(a.stats.spikes.every((s) => s > 0)).toBe(true);
    expect(a.stats.weightsChanged.some((s) => s > 0)).toBe(true);
    expectSameSleep(a, b);
    if (extra.layers !== undefined) {
      const plastic = extra.layers === 'dense' ? net.chain.map((l, i) => (l.kind === 'dense' ? i : -1)) : (extra.layers as number[]);
      let k = 0;
      net.chain.forEach((l, i) => {
        if (l.kind !== 'dense' && l.kind !== 'conv') return;
        if (!plastic.includes(i)) expect(maxDiff(a.network.getWeights(k), net.getWeights(k))).toBe(0);
        k++;
      });
    }
  });

  it.each(['lenet_max', 'lenet_avg', 'cnn_norm'])('PyTorch fixture %s on MNIST, biases as currents', async (name) => {
    const net = await loadOnnx(fixture(name));
    const { train } = await loadDataset('mnist', { quick: true });
    const n = net.chain.filter((l) => l.kind !== 'maxpool').length;
    const opts: SleepOptions = { preset: 'mnist-fgsm', steps: 400, beta: new Array(n).fill(2), alphaScale: 3, maxRate: 200, seed: 3, bias: 'current' };
    const d = head(train, 500);
    const a = await sleep(net, d, opts);
    const b = await sleep(net, d, { ...opts, engine: 'dense' });
    expect(a.stats.spikes.slice(1, 3).every((s) => s > 0)).toBe(true);
    expectSameSleep(a, b);
  });
});

describe('parameters that do not fit the network', () => {
  const lenet = randomNetwork(
    [1, 12, 12],
    [
      { type: 'conv', filters: 4, kernel: 3 },
      { type: 'relu' },
      { type: 'maxpool', kernel: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 5 },
    ],
    1,
  );
  const data = randomImages(5, 144, 1);
  const base: SleepOptions = { steps: 5, beta: [1, 1] };
  it('a beta of the wrong length names beta and the layers', async () => {
    const err = await sleep(lenet, data, { ...base, beta: [1, 1, 1] }).catch((e) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toMatch(/Expected 2 values for beta .* received 3; the network's layers: 0 conv 4×10×10, 1 maxpool 4×5×5, 2 dense 5×1×1/);
    // the paper's preset on a CNN: its beta has 3 values
    const e2 = await sleep(lenet, data, { preset: 'mnist-fgsm', steps: 5 }).catch((e) => e);
    expect(e2).toBeInstanceOf(ArgumentError);
    expect(e2.message).toMatch(/mnist-fgsm preset's beta has 3 values .* this network has 2: give beta with 2 values .*; the network's layers: 0 conv 4×10×10, 1 maxpool/);
  });
  it('layers naming a pooling layer, or past the end', async () => {
    const err = await sleep(lenet, data, { ...base, layers: [0, 1] }).catch((e) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toMatch(/layers\[1\] = 1 names a maxpool layer, which has no weights.*0 conv 4×10×10, 1 maxpool/);
    await expect(sleep(lenet, data, { ...base, layers: [3] })).rejects.toThrow(/layer indices in 0\.\.2 for layers but layers\[0\] is 3/);
  });
  it('lateral inhibition (defined for fully connected layers only) is refused on a CNN, not approximated', async () => {
    await expect(sleep(lenet, data, { ...base, inhibition: 0.5 })).rejects.toThrow(UnsupportedError);
  });
  it('a masked-mean window larger than the image', async () => {
    const err = await sleep(lenet, data, { ...base, input: 'masked-mean', maskSize: 13 }).catch((e) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toMatch(/maskSize <= 12 .*12×12 image.* received 13; the network's layers/);
  });
});
