/**
 * Sleep on the networks users bring (issue 13): a PyTorch MLP with biases and a softmax
 * head sleeps with parameters `tune` found for it on a validation split, and its hidden
 * layers fire; `sleepBatch` runs CNN sleeps side by side, each equal to the sleep alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset, loadOnnx, loadPresetFile, sleep, sleepBatch, tune } from '../src/index.js';
import { head } from '../src/data/dataset.js';

const fixture = (f: string) => join(__dirname, 'fixtures/onnx', f);
const tmp = mkdtempSync(join(tmpdir(), 'nrem-imported-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a PyTorch MLP with biases and a softmax head', () => {
  it('sleeps with a preset nrem tune found for it, and every hidden layer fires', async () => {
    const split = await loadDataset('mnist', { quick: true, quickTrain: 2000, quickTest: 300, seed: 1 });
    const net = await loadOnnx(fixture('mlp_softmax.onnx'));
    expect(net.output).toBe('softmax');
    expect(net.hasBiases).toBe(true);
    const out = join(tmp, 'mlp.json');
    const r = await tune(net, split, {
      algorithm: 'ga', budget: 12, popSize: 6, seed: 4, valSize: 200, objective: 'noise:0.3,blur:2',
      bounds: { steps: { min: 200, max: 3000 } }, biases: ['ignore', 'current'], out,
    });
    expect(r.history.space.names).toEqual(['maxRate', 'inc', 'dec', 'beta1', 'beta2', 'beta3', 'alphaScale', 'steps', 'bias']);
    // the search found parameters better than the control on the validation rows
    expect(r.best.score).toBeGreaterThan(r.history.control.score);
    const preset = await loadPresetFile(out);
    const s = await sleep(net, split.train, { preset, seed: 1 });
    expect(s.stats.layers).toEqual(['dense', 'dense', 'dense']);
    expect(s.stats.spikes).toHaveLength(4);
    expect(s.stats.spikes[1]).toBeGreaterThan(0);
    expect(s.stats.spikes[2]).toBeGreaterThan(0);
    // the slept network keeps the softmax head and the biases
    expect(s.network.output).toBe('softmax');
    expect(s.network.getBias(0)).toEqual(net.getBias(0));
  }, 300_000);
});

describe('sleepBatch on a CNN', () => {
  it('gives each sleep of the batch exactly the result of that sleep alone', async () => {
    const { train } = await loadDataset('mnist', { quick: true, seed: 1 });
    const x = head(train, 1200).x;
    const net = await loadOnnx(fixture('lenet_avg.onnx'));
    const list = [
      { preset: 'mnist-fgsm' as const, seed: 1, steps: 1200, maxRate: 120, beta: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], alphaScale: 2 },
      { preset: 'mnist-fgsm' as const, seed: 2, steps: 900, maxRate: 80, beta: [1, 0.7, 1, 0.7, 1, 1], alphaScale: 2, bias: 'current' as const, convStdp: 'mean' as const },
      { preset: 'mnist-fgsm' as const, seed: 3, steps: 1200, maxRate: 120, beta: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], alphaScale: 2, layers: 'conv' as const },
    ];
    const batch = await sleepBatch(net, x, list);
    expect(batch).toHaveLength(3);
    for (const [k, o] of list.entries()) {
      const one = await sleep(net, x, o);
      expect(batch[k].stats.spikes).toEqual(one.stats.spikes);
      expect(one.stats.spikes[1]).toBeGreaterThan(0);
      for (let l = 0; l < net.weightLayers; l++) expect(batch[k].network.getWeights(l)).toEqual(one.network.getWeights(l));
    }
    // layers 'conv' leaves the dense layers as they were
    expect(batch[2].network.getWeights(2)).toEqual(net.getWeights(2));
    expect(batch[2].network.getWeights(0)).not.toEqual(net.getWeights(0));
  }, 120_000);
});
