/**
 * Small experiment specs for the runner tests: the patches study cut to seconds (all of it,
 * or just control, sleep and two evaluations), a small MNIST study (the quick subset, a 784-128-10 network, a few evaluations), and
 * `withoutTiming` — a results.json with its timing fields removed, to compare two runs.
 */
import { builtinSpec, type ExperimentSpec } from '../../src/experiments/spec.js';
import type { Results } from '../../src/experiments/results.js';

/** paper-patches, one seed, every defence and attack, each cut short (~40 units, seconds in all). */
export function tinyPatches(): ExperimentSpec {
  const s = builtinSpec('paper-patches', { seeds: 1 });
  s.train.epochs = 8;
  s.sleep.steps = 3000;
  s.defences.distillation!.epochs = 8;
  s.defences.pgdTrain!.epochs = 3;
  s.defences.finetune!.replace = 100;
  s.defences.finetune!.attackReplace = 20;
  const ev = s.evaluation;
  ev.testSize = 200;
  ev.fgsm.eps = [0, 0.1, 0.2, 0.3, 0.4];
  ev.deepfool.n = 20;
  ev.jsma.n = 8;
  ev.cw = { ...ev.cw, n: 8, steps: 20, searches: 2 };
  ev.pgd = { ...ev.pgd, n: 50, steps: 5, eps: [0.1, 0.3] };
  ev.square = { ...ev.square, n: 20, queries: 30, eps: [0.1, 0.3] };
  ev.transfer = { n: 50, eps: [0.1, 0.3] };
  return s;
}

/** The patches study with control, sleep and two evaluations per network (6 units, ~2 s). */
export function microPatches(): ExperimentSpec {
  const s = builtinSpec('paper-patches', { seeds: 1 });
  s.train.epochs = 8;
  s.sleep.steps = 3000;
  s.defences = {};
  const ev = s.evaluation;
  ev.testSize = 200;
  ev.fgsm = { eps: [0, 0.2, 0.4], losses: ['mse'] };
  ev.noise = { variances: [0, 0.3] };
  ev.blur = { sigmas: [] };
  for (const a of ['deepfool', 'jsma', 'cw', 'pgd', 'square', 'transfer'] as const) ev[a] = { ...ev[a], n: 0 } as never;
  return s;
}

/** MNIST (the quick subset), one seed, control + sleep, FGSM, noise and DeepFool (8 units; the control trains ~2 s). */
export function smallMnist(): ExperimentSpec {
  const s = builtinSpec('paper-mnist', { quick: true, seeds: 1 });
  s.name = 'small-mnist';
  s.train = { recipe: 'paper', sizes: [784, 128, 10], epochs: 4 };
  s.sleep = { preset: 'mnist-fgsm', steps: 400, beta: [36.186585, 23.362736] };
  s.defences = {};
  const ev = s.evaluation;
  ev.testSize = 300;
  ev.fgsm = { eps: [0, 0.1, 0.2], losses: ['mse'] };
  ev.noise = { variances: [0, 0.3] };
  ev.blur = { sigmas: [] };
  ev.deepfool = { ...ev.deepfool, n: 20 };
  for (const a of ['jsma', 'cw', 'pgd', 'square', 'transfer'] as const) ev[a] = { ...ev[a], n: 0 } as never;
  return s;
}

/** A results.json without what depends on when and how fast it ran (and how many units were reused). */
export function withoutTiming(r: Results): unknown {
  const x = JSON.parse(JSON.stringify(r)) as Record<string, unknown> & Results;
  for (const k of ['startedAt', 'finishedAt', 'wallSeconds', 'environment', 'units'] as const) delete (x as Partial<Results>)[k];
  for (const n of x.networks) delete (n as Partial<typeof n>).costSeconds;
  delete (x.sleep as Partial<typeof x.sleep>).wallSeconds;
  return x;
}
