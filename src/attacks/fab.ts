/**
 * FAB, the fast adaptive boundary attack (Croce & Hein 2020; native/core/fab.h), L∞ and L2,
 * targeted (FAB-T: the most likely other classes in turn) or untargeted. FAB searches for the
 * smallest perturbation; as in AutoAttack, a row counts as adversarial when the smallest one
 * found is within eps (the clean row is returned otherwise).
 */
import { addon } from '../native/binding.js';
import { runNative } from '../util/control.js';
import { expectBoolean, expectInt, expectKnownKeys, expectNumber, expectOneOf } from '../util/validate.js';
import { Attack, type AttackNorm, type AttackTarget, type CraftContext, type Crafted } from './base.js';
import { expectEpsilon, expectTargetClasses, type ApgdCall, type LpNorm } from './apgd.js';

export interface FabOptions {
  norm?: LpNorm;
  /** Targeted (FAB-T, default) or against the nearest linearised boundary. */
  targeted?: boolean;
  /** Iterations per run (default 100). */
  iterations?: number;
  /** Runs, the later ones from random starts (default 1). */
  restarts?: number;
  /** FAB-T: how many of the most likely other classes to target in turn (default 9). */
  targetClasses?: number;
  /** Bias towards the clean point (default 0.1), overshoot (1.05), backward step (0.9). */
  alphaMax?: number;
  eta?: number;
  beta?: number;
  /** End a row's run once it is adversarial within eps (default true; the verdicts are the same). */
  stopAtEps?: boolean;
  batch?: number;
  /** Runs (targets × restarts) side by side, their passes batched: 0 = as many as fit (default), k = at most k.
   * Same examples as one after another with the own GEMM; OpenBLAS may round the last bits differently. */
  runsPerPass?: number;
}

export interface FabRun {
  adversarial: Float32Array;
  fooled: Uint8Array;
}

export const FAB_OPTION_KEYS = ['norm', 'targeted', 'iterations', 'restarts', 'targetClasses', 'alphaMax', 'eta', 'beta', 'stopAtEps', 'batch', 'runsPerPass'] as const;

export function resolveFab(opts: FabOptions, classes: number): Required<FabOptions> {
  const targeted = expectBoolean(opts.targeted ?? true, 'targeted');
  return {
    norm: expectOneOf(opts.norm ?? 'linf', 'norm', ['linf', 'l2'] as const),
    targeted,
    iterations: expectInt(opts.iterations ?? 100, 'iterations', 1, 1e6),
    restarts: expectInt(opts.restarts ?? 1, 'restarts', 1, 1000),
    targetClasses: targeted ? expectTargetClasses(opts.targetClasses ?? Math.min(9, classes - 1), classes) : 1,
    alphaMax: expectNumber(opts.alphaMax ?? 0.1, 'alphaMax', 0, 1),
    eta: expectNumber(opts.eta ?? 1.05, 'eta', 1),
    beta: expectNumber(opts.beta ?? 0.9, 'beta', 0, 1),
    stopAtEps: expectBoolean(opts.stopAtEps ?? true, 'stopAtEps'),
    batch: expectInt(opts.batch ?? 1000, 'batch', 1, 1 << 20),
    runsPerPass: expectInt(opts.runsPerPass ?? 0, 'runsPerPass', 0, 1 << 20),
  };
}

/** One native FAB run: eps one budget or one per row. Options must be checked (resolveFab). */
export async function runFab(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, eps: number | number[], o: Required<FabOptions>, call: ApgdCall): Promise<FabRun> {
  const adversarial = new Float32Array(n * net.inputSize);
  const flags = new Int32Array(n);
  const opts: Record<string, number | boolean | string | number[]> = {
    eps,
    l2: o.norm === 'l2',
    targeted: o.targeted,
    iterations: o.iterations,
    restarts: o.restarts,
    targetClasses: o.targetClasses,
    alphaMax: o.alphaMax,
    eta: o.eta,
    beta: o.beta,
    stopAtEps: o.stopAtEps,
    seed: call.seed,
    batch: o.batch,
    runsPerPass: o.runsPerPass,
  };
  if (call.keys) opts.keys = call.keys;
  await runNative(call, (c) => addon().attackRun('fab', net.native(), x, n, y, opts, adversarial, flags, c));
  return { adversarial, fooled: Uint8Array.from(flags, (f) => f & 1) };
}

export class FAB extends Attack {
  readonly name: string;
  readonly norm: AttackNorm;
  readonly fixedEpsilon = true;
  private readonly opts: FabOptions;

  constructor(opts: FabOptions = {}) {
    super();
    expectKnownKeys(opts, FAB_OPTION_KEYS, 'FAB options');
    this.opts = { ...opts };
    resolveFab(opts, Number.MAX_SAFE_INTEGER); // argument types and ranges now; the class count is checked at run time
    this.norm = opts.norm ?? 'linf';
    this.name = `${opts.targeted ?? true ? 'fab-t' : 'fab'}${this.norm === 'l2' ? '-l2' : ''}`;
  }

  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, epsilons: number[], ctx: CraftContext): Promise<Crafted> {
    const o = resolveFab(this.opts, net.outputSize);
    epsilons.forEach((e, i) => expectEpsilon(e, o.norm, net.inputSize, `epsilons[${i}]`));
    const raw: Float32Array[] = [];
    for (const eps of epsilons) raw.push((await runFab(net, x, n, y, eps, o, ctx)).adversarial);
    return { raw };
  }
}
