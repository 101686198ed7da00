/**
 * The search space of `nrem tune`: a map from the unit cube [0, 1]^dim to sleep parameters.
 *
 * One coordinate per searched quantity, in this order:
 *   maxRate, inc, dec, beta_1 … beta_L, alphaScale, steps   (always)
 *   input          (only when more than one input kind is searched)
 *   normalization  (only when more than one normalisation is searched)
 *   bias           (only when both bias modes are searched; sleep-general.md §2)
 *   convStdp       (only when both shared-kernel rules are searched; §3)
 *   layers         (only when more than one plastic-layer choice is searched: all, dense, conv)
 * beta_l is one per layer of IF neurons (dense, conv and average-pool layers: a CNN's
 * max-pool layers have none), so a LeNet has 4 and the paper's MLP 3.
 * A numeric coordinate u maps to  min + u·(max − min)  (linear), or to
 * exp(ln min + u·(ln max − ln min))  (log, the default: every range here spans decades);
 * steps is rounded to an integer. A categorical coordinate picks option ⌊u·k⌋ (u = 1: the last).
 * Every other field (dt, threshold, decay, gate …) comes from `base` (default: mnist-fgsm).
 *
 * Note: alphaScale and the betas are redundant. Layer l integrates alphaScale·factor_l·W s
 * and fires at beta_l·threshold, so (alphaScale·c, beta·c) sleeps exactly like
 * (alphaScale, beta). alphaScale is searched because the authors' search had it; pin it
 * with bounds {alphaScale: {min: a, max: a}} (CLI: --bounds alphaScale=1:1) to drop the
 * redundant direction.
 */
import { ValueError } from '../errors.js';
import { describe } from '../util/validate.js';
import {
  BIAS_MODES,
  CONV_STDP,
  NORMALIZATIONS,
  SLEEP_INPUTS,
  type BiasMode,
  type ConvStdp,
  resolveParameters,
  type Normalization,
  type PresetName,
  type SleepInput,
  type SleepParameters,
} from '../sleep/presets.js';

export interface Bound {
  min: number;
  max: number;
  /** Log scale (default true). */
  log?: boolean;
}

export interface SearchBounds {
  maxRate: Bound;
  inc: Bound;
  dec: Bound;
  /** One bound for every layer's beta, or one per layer. */
  beta: Bound | Bound[];
  alphaScale: Bound;
  steps: Bound;
}

export const DEFAULT_BOUNDS: Readonly<SearchBounds> = {
  maxRate: { min: 5, max: 1000 },
  inc: { min: 1e-4, max: 0.3 },
  dec: { min: 1e-4, max: 0.3 },
  beta: { min: 0.5, max: 100 },
  alphaScale: { min: 0.1, max: 100 },
  steps: { min: 500, max: 30000 },
};

export interface SpaceOptions {
  bounds?: Partial<SearchBounds>;
  /** Input kinds to search over (default: only the base's). */
  inputs?: SleepInput[];
  /** Normalisations to search over (default: only the base's). */
  normalizations?: Normalization[];
  /** Bias modes to search over (default: only the base's). */
  biases?: BiasMode[];
  /** Shared-kernel STDP rules to search over (default: only the base's). */
  convStdps?: ConvStdp[];
  /** Plastic-layer choices to search over (default: only the base's). */
  plasticLayers?: PlasticChoice[];
  /** The fields that are not searched (default the mnist-fgsm preset's). */
  base?: PresetName | Partial<SleepParameters>;
}

export const PLASTIC_CHOICES = ['all', 'dense', 'conv'] as const;
export type PlasticChoice = (typeof PLASTIC_CHOICES)[number];

/** The categorical coordinates, in order: the parameter each sets and its options. */
type Categorical = { key: 'input' | 'normalization' | 'bias' | 'convStdp' | 'layers'; options: string[] };

export interface SpaceDescription {
  layers: number;
  names: string[];
  bounds: (Bound | { options: string[] })[];
  fixed: Omit<SleepParameters, 'maxRate' | 'inc' | 'dec' | 'beta' | 'alphaScale' | 'steps'>;
}

