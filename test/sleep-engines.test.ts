/**
 * The event-driven engine against the plain dense per-step reference: same seed → same
 * spikes, same weights, same membranes; on a small random network (every option) and on
 * 500 steps of MNIST on the golden-fixture control network. Also: batched sleeps equal
 * single ones for any thread count, and input spikes come at the rate the rule says.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/mnist.js';
import { Network, runtimeInfo, setThreads, sleep, sleepBatch, type SleepOptions, type SleepResult } from '../src/index.js';
import { makeDataset } from '../src/data/dataset.js';
import { controlNetwork, manifest } from './helpers/authors-fixture.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function randomNet(sizes: number[], seed: number): Network {
  const r = lcg(seed);
  const net = new Network({ sizes });
  const params = net.parameters();
  for (const w of params.weights) for (let i = 0; i < w.length; i++) w[i] = r() * 0.8 - 0.3;
  net.setParameters(params);
  return net;
}

// 6×6 "images" in [0, 1].
function randomData(n: number, seed: number) {
  const r = lcg(seed);
  const x = new Float32Array(n * 36).map(() => (r() < 0.5 ? 0 : r()));
  return makeDataset('random', x, new Int32Array(n), 36, 10, [6, 6]);
}

function expectSame(a: SleepResult, b: SleepResult): void {
  expect(a.stats.spikes).toEqual(b.stats.spikes);
  expect(a.stats.potentiation).toEqual(b.stats.potentiation);
  expect(a.stats.depression).toEqual(b.stats.depression);
  expect(a.stats.weightsChanged).toEqual(b.stats.weightsChanged);
  for (let l = 0; l < a.stats.neuronSpikes.length; l++)
    expect(Array.from(a.stats.neuronSpikes[l])).toEqual(Array.from(b.stats.neuronSpikes[l]));
  if (a.stats.raster && b.stats.raster)
    for (let l = 0; l < a.stats.raster.offsets.length; l++) {
      expect(Array.from(a.stats.raster.offsets[l])).toEqual(Array.from(b.stats.raster.offsets[l]));
      expect(Array.from(a.stats.raster.indices[l])).toEqual(Array.from(b.stats.raster.indices[l]));
    }
  for (let l = 0; l < a.network.weightLayers; l++) {
    const wa = a.network.getWeights(l);
    const wb = b.network.getWeights(l);
    let d = 0;
    for (let i = 0; i < wa.length; i++) d = Math.max(d, Math.abs(wa[i] - wb[i]));
    expect(d).toBeLessThanOrEqual(1e-6); // exact in practice: same rule, same summation order
    const ma = a.stats.membranes[l + 1];
    const mb = b.stats.membranes[l + 1];
    for (let i = 0; i < ma.length; i++) expect(Math.abs(ma[i] - mb[i])).toBeLessThanOrEqual(1e-6);
  }
}

describe('event engine = dense reference', () => {
  const net = randomNet([36, 30, 25, 5], 7);
  const data = randomData(50, 11);
  const base: SleepOptions = {
    steps: 400,
    seed: 5,
    maxRate: 200,
    beta: [1.5, 1, 0.5],
    alphaScale: 1,
    inc: 0.02,
    dec: 0.01,
    raster: { from: 0, to: 400 },
  };
  const variants: [string, SleepOptions][] = [
    ['release gate, sequence input', { stdpGate: 'release' }],
    ['sigmoid gate, mean input', { stdpGate: 'sigmoid', input: 'mean' }],
    // inhibition couples a layer within a step: the event engine then runs step by step
    ['no gate, masked-mean input, inhibition and output drive', { stdpGate: 'none', input: 'masked-mean', maskSize: 3, inhibition: 0.5, dc: 0.05 }],
    // without it, layer by layer over windows of steps (output drive included)
    ['no gate, masked-mean input and output drive', { stdpGate: 'none', input: 'masked-mean', maskSize: 3, dc: 0.05 }],
    ['12,000 steps: several windows of the layer-wise order', { steps: 12_000, maxRate: 60, dc: 0.01 }],
    ['diehl normalisation, decay 0.95', { normalization: 'diehl', decay: 0.95, beta: [1, 0.5, 0.3] }],
    ['percentile normalisation', { normalization: 'percentile', percentile: 99, beta: [1, 0.5, 0.3] }],
  ];
  for (const [name, extra] of variants) {
    it(name, async () => {
      const o = { ...base, ...extra };
      const ev = await sleep(net, data, o);
      const de = await sleep(net, data, { ...o, engine: 'dense' });
      expect(ev.stats.spikes.every((s) => s > 0)).toBe(true); // every layer is exercised
      expect(ev.stats.weightsChanged.some((c) => c > 0)).toBe(true);
      expectSame(ev, de);
    });
  }

  it('500 steps of MNIST on the fixture control network (spikes in every layer)', async () => {
    const { train } = loadMnist();
    const o: SleepOptions = {
      preset: 'mnist-fgsm',
      steps: 500,
      seed: 3,
      beta: [8, 0.5, 0.5], // lower thresholds than the preset so that every layer fires
      scaleFactors: manifest().norm_constants,
      raster: { from: 0, to: 500 },
    };
    const ev = await sleep(controlNetwork(), train, o);
    const de = await sleep(controlNetwork(), train, { ...o, engine: 'dense' });
    expect(ev.stats.spikes.every((s) => s > 0)).toBe(true);
    expect(ev.stats.weightsChanged.every((c) => c > 0)).toBe(true);
    expectSame(ev, de);
  });
});

describe('one sleep on every core', () => {
  const threads = runtimeInfo().threads;
  afterAll(() => setThreads(threads));

  it('gives the same spikes, weights and membranes with 1 and 2 threads (5,000 MNIST steps)', async () => {
    const { train } = loadMnist();
    const o: SleepOptions = {
      preset: 'mnist-fgsm',
      steps: 5000,
      seed: 4,
      beta: [8, 1.5, 1],
      scaleFactors: manifest().norm_constants,
      raster: { from: 4000, to: 5000 },
    };
    setThreads(1);
    const one = await sleep(controlNetwork(), train, o);
    setThreads(2);
    const two = await sleep(controlNetwork(), train, o);
    expect(one.stats.spikes.every((s) => s > 0)).toBe(true);
    expectSame(one, two);
    const bytes = (w: Float32Array) => Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    for (let l = 0; l < 3; l++) expect(bytes(one.network.getWeights(l)).equals(bytes(two.network.getWeights(l)))).toBe(true); // bit for bit
  });
});

describe('batched sleep', () => {
  const threads = runtimeInfo().threads;
  afterAll(() => setThreads(threads));

  it('equals the single sleeps, whatever the thread count', async () => {
    const net = randomNet([36, 30, 25, 5], 3);
    const data = randomData(40, 4);
    const list: SleepOptions[] = [
      { steps: 300, seed: 1, maxRate: 60, beta: [2, 1.5, 1], alphaScale: 1 },
      { steps: 300, seed: 2, maxRate: 60, beta: [2, 1.5, 1], alphaScale: 1 },
      { steps: 200, seed: 1, maxRate: 80, beta: [1.5, 1, 1], alphaScale: 1.5, inc: 0.05 },
    ];
    const singles = [];
    for (const o of list) singles.push(await sleep(net, data, o));
    setThreads(1);
    const one = await sleepBatch(net, data, list);
    setThreads(2);
    const two = await sleepBatch(net, data, list);
    for (let k = 0; k < list.length; k++) {
      expectSame(one[k], singles[k]);
      expectSame(two[k], singles[k]);
    }
    expect(singles[0].stats.spikes).not.toEqual(singles[1].stats.spikes); // seeds matter
  });
});

describe('input spikes', () => {
  it('fire with probability min(1, 2·dt·maxRate·x)', async () => {
    const net = randomNet([36, 4], 1);
    const data = randomData(30, 2);
    const steps = 3000;
    const maxRate = 300; // 2·dt·maxRate = 0.6: p up to 0.6
    const { stats } = await sleep(net, data, { steps, seed: 9, maxRate, beta: [1000], alphaScale: 1 });
    let mean = 0;
    let variance = 0;
    for (let t = 0; t < steps; t++)
      for (let j = 0; j < 36; j++) {
        const p = Math.min(1, 2 * 0.001 * maxRate * data.x[(t % 30) * 36 + j]);
        mean += p;
        variance += p * (1 - p);
      }
    expect(Math.abs(stats.spikes[0] - mean)).toBeLessThan(5 * Math.sqrt(variance));
    // Unit j of a zero pixel never fires.
    for (let j = 0; j < 36; j++) {
      let any = false;
      for (let r = 0; r < 30; r++) any ||= data.x[r * 36 + j] > 0;
      if (!any) expect(stats.neuronSpikes[0][j]).toBe(0);
    }
  });
});
