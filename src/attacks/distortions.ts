/**
 * Image distortions (experiments.md §3; native/core/distort.h): Gaussian noise (level =
 * VARIANCE, x + √v·N(0,1), clipped), Gaussian blur (σ; kernel 2⌈2σ⌉+1, replicate padding,
 * as the authors' image functions), salt-and-pepper (fraction of pixels), contrast
 * reduction (x' = 0.5 + (1 − c)(x − 0.5)); seeded by the counter-based RNG.
 */
import { addon } from '../native/binding.js';
import { runNative, type RunOptions } from '../util/control.js';
import { RUN_OPTION_KEYS, expectFiniteAsync, expectFloat32Array, expectInt, expectKnownKeys, expectNumber, expectOneOf, expectSeed } from '../util/validate.js';
import { ShapeError } from '../errors.js';
import { predictRows, toLabels, type AttackTarget } from './base.js';

export const DISTORTIONS = ['noise', 'blur', 'saltpepper', 'contrast'] as const;
/** Largest blur σ (native/core/distort.h kMaxBlurSigma); beyond a few image widths the blur is a flat mean anyway. */
export const MAX_BLUR_SIGMA = 1e6;
export type DistortionKind = (typeof DISTORTIONS)[number];

export interface DistortOptions extends RunOptions {
  /** Image shape [h, w]; needed by blur. Default: square if d is a perfect square. */
  shape?: [number, number];
  seed?: number;
  /** Global index of the first row (part of the random key). */
  row0?: number;
}

export const DISTORT_OPTION_KEYS = ['shape', 'seed', 'row0', ...RUN_OPTION_KEYS] as const;

/** A distorted copy of x (n × d). */
export async function distort(x: Float32Array, d: number, kind: DistortionKind, level: number, opts: DistortOptions = {}): Promise<Float32Array> {
  expectKnownKeys(opts, DISTORT_OPTION_KEYS, 'distort options');
  expectFloat32Array(x, 'x');
  expectInt(d, 'd', 1);
  if (x.length % d !== 0) throw new ShapeError(`Expected x to hold a multiple of ${d} values but it holds ${x.length}`);
  expectOneOf(kind, 'kind', DISTORTIONS);
  expectNumber(level, 'level', 0, kind === 'saltpepper' || kind === 'contrast' ? 1 : kind === 'blur' ? MAX_BLUR_SIGMA : Infinity);
  await expectFiniteAsync(x, 'x', d);
  const seed = expectSeed(opts.seed ?? 0);
  const row0 = expectInt(opts.row0 ?? 0, 'row0', 0);
  let [h, w] = opts.shape ?? [0, 0];
  if (!opts.shape) {
    const s = Math.round(Math.sqrt(d));
    [h, w] = s * s === d ? [s, s] : [1, d];
  }
  const out = new Float32Array(x.length);
  const n = x.length / d;
  await runNative(opts, (c) => addon().distort(kind, level, x, n, d, h, w, seed, row0, out, c));
  return out;
}

export interface DistortionCurve {
  kind: DistortionKind;
  levels: number[];
  accuracy: number[];
}

/** Accuracy vs level for each requested distortion. */
export async function evaluateDistortions(
  net: AttackTarget,
  x: Float32Array,
  labels: ArrayLike<number>,
  levels: Partial<Record<DistortionKind, number[]>>,
  opts: DistortOptions = {},
): Promise<DistortionCurve[]> {
  expectKnownKeys(levels, DISTORTIONS, 'evaluateDistortions levels');
  expectKnownKeys(opts, DISTORT_OPTION_KEYS, 'evaluateDistortions options');
  const d = net.inputSize;
  const n = x.length / d;
  const y = toLabels(labels, n, net.outputSize);
  const curves: DistortionCurve[] = [];
  for (const kind of DISTORTIONS) {
    const ls = levels[kind];
    if (!ls) continue;
    const acc: number[] = [];
    for (const level of ls) {
      const xd = await distort(x, d, kind, level, opts);
      const p = await predictRows(net, xd, n, opts);
      let ok = 0;
      for (let i = 0; i < n; i++) if (p[i] === y[i]) ok++;
      acc.push(n ? ok / n : 0);
    }
    curves.push({ kind, levels: [...ls], accuracy: acc });
  }
  return curves;
}