function checkBound(b: unknown, name: string): Required<Bound> {
  const o = b as Bound;
  if (!o || typeof o !== 'object' || typeof o.min !== 'number' || typeof o.max !== 'number')
    throw new ValueError(`Expected {min, max} for bounds.${name} but received ${describe(b)}`);
  const log = o.log ?? true;
  if (!Number.isFinite(o.min) || !Number.isFinite(o.max) || o.max < o.min || (log && o.min <= 0) || o.min < 0)
    throw new ValueError(`Expected 0 ${log ? '<' : '<='} min <= max for bounds.${name} but received ${o.min}..${o.max}`);
  return { min: o.min, max: o.max, log };
}

export class SearchSpace {
  readonly layers: number;
  readonly names: string[];
  private readonly numeric: Required<Bound>[];
  private readonly cats: Categorical[];
  private readonly base: SleepParameters;

  constructor(layers: number, opts: SpaceOptions = {}) {
    this.layers = layers;
    const b = { ...DEFAULT_BOUNDS, ...(opts.bounds ?? {}) };
    const betas = Array.isArray(b.beta) ? b.beta : Array.from({ length: layers }, () => b.beta as Bound);
    if (betas.length !== layers)
      throw new ValueError(`Expected ${layers} beta bounds (one per layer of IF neurons: dense, conv, average-pool) but received ${betas.length}`);
    this.numeric = [
      checkBound(b.maxRate, 'maxRate'),
      checkBound(b.inc, 'inc'),
      checkBound(b.dec, 'dec'),
      ...betas.map((x, i) => checkBound(x, `beta[${i}]`)),
      checkBound(b.alphaScale, 'alphaScale'),
      checkBound(b.steps, 'steps'),
    ];
    if (this.numeric[this.numeric.length - 1].min < 1) throw new ValueError('Expected bounds.steps.min >= 1');
    // The base must be a valid parameter set for this depth; its beta is replaced anyway.
    this.base = resolveParameters(opts.base, { beta: new Array(layers).fill(1) }, layers);
    const choice = (key: Categorical['key'], given: readonly string[] | undefined, all: readonly string[], what: string, optName: string): void => {
      const fromBase = (this.base as unknown as Record<string, unknown>)[key];
      const options = [...new Set(given ?? [typeof fromBase === 'string' ? fromBase : 'all'])];
      if (options.length === 0) throw new ValueError(`Expected at least one ${what} in ${optName}`);
      options.forEach((v, i) => {
        if (!all.includes(v)) throw new ValueError(`Expected one of ${all.join(', ')} for ${optName}[${i}] but received ${describe(v)}`);
      });
      cats.push({ key, options });
    };
    const cats: Categorical[] = [];
    choice('input', opts.inputs, SLEEP_INPUTS, 'input kind', 'inputs');
    choice('normalization', opts.normalizations, NORMALIZATIONS, 'normalisation', 'normalizations');
    choice('bias', opts.biases, BIAS_MODES, 'bias mode', 'biases');
    choice('convStdp', opts.convStdps, CONV_STDP, 'shared-kernel rule', 'convStdps');
    if (opts.plasticLayers !== undefined || typeof this.base.layers === 'string') choice('layers', opts.plasticLayers, PLASTIC_CHOICES, 'plastic-layer choice', 'plasticLayers');
    this.cats = cats;
    this.names = ['maxRate', 'inc', 'dec', ...betas.map((_, i) => `beta${i + 1}`), 'alphaScale', 'steps', ...cats.filter((c) => c.options.length > 1).map((c) => c.key)];
  }

  get dim(): number {
    return this.names.length;
  }

  private static map(u: number, b: Required<Bound>): number {
    const t = Math.min(1, Math.max(0, u));
    return b.log ? Math.exp(Math.log(b.min) + t * (Math.log(b.max) - Math.log(b.min))) : b.min + t * (b.max - b.min);
  }

  private static unmap(v: number, b: Required<Bound>): number {
    if (b.max === b.min) return 0.5;
    const t = b.log ? (Math.log(v) - Math.log(b.min)) / (Math.log(b.max) - Math.log(b.min)) : (v - b.min) / (b.max - b.min);
    return Math.min(1, Math.max(0, t));
  }

