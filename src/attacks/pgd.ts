/**
 * Gradient attacks with a fixed budget: PGD / BIM (L∞ and L2, random start, restarts)
 * and FGSM = PGD with one step, no random start and step = eps (one implementation,
 * native/core/pgd.h). Loss: cross-entropy on the pre-activation (default) or the paper's
 * squared error on the output ('mse'), or the C&W margin.
 */
import { addon } from '../native/binding.js';
import { runNative } from '../util/control.js';
import { expectBoolean, expectInt, expectKnownKeys, expectNumber, expectOneOf } from '../util/validate.js';
import { Attack, type AttackNorm, type AttackTarget, type CraftContext, type Crafted } from './base.js';
import { ATTACK_LOSSES, type AttackLoss } from './gradients.js';

export interface PgdOptions {
  norm?: 'linf' | 'l2';
  loss?: AttackLoss;
  steps?: number;
  /** Absolute step size α. Default: relStep · eps. */
  step?: number;
  /** α = relStep · eps when step is not given (Foolbox: 0.01/0.3 for L∞; nrem default 0.025 = 2.5·eps/steps for 40 steps... as Madry: 0.01 at eps 0.3 → 1/30). */
  relStep?: number;
  randomStart?: boolean;
  restarts?: number;
  /** Freeze rows once adversarial (after at least one step). Default true. */
  earlyStop?: boolean;
  /** Labels are targets: descend the loss towards them. */
  targeted?: boolean;
  batch?: number;
}

export const PGD_OPTION_KEYS = ['norm', 'loss', 'steps', 'step', 'relStep', 'randomStart', 'restarts', 'earlyStop', 'targeted', 'batch'] as const;
/** FGSM's and FGM's options: the rest of PGD's are fixed by what the attack is. */
export const FGSM_OPTION_KEYS = ['loss', 'batch'] as const;

export class PGD extends Attack {
  readonly name: string;
  readonly norm: AttackNorm;
  readonly fixedEpsilon = true;
  readonly options: Required<Omit<PgdOptions, 'step'>> & { step?: number };

  constructor(opts: PgdOptions = {}, name?: string) {
    super();
    expectKnownKeys(opts, PGD_OPTION_KEYS, 'PGD options');
    const norm = expectOneOf(opts.norm ?? 'linf', 'norm', ['linf', 'l2'] as const);
    this.norm = norm;
    this.options = {
      norm,
      loss: expectOneOf(opts.loss ?? 'ce', 'loss', ATTACK_LOSSES),
      steps: expectInt(opts.steps ?? 40, 'steps', 1, 1e6),
      step: opts.step === undefined ? undefined : expectNumber(opts.step, 'step', 0),
      relStep: expectNumber(opts.relStep ?? 1 / 30, 'relStep', 0),
      randomStart: expectBoolean(opts.randomStart ?? true, 'randomStart'),
      restarts: expectInt(opts.restarts ?? 1, 'restarts', 1, 1000),
      earlyStop: expectBoolean(opts.earlyStop ?? true, 'earlyStop'),
      targeted: expectBoolean(opts.targeted ?? false, 'targeted'),
      batch: expectInt(opts.batch ?? 500, 'batch', 1, 1 << 20),
    };
    this.name = name ?? `pgd-${norm}`;
  }

  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, epsilons: number[], ctx: CraftContext): Promise<Crafted> {
    const d = net.inputSize;
    const out = new Float32Array(epsilons.length * n * d);
    const o = this.options;
    const opts: Record<string, number | boolean | string | number[]> = {
      l2: o.norm === 'l2',
      epsilons,
      relStep: o.relStep,
      steps: o.steps,
      randomStart: o.randomStart,
      restarts: o.restarts,
      earlyStop: o.earlyStop,
      targeted: o.targeted,
      loss: o.loss,
      seed: ctx.seed,
      batch: o.batch,
    };
    if (o.step !== undefined) opts.step = o.step;
    await runNative(ctx, (c) => addon().attackRun('pgd', net.native(), x, n, y, opts, out, null, c));
    return { raw: epsilons.map((_, e) => out.subarray(e * n * d, (e + 1) * n * d)) };
  }
}

/** FGSM: x' = clip01(x + eps·sign(∇ℓ)), one gradient per example for every eps. */
export class FGSM extends PGD {
  constructor(opts: { loss?: AttackLoss; batch?: number } = {}) {
    expectKnownKeys(opts, FGSM_OPTION_KEYS, 'FGSM options');
    super({ norm: 'linf', loss: opts.loss, steps: 1, relStep: 1, randomStart: false, restarts: 1, earlyStop: false, batch: opts.batch }, 'fgsm');
  }
}

/** L2 FGM: x' = clip01(x + eps·g/‖g‖). */
export class FGM extends PGD {
  constructor(opts: { loss?: AttackLoss; batch?: number } = {}) {
    expectKnownKeys(opts, FGSM_OPTION_KEYS, 'FGM options');
    super({ norm: 'l2', loss: opts.loss, steps: 1, relStep: 1, randomStart: false, restarts: 1, earlyStop: false, batch: opts.batch }, 'fgm');
  }
}

/** Basic iterative method: PGD without random start. */
export class BIM extends PGD {
  constructor(opts: Omit<PgdOptions, 'randomStart'> = {}) {
    expectKnownKeys(opts, PGD_OPTION_KEYS.filter((k) => k !== 'randomStart'), 'BIM options');
    super({ ...opts, randomStart: false }, `bim-${opts.norm ?? 'linf'}`);
  }
}
