/** The public sleep API: presets, parameter checks, normalisation chains, progress, abort. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ArgumentError,
  FormatError,
  Network,
  PRESETS,
  ShapeError,
  UnsupportedError,
  ValueError,
  getPreset,
  layerMaxima,
  loadPresetFile,
  resolveParameters,
  scaleChain,
  sleep,
  type ProgressEvent,
} from '../src/index.js';

function net3(sizes = [16, 12, 8, 4]): Network {
  const net = new Network({ sizes });
  let s = 1;
  const params = net.parameters();
  for (const w of params.weights) for (let i = 0; i < w.length; i++) w[i] = (((s = (s * 48271) % 2147483647) / 2147483647) - 0.4) * 0.5;
  net.setParameters(params);
  return net;
}
const data16 = new Float32Array(16 * 20).map((_, i) => ((i * 37) % 11) / 10);

describe('presets', () => {
  it('hold the authors\' values (sleep-algorithm.md §5) as typed objects', () => {
    expect(PRESETS['mnist-fgsm']).toMatchObject({
      maxRate: 39.037119, inc: 0.063997, dec: 0.06922, beta: [36.186585, 23.362736, 36.384713],
      alphaScale: 2.193698, steps: 27105, input: 'sequence', dt: 0.001, threshold: 1, decay: 0.999,
      inhibition: 0, dc: 0, normalization: 'release', stdpGate: 'release', gateWidth: 0.001,
    });
    expect(PRESETS['mnist-minimal']).toMatchObject({ maxRate: 455.364521, steps: 3365, alphaScale: 34.65787 });
    expect(PRESETS.cub200).toMatchObject({ maxRate: 32, inc: 0.01, dec: 0.001, beta: [1, 1, 1], steps: 5000, input: 'mean' });
    expect(PRESETS.patches).toMatchObject({ maxRate: 64, inc: 0.0035, dec: 0.0002, alphaScale: 4.25, steps: 30000 });
    const p = getPreset('mnist-fgsm');
    p.beta[0] = 1; // a copy
    expect(PRESETS['mnist-fgsm'].beta[0]).toBe(36.186585);
  });

  it('every field can be overridden; another depth needs its own beta', () => {
    const p = resolveParameters('mnist-fgsm', { steps: 10, inc: 0.5 }, 3);
    expect(p.steps).toBe(10);
    expect(p.inc).toBe(0.5);
    expect(p.dec).toBe(0.06922);
    expect(() => resolveParameters('mnist-fgsm', {}, 2)).toThrow(ShapeError);
    expect(() => resolveParameters('mnist-fgsm', {}, 2)).toThrow(/3 layers of IF neurons.*this network has 2.*give beta/);
    expect(resolveParameters('mnist-fgsm', { beta: [1, 2] }, 2).beta).toEqual([1, 2]);
    expect(() => resolveParameters('nope' as never, {}, 3)).toThrow(ValueError);
  });

  it('reads a preset file (a base preset plus overrides); unknown keys are an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrem-sleep-'));
    const good = join(dir, 'tuned.json');
    writeFileSync(good, JSON.stringify({ preset: 'mnist-minimal', steps: 100, beta: [1, 2, 3] }));
    const f = await loadPresetFile(good);
    const p = resolveParameters(f.preset, f, 3);
    expect(p).toMatchObject({ steps: 100, beta: [1, 2, 3], maxRate: 455.364521 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ stpes: 100 }));
    await expect(loadPresetFile(bad)).rejects.toThrow(FormatError);
    writeFileSync(bad, '{ not json');
    await expect(loadPresetFile(bad)).rejects.toThrow(FormatError);
  });
});

describe('bad parameters and models give typed errors', () => {
  const net = net3();
  const base = { beta: [1, 1, 1], steps: 10, scaleFactors: [1, 1, 1] };
  it.each([
    ['negative rate', { maxRate: -1 }, ValueError],
    ['NaN inc', { inc: NaN }, ValueError],
    ['steps 0', { steps: 0 }, ValueError],
    ['fractional steps', { steps: 1.5 }, ValueError],
    ['beta of the wrong length', { beta: [1, 1] }, ArgumentError],
    ['negative beta', { beta: [1, -1, 1] }, ValueError],
    ['decay above 1', { decay: 1.5 }, ValueError],
    ['unknown gate', { stdpGate: 'cubic' }, ValueError],
    ['unknown input', { input: 'noise' }, ValueError],
    ['string rate', { maxRate: '40' }, ArgumentError],
    ['scale factors of the wrong length', { scaleFactors: [1] }, ShapeError],
    ['raster outside the steps', { raster: { from: 0, to: 11 } }, ValueError],
  ])('%s', async (_name, extra, Err) => {
    await expect(sleep(net, data16, { ...base, ...(extra as object) })).rejects.toThrow(Err as never);
  });

  it('bad networks, data and sleep options', async () => {
    await expect(sleep({} as Network, data16, base)).rejects.toThrow(ArgumentError);
    // softmax heads and biases are part of the general sleep (sleep-general.md): accepted
    const soft = new Network({ sizes: [16, 4], output: 'softmax' });
    await expect(sleep(soft, data16, { ...base, beta: [1], scaleFactors: [1] })).resolves.toBeDefined();
    const biased = new Network({ sizes: [16, 4], biases: true });
    biased.setBias(0, Float32Array.of(0, 0.5, 0, 0));
    await expect(sleep(biased, data16, { ...base, beta: [1], scaleFactors: [1], bias: 'current' })).resolves.toBeDefined();
    await expect(sleep(biased, data16, { ...base, beta: [1], scaleFactors: [1], bias: 'through' as never })).rejects.toThrow(/Expected one of ignore, current for bias/);
    await expect(sleep(biased, data16, { ...base, beta: [1], scaleFactors: [1], layers: [1] })).rejects.toThrow(/layer indices in 0\.\.0 for layers but layers\[0\] is 1; the network's layers: 0 dense 4×1×1/);
    await expect(sleep(biased, data16, { ...base, beta: [1, 2], scaleFactors: [1] })).rejects.toThrow(/1 values for beta \(one per layer of IF neurons/);
    await expect(sleep(net, new Float32Array(15), base)).rejects.toThrow(ShapeError);
    const nan = data16.slice();
    nan[16 * 3 + 2] = NaN;
    await expect(sleep(net, nan, base)).rejects.toThrow(ValueError);
    await expect(sleep(net, nan, base)).rejects.toThrow(/row 3, column 2/);
    await expect(sleep(net, nan, { ...base, steps: 3 })).resolves.toBeDefined(); // row 3 is never read
    await expect(sleep(net, nan, { ...base, engine: 'dense' })).rejects.toThrow(/row 3, column 2/);
    // A bad row met by the input drawn ahead on the second thread (block 2 of 1,024 steps).
    const late = new Float32Array(16 * 3000).fill(0.5);
    late[16 * 2500] = Infinity;
    await expect(sleep(net, late, { ...base, steps: 3000 })).rejects.toThrow(/row 2500, column 0/);
    await expect(sleep(net, data16, { ...base, input: 'masked-mean' })).rejects.toThrow(/image data/);
  });
});

describe('normalisation', () => {
  it('release and Diehl chains from the layer maxima (sleep-algorithm.md §2)', () => {
    const s = [2, 3, 5];
    // release: r1 = 2, r2 = 3/2, r3 = 5/(3/2) → factors 1/2, 2/3, 3/10
    expect(scaleChain(s, 'release').map((x) => +x.toFixed(12))).toEqual([0.5, +(2 / 3).toFixed(12), 0.3]);
    // diehl: s0/s1, s1/s2, s2/s3
    expect(scaleChain(s, 'diehl').map((x) => +x.toFixed(12))).toEqual([0.5, +(2 / 3).toFixed(12), 0.6]);
  });

  it('layer maxima are max(max W+, max activation); a percentile is no larger', async () => {
    const net = new Network({ sizes: [2, 2, 1], dropout: 0.5 });
    net.setWeights(0, Float32Array.from([1, 0, 0, 3]));
    net.setWeights(1, Float32Array.from([0.25, 0.25]));
    const x = new Float32Array([1, 0, 0, 1, 0.5, 0.5]);
    // a1 = 0.5·relu(W1 x): rows [0.5, 0], [0, 1.5], [0.25, 0.75] → max 1.5 (W1 max 3 wins)
    expect(await layerMaxima(net, x)).toEqual([3, 0.375]);
    const pct = await layerMaxima(net, x, { percentile: 50 });
    expect(pct[0]).toBe(3);
    expect(pct[1]).toBeLessThanOrEqual(0.375);
  });
});

describe('progress, abort, statistics', () => {
  it('reports progress and keeps the event loop turning; rate trace and raster on request', async () => {
    const net = net3();
    const events: ProgressEvent[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const { stats } = await sleep(net, data16, {
      beta: [0.5, 0.5, 0.5], steps: 60000, maxRate: 200, engine: 'dense', traceEvery: 1000,
      raster: { from: 100, to: 110 }, onProgress: (p) => events.push(p),
    });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    const sl = events.filter((e) => e.phase === 'sleep');
    expect(sl.length).toBeGreaterThan(10);
    expect(sl[sl.length - 1]).toMatchObject({ done: 60000, total: 60000 });
    expect(events.some((e) => e.phase === 'normalize')).toBe(true);
    expect(stats.rateTrace.every).toBe(1000);
    expect(stats.rateTrace.rates.length).toBe(60 * 4);
    // Rates (Hz) of the input layer over the trace add back up to the spike count.
    let sum = 0;
    for (let w = 0; w < 60; w++) sum += stats.rateTrace.rates[w * 4] * 16 * 1000 * 0.001;
    expect(Math.abs(sum - stats.spikes[0])).toBeLessThan(1e-3 * stats.spikes[0]);
    expect(stats.raster!.offsets[0].length).toBe(11);
    expect(stats.raster!.indices[0].length).toBe(stats.raster!.offsets[0][10]);
    expect(stats.scaleFactors.length).toBe(3);
    expect(stats.alpha[0]).toBeCloseTo(stats.parameters.alphaScale * stats.scaleFactors[0], 12);
  });

  it('an AbortSignal stops a running sleep with AbortError', async () => {
    const net = net3([200, 300, 300, 10]);
    const ac = new AbortController();
    const t0 = performance.now();
    const run = sleep(net, new Float32Array(200 * 5).fill(0.5), {
      beta: [1, 1, 1], steps: 1_000_000, engine: 'dense', scaleFactors: [1, 1, 1],
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    await expect(run).rejects.toThrow(AbortError);
    expect(performance.now() - t0).toBeLessThan(20_000);
    const pre = new AbortController();
    pre.abort();
    await expect(sleep(net, new Float32Array(200), { beta: [1, 1, 1], signal: pre.signal })).rejects.toThrow(AbortError);
  });

  it('inPlace modifies the given network; by default it is left alone', async () => {
    const net = net3();
    const before = net.parameters().weights;
    const opts = { beta: [0.3, 0.3, 0.3], steps: 2000, maxRate: 300, scaleFactors: [1, 1, 1], stdpGate: 'none' as const };
    const r = await sleep(net, data16, opts);
    expect(r.stats.weightsChanged[0]).toBeGreaterThan(0);
    expect(net.getWeights(0)).toEqual(before[0]);
    const r2 = await sleep(net, data16, { ...opts, inPlace: true });
    expect(r2.network).toBe(net);
    expect(net.getWeights(0)).toEqual(r.network.getWeights(0));
  });
});