  private static pick<T>(u: number, options: T[]): T {
    return options[Math.min(options.length - 1, Math.floor(Math.max(0, u) * options.length))];
  }

  /** The sleep parameters of a point of the cube. */
  decode(u: number[]): SleepParameters {
    if (!Array.isArray(u) || u.length !== this.dim) throw new ValueError(`Expected ${this.dim} coordinates but received ${describe(u)}`);
    const L = this.layers;
    const v = this.numeric.map((b, i) => SearchSpace.map(u[i], b));
    let k = this.numeric.length;
    const picked: Record<string, string> = {};
    for (const c of this.cats) picked[c.key] = c.options.length > 1 ? SearchSpace.pick(u[k++], c.options) : c.options[0];
    return {
      ...this.base,
      ...(picked as Partial<SleepParameters>),
      maxRate: v[0],
      inc: v[1],
      dec: v[2],
      beta: v.slice(3, 3 + L),
      alphaScale: v[3 + L],
      steps: Math.max(1, Math.round(v[4 + L])),
    };
  }

  /** The point of the cube nearest to p (values outside the bounds are clipped). */
  encode(p: Pick<SleepParameters, 'maxRate' | 'inc' | 'dec' | 'beta' | 'alphaScale' | 'steps'> & Partial<SleepParameters>): number[] {
    const L = this.layers;
    if (!Array.isArray(p.beta) || p.beta.length !== L) throw new ValueError(`Expected ${L} values for beta`);
    const vals = [p.maxRate, p.inc, p.dec, ...p.beta, p.alphaScale, p.steps];
    const u = vals.map((v, i) => SearchSpace.unmap(v, this.numeric[i]));
    for (const c of this.cats) {
      if (c.options.length < 2) continue;
      const v = (p as Record<string, unknown>)[c.key];
      const i = Math.max(0, typeof v === 'string' ? c.options.indexOf(v) : 0);
      u.push((i + 0.5) / c.options.length);
    }
    return u;
  }

  describe(): SpaceDescription {
    const { maxRate, inc, dec, beta, alphaScale, steps, ...fixed } = this.base;
    void maxRate, inc, dec, beta, alphaScale, steps;
    const bounds: SpaceDescription['bounds'] = this.numeric.map((b) => ({ ...b }));
    for (const c of this.cats) if (c.options.length > 1) bounds.push({ options: [...c.options] });
    return { layers: this.layers, names: [...this.names], bounds, fixed };
  }
}

/**
 * Parses bounds given on the command line: "maxRate=5:1000,steps=500:30000:log,beta2=1:50:lin".
 * Keys: maxRate, inc, dec, beta (every layer), betaN (layer N, 1-based), alphaScale, steps.
 */
export function parseBounds(spec: string, layers: number): Partial<SearchBounds> {
  const out: Partial<SearchBounds> = {};
  const betas: (Bound | undefined)[] = new Array(layers).fill(undefined);
  let betaAll: Bound | undefined;
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)(\d*)=([^:]+):([^:]+)(?::(log|lin))?$/.exec(part);
    if (!m) throw new ValueError(`Expected key=min:max[:log|lin] in bounds but received ${JSON.stringify(part)}`);
    const [, key, layer, lo, hi, scale] = m;
    const b: Bound = { min: Number(lo), max: Number(hi), log: scale !== 'lin' };
    checkBound(b, part);
    if (key === 'beta') {
      if (layer === '') betaAll = b;
      else {
        const l = Number(layer);
        if (!(l >= 1 && l <= layers)) throw new ValueError(`Expected beta1 … beta${layers} in bounds but received beta${layer}`);
        betas[l - 1] = b;
      }
    } else if (layer === '' && ['maxRate', 'inc', 'dec', 'alphaScale', 'steps'].includes(key)) {
      (out as Record<string, Bound>)[key] = b;
    } else throw new ValueError(`Expected one of maxRate, inc, dec, beta, betaN, alphaScale, steps in bounds but received ${JSON.stringify(key + layer)}`);
  }
  if (betaAll || betas.some((b) => b)) {
    const fallback = betaAll ?? (DEFAULT_BOUNDS.beta as Bound);
    out.beta = betas.map((b) => b ?? fallback);
  }
  return out;
}
