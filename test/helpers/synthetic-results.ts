/**
 * A Results object built from formulas (not from a run): for testing the report's
 * rendering and its wording only. `sleepGain` shifts the slept network's curves so a
 * test can check that the words follow the numbers.
 */
import { RESULTS_SCHEMA_VERSION, stat, type Curve, type NetworkId, type Results } from '../../src/experiments/results.js';
import { builtinSpec } from '../../src/experiments/spec.js';

export function syntheticResults(opts: { sleepGain: number; seeds?: number; pgdGain?: number; aaGain?: number; aaWarning?: boolean }): Results {
  const seeds = Array.from({ length: opts.seeds ?? 3 }, (_, i) => i + 1);
  const jitter = (v: number, i: number) => Math.min(1, Math.max(0, v + 0.004 * (i - 1)));
  const st = (v: number) => stat(seeds.map((_, i) => jitter(v, i)));
  const nets: NetworkId[] = ['control', 'distillation', 'finetune-fgsm', 'sleep', 'pgd-train'];
  const curve = (id: string, title: string, xLabel: string, x: number[], f: (x: number) => number, gain: number): Curve => ({
    id,
    title,
    xLabel,
    x,
    n: 2000,
    series: nets.map((network) => ({
      network,
      accuracy: x.map((v) => st(Math.max(0, Math.min(1, f(v) + (network === 'sleep' && v > 0 ? gain : 0))))),
    })),
  });
  const eps = [0, 0.05, 0.1, 0.2, 0.3];
  const spec = builtinSpec('paper-mnist', { quick: true });
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    nrem: { version: '0.0.0-test' },
    spec,
    startedAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:01:00.000Z',
    wallSeconds: 60,
    units: { computed: 10, reused: 0 },
    environment: { node: process.version, platform: process.platform, threads: 2, gemm: 'openblas' },
    data: { name: 'synthetic', train: 8000, test: 2000, dims: 784, classes: 10, note: 'synthetic numbers for a rendering test' },
    seeds,
    networks: nets.map((id) => ({
      id,
      label: id,
      cleanAccuracy: st(id === 'sleep' ? 0.93 : 0.94),
      cleanDelta: stat(seeds.map(() => (id === 'sleep' ? -0.01 : id === 'control' ? 0 : -0.002))),
      costSeconds: st(id === 'control' ? 30 : 10),
    })),
    curves: [
      curve('fgsm-mse', 'FGSM (squared error)', 'eps', eps, (e) => 0.94 - 2 * e, opts.sleepGain),
      curve('noise', 'Gaussian noise', 'noise variance', [0, 0.1, 0.3, 0.5], (v) => 0.94 - v, opts.sleepGain),
      curve('blur', 'Gaussian blur', 'blur sigma', [0, 1, 2, 3], (s) => 0.94 - 0.15 * s, opts.sleepGain),
      curve('pgd', 'PGD', 'eps', eps, (e) => 0.94 - 3 * e, opts.pgdGain ?? opts.sleepGain),
      curve('square', 'Square', 'eps', [0, 0.1, 0.3], (e) => 0.94 - 2 * e, opts.pgdGain ?? opts.sleepGain),
      curve('transfer', 'Transfer', 'eps', eps, (e) => 0.94 - 1.5 * e, opts.pgdGain ?? opts.sleepGain),
    ],
    perturbations: (['control', 'sleep'] as NetworkId[]).flatMap((network) => [
      { attack: 'deepfool' as const, network, n: 100, successRate: st(1), medianL2: st(1.5), meanL2: st(1.6), rho: st(0.15) },
      { attack: 'jsma' as const, network, n: 30, successRate: st(0.9), medianL0: st(20), fractionChanged: st(0.03) },
    ]),
    // AutoAttack (when aaGain is given): the slept network's robust accuracy shifted by aaGain.
    ...(opts.aaGain === undefined
      ? {}
      : {
          autoattack: (['control', 'sleep'] as NetworkId[]).map((network) => {
            const g = network === 'sleep' ? opts.aaGain! : 0;
            const at = (e: number) => Math.max(0, 0.6 - 2 * e + g);
            const aaEps = [0.1, 0.2, 0.3];
            return {
              network,
              n: 100,
              version: 'standard',
              norm: 'linf',
              eps: aaEps,
              cleanAccuracy: st(0.94),
              robust: aaEps.map((e) => st(at(e))),
              stages: ['apgd-ce', 'apgd-t', 'fab-t', 'square'].map((attack, i) => ({ attack, robust: aaEps.map((e) => st(at(e) + 0.03 * (3 - i))) })),
              warnings: opts.aaWarning && network === 'sleep' ? [{ seed: 1, eps: 0.1, id: 'zero-gradient', message: 'APGD-CE: 40 of 90 attacked examples have an exactly zero loss gradient' }] : [],
            };
          }),
        }),
    sleep: {
      preset: 'mnist-fgsm',
      input: 'sequence: the training images in order, cycled',
      steps: 27105,
      spikesPerLayer: [st(217000), st(50), st(0), st(0)],
      weightsChanged: [st(40000), st(0), st(0)],
      wallSeconds: st(8),
    },
  };
}
