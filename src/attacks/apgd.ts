/**
 * Auto-PGD (Croce & Hein 2020, Algorithm 1; native/core/apgd.h): PGD whose step size halves at
 * fixed checkpoints when the loss stops rising, with momentum 0.75, on the cross-entropy or the
 * scale-invariant DLR loss — untargeted, or targeted (DLR-T) against the most likely other classes
 * in turn. One native implementation over the model interface; `runApgd` is the call AutoAttack
 * builds on, `APGD` the Foolbox-shaped attack.
 */
import { addon, type NativeApgdStats } from '../native/binding.js';
import { runNative, type RunOptions } from '../util/control.js';
import { ValueError } from '../errors.js';
import { expectBoolean, expectInt, expectKnownKeys, expectNumber, expectOneOf } from '../util/validate.js';
import { Attack, type AttackNorm, type AttackTarget, type CraftContext, type Crafted } from './base.js';

export const APGD_LOSSES = ['ce', 'dlr', 'dlr-targeted'] as const;
export type ApgdLoss = (typeof APGD_LOSSES)[number];
export type LpNorm = 'linf' | 'l2';

export interface ApgdOptions {
  norm?: LpNorm;
  loss?: ApgdLoss;
  /** Iterations per run (default 100, the original's). */
  iterations?: number;
  /** Runs from random starts, each on the rows still robust (default 1; AutoAttack's `plus`: 5). */
  restarts?: number;
  /** DLR-T: how many of the most likely other classes to target in turn (default 9). */
  targetClasses?: number;
  /** The step-size condition's fraction ρ (default 0.75). */
  rho?: number;
  /** Stop a row at its first adversarial iterate (default true; the verdicts are the same). */
  earlyStop?: boolean;
  batch?: number;
  /**
   * Runs (targets × restarts) side by side in one pass over the rows, which batches their
   * forward and backward passes (default 0: as many as fit in 4 M slot values, rows × runs ×
   * inputs). A row's result is the first fooling run's, as when the runs go one after
   * another; with the own GEMM (NREM_GEMM=native) it is the same bit for bit whatever this
   * is, while OpenBLAS may round a row differently in batches of another size.
   */
  runsPerPass?: number;
}

/**
 * Checks a budget: L∞ in [0, 1] (the pixel range); L2 in [0, √d] (the diameter of [0, 1]^d,
 * since L2 budgets above 1 are common).
 */
export function expectEpsilon(eps: unknown, norm: LpNorm, d: number, name = 'eps'): number {
  return expectNumber(eps, name, 0, norm === 'linf' ? 1 : Math.sqrt(d));
}

/** Checks a target count against the classes: 1 … K − 1 (and K ≥ 4 for the targeted DLR loss). */
export function expectTargetClasses(t: unknown, classes: number, name = 'targetClasses'): number {
  if (classes < 2) throw new ValueError(`Expected at least 2 classes for targeted attacks but the network has ${classes}`);
  return expectInt(t, name, 1, classes - 1);
}

export interface ApgdRun {
  /** n × d: the adversarial iterate, or the clean row where none was found. */
  adversarial: Float32Array;
  /** 1 where adversarial (rows misclassified before the attack included). */
  fooled: Uint8Array;
  /** 1 where the row was attacked and its loss gradient at the first start point is exactly zero. */
  zeroGradient: Uint8Array;
  stats: NativeApgdStats;
}

export interface ApgdCall extends RunOptions {
  seed: number;
  /** Random key of each row (default: its index). AutoAttack passes the rows' indices in the full set. */
  keys?: number[];
}

/**
 * One native APGD run: eps one budget, or one per row (rows of several budgets then share
 * every forward and backward pass). Options must be checked (resolveApgd).
 */
