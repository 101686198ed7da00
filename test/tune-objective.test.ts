/** The tuning objective (held-out training rows, never the test set) and the search space. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BOUNDS,
  Network,
  SearchSpace,
  SleepObjective,
  ValueError,
  getPreset,
  loadDataset,
  parseBounds,
  parseObjective,
  resolveParameters,
  tune,
} from '../src/index.js';

const split = await loadDataset('mnist', { quick: true, quickTrain: 1000, quickTest: 300, seed: 2 });
const net = new Network({ sizes: [784, 16, 10], output: 'relu' }, [
  Float32Array.from({ length: 16 * 784 }, (_, i) => Math.sin(i * 12.9898) * 0.05),
  Float32Array.from({ length: 10 * 16 }, (_, i) => Math.sin(i * 78.233) * 0.3),
]);

describe('objective', () => {
  it('parses term lists with levels and weights and rejects bad ones', () => {
    expect(parseObjective('noise:0.3,fgsm:0.1:2,clean')).toEqual([
      { kind: 'noise', level: 0.3, weight: 1 },
      { kind: 'fgsm', level: 0.1, weight: 2 },
      { kind: 'clean', level: 0, weight: 1 },
    ]);
    expect(() => parseObjective('pgd:0.1')).toThrow(ValueError);
    expect(() => parseObjective('noise')).toThrow(/level/);
    expect(() => parseObjective('noise:abc')).toThrow(ValueError);
  });

  it('rejects the test set: by its name, as the training split, and by its rows', async () => {
    await expect(SleepObjective.create(net, split.test)).rejects.toThrow(/never uses the test set/);
    // tune() given the test split as data is refused before any sleep.
    await expect(tune(net, split.test, { budget: 1 })).rejects.toThrow(/never uses the test set/);
    // The same rows under another name, with the test split named: caught by content.
    const renamed = { ...split.test, name: 'my-data', x: split.test.x.slice() };
    await expect(SleepObjective.create(net, renamed, { test: split.test })).rejects.toThrow(/test rows/);
  });

  it('holds out validation rows from the training set, disjoint from the sleep rows (tail and stratified)', async () => {
    const tail = await SleepObjective.create(net, split.train, { valSize: 200, objective: 'noise:0.3,blur:2,fgsm:0.1' });
    expect(tail.validation.n).toBe(200);
    expect(tail.sleepData.n).toBe(800);
    // tail: the sleep rows are the first rows in order, the validation rows the last ones.
    expect(tail.sleepData.x.subarray(0, 784)).toEqual(split.train.x.subarray(0, 784));
    expect(tail.validation.x.subarray(0, 784)).toEqual(split.train.x.subarray(800 * 784, 801 * 784));
    const strat = await SleepObjective.create(net, split.train, { valSize: 200, valSplit: 'stratified', seed: 3 });
    const key = (x: Float32Array, i: number) => x.subarray(i * 784, (i + 1) * 784).join(',');
    const sleepRows = new Set(Array.from({ length: strat.sleepData.n }, (_, i) => key(strat.sleepData.x, i)));
    let shared = 0;
    for (let i = 0; i < strat.validation.n; i++) if (sleepRows.has(key(strat.validation.x, i))) shared++;
    expect(shared).toBe(0);
    expect(strat.sleepData.n + strat.validation.n).toBe(1000);
    // Stratified: every class is in the validation rows.
    expect(new Set(strat.validation.y).size).toBe(10);
  });

  it('scores the control by its own accuracies; a clean-accuracy drop is penalised', async () => {
    const o = await SleepObjective.create(net, split.train, { valSize: 200, objective: 'noise:0.3,fgsm:0.1', penalty: 2 });
    const c = o.control;
    expect(c.score).toBeCloseTo((c.terms['noise:0.3'] + c.terms['fgsm:0.1']) / 2, 12);
    const worse = o.score({ ...c.terms }, c.clean - 0.1);
    expect(worse).toBeCloseTo(c.score - 0.2, 12);
    // A copy of the network scores exactly like the control (deterministic: distortions drawn once).
    const [again] = await o.evaluate([net.clone()]);
    expect(again).toEqual(c);
  });
});

describe('search space', () => {
  it('maps the cube to parameters on log scales and back; the corners are the bounds', () => {
    const s = new SearchSpace(3);
    expect(s.dim).toBe(8);
    const lo = s.decode(new Array(8).fill(0));
    const hi = s.decode(new Array(8).fill(1));
    expect(lo.maxRate).toBeCloseTo(DEFAULT_BOUNDS.maxRate.min, 9);
    expect(hi.steps).toBe(DEFAULT_BOUNDS.steps.max);
    expect(hi.beta).toHaveLength(3);
    const mid = s.decode(new Array(8).fill(0.5));
    expect(mid.inc).toBeCloseTo(Math.sqrt(1e-4 * 0.3), 9); // geometric mean on a log scale
    const p = getPreset('mnist-fgsm');
    const back = s.decode(s.encode(p));
    for (const k of ['maxRate', 'inc', 'dec', 'alphaScale'] as const) expect(back[k]).toBeCloseTo(p[k], 9);
    expect(back.beta.map((b) => +b.toFixed(6))).toEqual(p.beta);
    expect(back.steps).toBe(p.steps);
    // The fixed fields come from the base preset and the result is a valid parameter set.
    expect(resolveParameters(back, {}, 3)).toEqual(back);
  });

  it('searches input kind and normalisation when asked', () => {
    const s = new SearchSpace(2, { inputs: ['sequence', 'mean'], normalizations: ['release', 'diehl', 'percentile'] });
    expect(s.names.slice(-2)).toEqual(['input', 'normalization']);
    const u = new Array(s.dim).fill(0.5);
    u[s.dim - 2] = 0.9;
    u[s.dim - 1] = 0.1;
    expect(s.decode(u)).toMatchObject({ input: 'mean', normalization: 'release' });
  });

  it('searches the bias mode, the shared-kernel rule and the plastic layers of a CNN when asked (one beta per IF layer)', () => {
    const s = new SearchSpace(4, { biases: ['ignore', 'current'], convStdps: ['sum', 'mean'], plasticLayers: ['all', 'conv'] });
    expect(s.names).toEqual(['maxRate', 'inc', 'dec', 'beta1', 'beta2', 'beta3', 'beta4', 'alphaScale', 'steps', 'bias', 'convStdp', 'layers']);
    const u = new Array(s.dim).fill(0.5);
    u[s.dim - 3] = 0.9;
    u[s.dim - 2] = 0.2;
    u[s.dim - 1] = 0.7;
    const p = s.decode(u);
    expect(p).toMatchObject({ bias: 'current', convStdp: 'sum', layers: 'conv' });
    expect(p.beta).toHaveLength(4);
    expect(s.decode(s.encode(p))).toEqual(p);
    // not searched: the base's, and no coordinate
    const fixed = new SearchSpace(4, { base: { bias: 'current', convStdp: 'mean' } });
    expect(fixed.dim).toBe(9);
    expect(fixed.decode(new Array(9).fill(0.5))).toMatchObject({ bias: 'current', convStdp: 'mean', layers: 'all' });
    expect(() => new SearchSpace(4, { biases: ['ignore', 'add' as never] })).toThrow(/Expected one of ignore, current for biases\[1\] but received "add"/);
    expect(() => new SearchSpace(4, { bounds: { beta: [{ min: 1, max: 2 }] } })).toThrow(/Expected 4 beta bounds \(one per layer of IF neurons/);
  });

  it('parses bounds from the command line and refuses bad ones', () => {
    const b = parseBounds('maxRate=10:500,beta=1:50,beta2=2:3:lin,steps=100:1000', 3);
    expect(b.maxRate).toEqual({ min: 10, max: 500, log: true });
    expect(b.beta).toEqual([
      { min: 1, max: 50, log: true },
      { min: 2, max: 3, log: false },
      { min: 1, max: 50, log: true },
    ]);
    expect(() => parseBounds('foo=1:2', 3)).toThrow(ValueError);
    expect(() => parseBounds('beta4=1:2', 3)).toThrow(/beta1/);
    expect(() => parseBounds('inc=0:1', 3)).toThrow(ValueError); // log scale needs min > 0
    expect(() => new SearchSpace(3, { bounds: { maxRate: { min: 5, max: 1 } } })).toThrow(ValueError);
  });
});
