/**
 * Square attack (L∞ or L2, score-based; native/core/square.h) and the transfer attack.
 */
import { addon } from '../native/binding.js';
import { runNative } from '../util/control.js';
import { ShapeError } from '../errors.js';
import { expectBoolean, expectInt, expectKnownKeys, expectNumber, expectOneOf } from '../util/validate.js';
import { Attack, predictRows, toLabels, type AttackCallOptions, type AttackResult, type AttackTarget, type CraftContext, type Crafted } from './base.js';

export interface SquareOptions {
  norm?: 'linf' | 'l2';
  /** Iterations after the initial query (at most maxQueries + 1 queries; native/core/square.h). */
  maxQueries?: number;
  pInit?: number;
  /** Spread the p schedule over maxQueries (default true); AutoAttack runs it unscaled (false). */
  rescaleSchedule?: boolean;
  /** Image shape [h, w] (channels: d / (h·w)) or [c, h, w]. Default: see imageShape. */
  shape?: ImageShape;
  batch?: number;
  /**
   * L∞ on a network whose first layer is dense: a proposal's first-layer pre-activation from
   * the current example's plus the window's pixels (default true; native/core/square.h). Its
   * verdicts always come from the whole forward pass; false runs every query whole.
   */
  incremental?: boolean;
}

export type ImageShape = [number, number] | [number, number, number];

/**
 * [c, h, w] of the image Square draws its windows on (C × H × W, the model's layout): the
 * shape given ([h, w]: channels d / (h·w)); else the network's C×H×W input when it is an
 * image (h·w > 1); else one channel, square when d is a perfect square, else 1 × d.
 */
export function imageShape(d: number, shape?: ImageShape, input?: readonly number[]): [number, number, number] {
  if (shape !== undefined) {
    if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3) || !shape.every((v) => Number.isInteger(v) && v >= 1))
      throw new ShapeError(`Expected shape to be [h, w] or [c, h, w] of positive integers but received ${JSON.stringify(shape)}`);
    const [h, w] = shape.slice(-2);
    const c = shape.length === 3 ? shape[0] : d / (h * w);
    if (!Number.isInteger(c) || c * h * w !== d) throw new ShapeError(`Expected shape ${shape.join('×')} to hold the ${d} inputs of the network (c·h·w = d)`);
    return [c, h, w];
  }
  if (input && input.length === 3 && input[1] * input[2] > 1 && input[0] * input[1] * input[2] === d) return [input[0], input[1], input[2]];
  const s = Math.round(Math.sqrt(d));
  return s * s === d ? [1, s, s] : [1, 1, d];
}

export const SQUARE_OPTION_KEYS = ['norm', 'maxQueries', 'pInit', 'rescaleSchedule', 'shape', 'batch', 'incremental'] as const;

export class SquareAttack extends Attack {
  readonly name: string;
  readonly norm: 'linf' | 'l2';
  readonly fixedEpsilon = true;
  readonly options: Required<Omit<SquareOptions, 'shape' | 'norm'>> & { shape?: ImageShape };
  lastQueries?: Int32Array;
  constructor(o: SquareOptions = {}) {
    super();
    expectKnownKeys(o, SQUARE_OPTION_KEYS, 'SquareAttack options');
    this.norm = expectOneOf(o.norm ?? 'linf', 'norm', ['linf', 'l2'] as const);
    this.name = this.norm === 'l2' ? 'square-l2' : 'square';
    this.options = {
      maxQueries: expectInt(o.maxQueries ?? 1000, 'maxQueries', 1, 1e7),
      pInit: expectNumber(o.pInit ?? 0.8, 'pInit', Number.MIN_VALUE, 1),
      rescaleSchedule: expectBoolean(o.rescaleSchedule ?? true, 'rescaleSchedule'),
      shape: o.shape,
      batch: expectInt(o.batch ?? 1000, 'batch', 1, 1 << 20),
      incremental: expectBoolean(o.incremental ?? true, 'incremental'),
    };
  }
  protected async craft(net: AttackTarget, x: Float32Array, n: number, y: Int32Array, epsilons: number[], ctx: CraftContext): Promise<Crafted> {
    const d = net.inputSize;
    const [c, h, w] = imageShape(d, this.options.shape, net.inputShape);
    const out = new Float32Array(epsilons.length * n * d);
    const q = new Int32Array(epsilons.length * n);
    const o = { epsilons, l2: this.norm === 'l2', maxQueries: this.options.maxQueries, pInit: this.options.pInit, rescaleSchedule: this.options.rescaleSchedule, h, w, c, seed: ctx.seed, batch: this.options.batch, incremental: this.options.incremental };
    await runNative(ctx, (c) => addon().attackRun('square', net.native(), x, n, y, o, out, q, c));
    this.lastQueries = q;
    return { raw: epsilons.map((_, e) => out.subarray(e * n * d, (e + 1) * n * d)) };
  }
}

/**
 * Transfer attack: examples crafted on `source` with `attack`, evaluated on `target`.
 * The returned result is the source's, with predictions and success re-evaluated on the target.
 */
export async function transferAttack(
  source: AttackTarget,
  target: AttackTarget,
  x: Float32Array,
  labels: ArrayLike<number>,
  attack: Attack,
  opts?: AttackCallOptions,
): Promise<AttackResult & { sourceSuccess: Uint8Array[] }> {
  const r = await attack.run(source, x, labels, opts);
  const n = x.length / source.inputSize;
  const y = toLabels(labels, n, target.outputSize);
  const predictions: Int32Array[] = [];
  for (const c of r.clipped) predictions.push(await predictRows(target, c, n, opts));
  const success = predictions.map((p) => {
    const s = new Uint8Array(n);
    for (let i = 0; i < n; i++) s[i] = r.targets ? +(p[i] === r.targets[i]) : +(p[i] !== y[i]);
    return s;
  });
  const clean = await predictRows(target, x, n, opts);
  return { ...r, attack: `transfer(${r.attack})`, predictions, success, clean, sourceSuccess: r.success };
}