export async function runApgd(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, eps: number | number[], o: Required<ApgdOptions>, call: ApgdCall): Promise<ApgdRun> {
  const adversarial = new Float32Array(n * net.inputSize);
  const flags = new Int32Array(n);
  const opts: Record<string, number | boolean | string | number[]> = {
    eps,
    l2: o.norm === 'l2',
    loss: o.loss,
    iterations: o.iterations,
    restarts: o.restarts,
    targetClasses: o.targetClasses,
    rho: o.rho,
    earlyStop: o.earlyStop,
    seed: call.seed,
    batch: o.batch,
    runsPerPass: o.runsPerPass,
  };
  if (call.keys) opts.keys = call.keys;
  const stats = await runNative(call, (c) => addon().attackRun('apgd', net.native(), x, n, y, opts, adversarial, flags, c));
  return { adversarial, fooled: Uint8Array.from(flags, (f) => f & 1), zeroGradient: Uint8Array.from(flags, (f) => (f >> 1) & 1), stats };
}

export const APGD_OPTION_KEYS = ['norm', 'loss', 'iterations', 'restarts', 'targetClasses', 'rho', 'earlyStop', 'batch', 'runsPerPass'] as const;

/** Defaults and checks of the APGD options (classes: the network's output size). */
export function resolveApgd(opts: ApgdOptions, classes: number): Required<ApgdOptions> {
  const loss = expectOneOf(opts.loss ?? 'ce', 'loss', APGD_LOSSES);
  if (loss === 'dlr' && classes < 3) throw new ValueError(`Expected at least 3 classes for the DLR loss but the network has ${classes}`);
  if (loss === 'dlr-targeted' && classes < 4) throw new ValueError(`Expected at least 4 classes for the targeted DLR loss but the network has ${classes}`);
  return {
    norm: expectOneOf(opts.norm ?? 'linf', 'norm', ['linf', 'l2'] as const),
    loss,
    iterations: expectInt(opts.iterations ?? 100, 'iterations', 1, 1e6),
    restarts: expectInt(opts.restarts ?? 1, 'restarts', 1, 1000),
    targetClasses: loss === 'dlr-targeted' ? expectTargetClasses(opts.targetClasses ?? Math.min(9, classes - 1), classes) : 1,
    rho: expectNumber(opts.rho ?? 0.75, 'rho', Number.MIN_VALUE, 1),
    earlyStop: expectBoolean(opts.earlyStop ?? true, 'earlyStop'),
    batch: expectInt(opts.batch ?? 1000, 'batch', 1, 1 << 20),
    runsPerPass: expectInt(opts.runsPerPass ?? 0, 'runsPerPass', 0, 1 << 20),
  };
}

export class APGD extends Attack {
  readonly name: string;
  readonly norm: AttackNorm;
  readonly fixedEpsilon = true;
  private readonly opts: ApgdOptions;
  /** Per eps of the last run: rows attacked, zero gradients, halvings. */
  lastStats: NativeApgdStats[] = [];

  constructor(opts: ApgdOptions = {}) {
    super();
    expectKnownKeys(opts, APGD_OPTION_KEYS, 'APGD options');
    this.opts = { ...opts };
    resolveApgd(opts, Number.MAX_SAFE_INTEGER); // argument types and ranges now; the class count is checked at run time
    this.norm = opts.norm ?? 'linf';
    const loss = opts.loss ?? 'ce';
    this.name = `${loss === 'dlr-targeted' ? 'apgd-t' : `apgd-${loss}`}${this.norm === 'l2' ? '-l2' : ''}`;
  }

  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, epsilons: number[], ctx: CraftContext): Promise<Crafted> {
    const o = resolveApgd(this.opts, net.outputSize);
    epsilons.forEach((e, i) => expectEpsilon(e, o.norm, net.inputSize, `epsilons[${i}]`));
    const raw: Float32Array[] = [];
    this.lastStats = [];
    for (const eps of epsilons) {
      const r = await runApgd(net, x, n, y, eps, o, ctx);
      raw.push(r.adversarial);
      this.lastStats.push(r.stats);
    }
    return { raw };
  }
}
