/**
 * Minimal-perturbation attacks: DeepFool (L2), Carlini–Wagner L2, JSMA (L0, targeted).
 * Each returns one adversarial example per row; with epsilons the bookkeeping of base.ts
 * restricts it to each budget and re-evaluates.
 */
import { addon } from '../native/binding.js';
import { runNative } from '../util/control.js';
import { expectBoolean, expectInt, expectKnownKeys, expectNumber } from '../util/validate.js';
import { ValueError } from '../errors.js';
import { Attack, toLabels, type AttackTarget, type CraftContext, type Crafted } from './base.js';

export interface DeepFoolOptions {
  /** Overshoot (1 + overshoot)·r_tot; default 0.02. */
  overshoot?: number;
  maxIterations?: number;
  /** Only the most likely classes at x as candidates (0 = all). */
  candidates?: number;
  batch?: number;
}

export const DEEPFOOL_OPTION_KEYS = ['overshoot', 'maxIterations', 'candidates', 'batch'] as const;

export class DeepFool extends Attack {
  readonly name = 'deepfool';
  readonly norm = 'l2' as const;
  readonly fixedEpsilon = false;
  readonly options: Required<DeepFoolOptions>;
  /** Iterations used per row in the last run. */
  lastIterations?: Int32Array;
  constructor(o: DeepFoolOptions = {}) {
    super();
    expectKnownKeys(o, DEEPFOOL_OPTION_KEYS, 'DeepFool options');
    this.options = {
      overshoot: expectNumber(o.overshoot ?? 0.02, 'overshoot', 0),
      maxIterations: expectInt(o.maxIterations ?? 100, 'maxIterations', 1, 1e6),
      candidates: expectInt(o.candidates ?? 0, 'candidates', 0, 1e6),
      batch: expectInt(o.batch ?? 256, 'batch', 1, 1 << 20),
    };
  }
  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, _e: number[], ctx: CraftContext): Promise<Crafted> {
    const out = new Float32Array(x.length);
    const it = new Int32Array(n);
    await runNative(ctx, (c) => addon().attackRun('deepfool', net.native(), x, n, y, { ...this.options }, out, it, c));
    this.lastIterations = it;
    return { raw: [out] };
  }
}

export interface CarliniWagnerOptions {
  /** Binary-search steps over c (the release: 20). Default 5. */
  searchSteps?: number;
  /** Adam iterations per search step (the release: 1000). Default 1000. */
  maxIterations?: number;
  lr?: number;
  initialConst?: number;
  confidence?: number;
  batch?: number;
}

export const CW_OPTION_KEYS = ['searchSteps', 'maxIterations', 'lr', 'initialConst', 'confidence', 'batch'] as const;

export class CarliniWagnerL2 extends Attack {
  readonly name = 'cw';
  readonly norm = 'l2' as const;
  readonly fixedEpsilon = false;
  readonly options: Required<CarliniWagnerOptions>;
  constructor(o: CarliniWagnerOptions = {}) {
    super();
    expectKnownKeys(o, CW_OPTION_KEYS, 'CarliniWagnerL2 options');
    this.options = {
      searchSteps: expectInt(o.searchSteps ?? 5, 'searchSteps', 1, 1000),
      maxIterations: expectInt(o.maxIterations ?? 1000, "maxIterations", 1, 1e7),
      lr: expectNumber(o.lr ?? 5e-3, 'lr', Number.MIN_VALUE),
      initialConst: expectNumber(o.initialConst ?? 0.01, 'initialConst', Number.MIN_VALUE),
      confidence: expectNumber(o.confidence ?? 0, 'confidence', 0),
      batch: expectInt(o.batch ?? 256, 'batch', 1, 1 << 20),
    };
  }
  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, _e: number[], ctx: CraftContext): Promise<Crafted> {
    const out = new Float32Array(x.length);
    await runNative(ctx, (c) => addon().attackRun('cw', net.native(), x, n, y, { ...this.options }, out, null, c));
    return { raw: [out] };
  }
}

export interface JsmaOptions {
  theta?: number;
  /** Changes allowed per pixel (the release: 7). */
  maxChanges?: number;
  maxIterations?: number;
  /** Pixel pairs (Papernot) or single pixels (the release's variant). Default true. */
  pairs?: boolean;
  /** Target per row; default the second most likely class at x. */
  targets?: ArrayLike<number>;
  batch?: number;
}

export const JSMA_OPTION_KEYS = ['theta', 'maxChanges', 'maxIterations', 'pairs', 'targets', 'batch'] as const;

export class JSMA extends Attack {
  readonly name: string;
  readonly norm = 'l0' as const;
  readonly fixedEpsilon = false;
  readonly options: Required<Omit<JsmaOptions, 'targets'>>;
  readonly targets?: ArrayLike<number>;
  constructor(o: JsmaOptions = {}) {
    super();
    expectKnownKeys(o, JSMA_OPTION_KEYS, 'JSMA options');
    this.options = {
      theta: expectNumber(o.theta ?? 0.1, 'theta', Number.MIN_VALUE),
      maxChanges: expectInt(o.maxChanges ?? 7, 'maxChanges', 1, 255),
      maxIterations: expectInt(o.maxIterations ?? 500, 'maxIterations', 1, 1e6),
      pairs: expectBoolean(o.pairs ?? true, 'pairs'),
      batch: expectInt(o.batch ?? 128, 'batch', 1, 1 << 20),
    };
    this.targets = o.targets;
    this.name = this.options.pairs ? 'jsma' : 'jsma-single';
  }
  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, _e: number[], ctx: CraftContext): Promise<Crafted> {
    const t = this.targets ? toLabels(this.targets, n, net.outputSize, 'targets') : new Int32Array(n).fill(-1);
    if (this.targets) for (let i = 0; i < n; i++) if (t[i] === y[i]) throw new ValueError(`Expected targets[${i}] to differ from the label ${y[i]}`);
    const out = new Float32Array(x.length);
    await runNative(ctx, (c) => addon().attackRun('jsma', net.native(), x, n, t, { ...this.options }, out, null, c));
    return { raw: [out], targets: t };
  }
}
