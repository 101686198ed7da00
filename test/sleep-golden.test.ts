/**
 * nrem's sleep is the authors' sleep: checks against the golden record of one sleep by
 * their MATLAB release (test/fixtures/authors-sleep-seed1/README.md).
 */
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/mnist.js';
import { scaleFactors, sleep } from '../src/index.js';
import { changes, controlNetwork, manifest, pairs, spikes } from './helpers/authors-fixture.js';

describe('golden record of the authors\' sleep (seed 1)', () => {
  const m = manifest();

  it('release-chain scale factors over the 60,000 training images equal the release\'s norm_constants', async () => {
    const net = controlNetwork(); // paper dropout 0.2: hidden activations × 0.8 in test mode
    const { train } = loadMnist();
    expect(train.n).toBe(60000);
    const s = await scaleFactors(net, train.x, 'release', { chunk: 5000 });
    // Tolerance 1e-5 relative: float32 forward (BLAS order) vs the release's double precision.
    s.factors.forEach((f, l) => expect(Math.abs(f - m.norm_constants[l]) / m.norm_constants[l]).toBeLessThan(1e-5));
    // alpha = factor × alpha_scale of mnist-fgsm
    s.factors.forEach((f, l) => expect(Math.abs(f * 2.193698 - m.alpha[l]) / m.alpha[l]).toBeLessThan(1e-5));
  });

  it('replaying the recorded input spikes for all 27,105 steps reproduces the hidden spikes and W1 exactly', async () => {
    const net = controlNetwork();
    const input = spikes(0);
    expect(input.offsets.length).toBe(m.steps + 1);
    const { network, stats } = await sleep(net, new Float32Array(784), {
      preset: 'mnist-fgsm',
      scaleFactors: m.norm_constants,
      replay: input,
      raster: { from: 0, to: m.steps },
    });
    expect(stats.steps).toBe(m.steps);
    expect(stats.spikes).toEqual(m.spike_counts);
    // Hidden layer 1 fires at exactly the recorded (step, neuron) pairs; deeper layers never.
    const rec = spikes(1);
    expect(pairs(stats.raster!.offsets[1], stats.raster!.indices[1])).toEqual(pairs(rec.offsets, rec.indices));
    expect(stats.raster!.indices[2].length).toBe(0);
    expect(stats.raster!.indices[3].length).toBe(0);
    // W1 ends exactly as recorded (every recorded change, nothing else); W2, W3 unchanged.
    const expected = controlNetwork().getWeights(0).slice();
    const ch = changes(1);
    for (const c of ch) expected[c.row * 784 + c.col] = c.value;
    let maxDiff = 0;
    const slept = network.getWeights(0);
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(slept[i] - expected[i]));
    expect(maxDiff).toBe(0);
    expect(stats.weightsChanged).toEqual(m.weights_changed);
    expect(ch.length).toBe(m.weights_changed[0]);
    // (element loops: vitest's deep equality is slow on million-element arrays)
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
    expect(same(network.getWeights(1), net.getWeights(1))).toBe(true);
    expect(same(network.getWeights(2), net.getWeights(2))).toBe(true);
    // The input network is untouched (sleep works on a copy).
    expect(same(net.getWeights(0), controlNetwork().getWeights(0))).toBe(true);
  });
});
