/**
 * The paper's FGSM evaluation: ONE gradient per test example, then accuracy at every eps of
 * a sweep (default 0 : 0.005 : 0.4, 81 points), all native (native/core/pgd.h fgsm_sweep).
 */
import { addon } from '../native/binding.js';
import { runNative, type RunOptions } from '../util/control.js';
import { BACKENDS, type Backend } from '../native/runtime.js';
import { RUN_OPTION_KEYS, expectKnownKeys, expectOneOf } from '../util/validate.js';
import { checkAttackInputsAsync, expectAttackTarget, checkEpsilons, toLabels, type AttackTarget } from './base.js';
import { checkMemory } from '../util/memory.js';
import { ATTACK_LOSSES, type AttackLoss } from './gradients.js';

/** 0 : step : max, rounded to 1e-9 (the paper: 0 : 0.005 : 0.4 → 81 values). */
export function epsRange(max = 0.4, step = 0.005): number[] {
  const k = Math.round(max / step);
  return Array.from({ length: k + 1 }, (_, i) => Math.round(i * step * 1e9) / 1e9);
}

export const SWEEP_METHODS = ['closed-form', 'direct'] as const;
export type SweepMethod = (typeof SWEEP_METHODS)[number];

export interface SweepResult {
  loss: AttackLoss;
  epsilons: number[];
  /** Accuracy at each eps. */
  accuracy: number[];
  /** correct[e][i] = 1 where example i is still classified correctly at eps e. */
  correct: Uint8Array[];
  n: number;
  seconds: number;
}

export async function fgsmSweep(
  net: AttackTarget,
  x: Float32Array,
  labels: ArrayLike<number>,
  opts: RunOptions & {
    epsilons?: number[];
    /** Default 'ce' (cross-entropy on the logits), as every gradient attack of nrem; 'mse' is the paper's squared error on the output. */
    loss?: AttackLoss;
    backend?: Backend;
    /**
     * 'closed-form' (default, CPU): the first layer at every eps from its piecewise-linear
     * form in eps (native/core/pgd.cc), two GEMMs per batch instead of one per eps, equal to
     * the network at x' up to float rounding; 'direct': build x' and run the whole network
     * at every eps. The GPU always runs 'direct'.
     */
    method?: SweepMethod;
  } = {},
): Promise<SweepResult> {
  const t0 = performance.now();
  expectAttackTarget(net);
  expectKnownKeys(opts, ['epsilons', 'loss', 'backend', 'method', ...RUN_OPTION_KEYS], 'fgsmSweep options');
  const d = net.inputSize;
  const n = await checkAttackInputsAsync(x, d);
  const y = toLabels(labels, n, net.outputSize);
  const loss = expectOneOf(opts.loss ?? 'ce', 'loss', ATTACK_LOSSES);
  const eps = checkEpsilons(opts.epsilons ?? epsRange());
  checkMemory(eps.length * n, `an FGSM sweep of ${eps.length} epsilons on ${n} rows`, 'one byte per row and eps');
  const backend = expectOneOf(opts.backend ?? 'cpu', 'backend', BACKENDS);
  const method = expectOneOf(opts.method ?? 'closed-form', 'method', SWEEP_METHODS);
  const flat = new Uint8Array(eps.length * n);
  await runNative(opts, (c) => addon().fgsmSweep(net.native(), x, n, y, eps, loss, flat, c, backend, method));
  const correct = eps.map((_, e) => flat.subarray(e * n, (e + 1) * n));
  const accuracy = correct.map((c) => (n ? c.reduce((s, v) => s + v, 0) / n : 0));
  return { loss, epsilons: [...eps], accuracy, correct, n, seconds: (performance.now() - t0) / 1000 };
}
