/**
 * The CNN study end to end (issue 13): the built-in `cnn-mnist --quick` spec cut to a
 * smaller network of the same shape (two conv + max-pool stages, two dense layers: the
 * cnn-mnist preset's four betas fit it) and one seed, every defence, attack and
 * distortion, run by the real operations; the report has the sections of the MLP study,
 * and the sleep's spikes are reported for every spiking layer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinSpec, BUILTIN_SPECS, validateSpec } from '../src/experiments/spec.js';
import { runExperiment } from '../src/experiments/runner.js';
import { realOps } from '../src/experiments/ops-real.js';
import { writeReport } from '../src/report/report.js';
import { getPreset } from '../src/sleep/presets.js';
import { syntheticResults } from './helpers/synthetic-results.js';

const out = mkdtempSync(join(tmpdir(), 'nrem-cnn-study-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const h2 = (md: string) => md.split('\n').filter((l) => l.startsWith('## ')).map((l) => l.slice(3));

describe('the built-in CNN and Fashion-MNIST specs', () => {
  it('are valid, name their preset (tuned by nrem) and their data', () => {
    for (const name of ['cnn-mnist', 'cnn-fashion', 'mlp-fashion'] as const) {
      expect(BUILTIN_SPECS).toContain(name);
      for (const quick of [false, true]) {
        const s = validateSpec(builtinSpec(name, { quick }));
        expect(s.seeds).toHaveLength(quick ? 2 : 3);
        expect(s.defences.distillation && s.defences.finetune && s.defences.pgdTrain).toBeTruthy();
        expect(s.data).toBe(name === 'cnn-mnist' ? 'mnist' : 'fashion-mnist');
        expect(() => getPreset(s.sleep.preset)).not.toThrow();
      }
    }
    expect(builtinSpec('cnn-mnist').train.arch).toBe('conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10');
    expect(builtinSpec('cnn-fashion').sleep.preset).toBe('cnn-fashion');
    expect(getPreset('cnn-mnist').description).toMatch(/tuned by nrem tune/);
    expect(builtinSpec('mlp-fashion').sleep.preset).toBe('mnist-fgsm');
    expect(builtinSpec('mlp-fashion').train.sizes).toEqual([784, 1200, 1200, 10]);
  });
});

describe('cnn-mnist --quick, on a smaller network of the same shape', () => {
  it('runs end to end with a report of the MLP study\'s sections', async () => {
    const s = builtinSpec('cnn-mnist', { quick: true, seeds: 1 });
    s.name = 'small-cnn-mnist';
    s.train = { recipe: 'modern', arch: 'conv:4x5,pool:max2,conv:8x5,pool:max2,dense:16,10', epochs: 1 };
    s.sleep = { preset: 'cnn-mnist', steps: 2000 };
    s.defences.distillation!.epochs = 1;
    s.defences.finetune = { ...s.defences.finetune!, replace: 500, attackReplace: 30, attacks: ['deepfool'] };
    const ev = s.evaluation;
    ev.testSize = 300;
    ev.fgsm = { eps: [0, 0.1, 0.2, 0.3], losses: ['ce', 'mse'] };
    ev.noise = { variances: [0, 0.3, 0.7] };
    ev.blur = { sigmas: [0, 1, 2] };
    ev.deepfool = { ...ev.deepfool, n: 15 };
    ev.jsma = { ...ev.jsma, n: 5, maxIter: 60 };
    ev.cw = { ...ev.cw, n: 5, steps: 20, searches: 2 };
    ev.pgd = { ...ev.pgd, n: 40, steps: 5, eps: [0.1, 0.3] };
    ev.square = { ...ev.square, n: 15, queries: 30, eps: [0.1, 0.3] };
    ev.transfer = { n: 40, eps: [0.1, 0.3] };
    expect(ev.autoattack).toEqual({ n: 30, eps: [0.1, 0.2, 0.3], version: 'standard', norm: 'linf' });
    ev.autoattack = { ...ev.autoattack!, n: 8, eps: [0.1, 0.3] };
    const r = await runExperiment(s, { out, ops: realOps(), report: true });
    expect(r.networks.map((n) => n.id).sort()).toEqual(
      ['control', 'distillation', 'finetune-blur', 'finetune-deepfool', 'finetune-fgsm', 'finetune-noise', 'pgd-train', 'sleep'].sort(),
    );
    // a CNN learns the quick subset in one epoch
    expect(r.networks.find((n) => n.id === 'control')!.cleanAccuracy.mean).toBeGreaterThan(0.8);
    // input + conv, maxpool, conv, maxpool, dense, dense
    expect(r.sleep.spikesPerLayer).toHaveLength(7);
    expect(r.sleep.spikesPerLayer[0].mean).toBeGreaterThan(0);
    expect(r.sleep.layers).toEqual(['conv', 'maxpool', 'conv', 'maxpool', 'dense', 'dense']);
    expect(r.curves.map((c) => c.id).sort()).toEqual(['blur', 'fgsm-ce', 'fgsm-mse', 'noise', 'pgd', 'square', 'transfer'].sort());
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    // AutoAttack on the CNNs: the headline, per network, the worst case at most the clean accuracy
    expect(r.autoattack!.map((a) => a.network).sort()).toEqual(['control', 'distillation', 'finetune-fgsm', 'pgd-train', 'sleep'].sort());
    for (const a of r.autoattack!) a.robust.forEach((v) => expect(v.mean).toBeLessThanOrEqual(a.cleanAccuracy.mean));
    const mlp = await writeReport(syntheticResults({ sleepGain: 0.05, aaGain: 0 }));
    expect(h2(md)).toEqual(h2(mlp.markdown));
    expect(md).toContain('conv:4x5,pool:max2,conv:8x5,pool:max2,dense:16,10');
    expect(md).toContain('| layer 1 (conv) | layer 2 (maxpool) |');
    expect(md).toMatch(/Sleep: preset `cnn-mnist`/);
    // the CNN study's verdict rests on cross-entropy FGSM (its networks are trained with it)
    expect(md).toMatch(/\*\*FGSM \(cross-entropy\)\*\*/);
  }, 600_000);
});
