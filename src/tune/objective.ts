/**
 * The objective of `nrem tune`: how good a slept network is, measured on VALIDATION data
 * held out from the training set (the test set is never looked at during a search).
 *
 *   score = Σ_t w_t · acc_t / Σ_t w_t  −  penalty · max(0, clean_control − clean − tolerance)
 *
 * acc_t is the accuracy of the slept network on the validation rows under term t:
 *   noise:v   Gaussian noise of variance v (clipped to [0,1])     }  distorted copies drawn ONCE
 *   blur:σ    Gaussian blur σ (kernel 2⌈2σ⌉+1, replicate padding)   }  per search (fixed seed), the
 *   saltpepper:p, contrast:c                                       }  same for every candidate
 *   fgsm:ε    FGSM at ε with the candidate's OWN gradient (paper's squared error by default):
 *             clip01(x + ε·sign ∇x loss), one gradient per candidate network
 *   clean     the undistorted validation rows
 * clean_control is the clean validation accuracy of the network before sleep. Spec string:
 * "noise:0.3,blur:2,fgsm:0.1" (the default), a term may carry a weight: "fgsm:0.1:2".
 *
 * Validation rows: `valSize` rows of the training set, by default its LAST rows ("tail":
 * for MNIST the sleep input — the first rows in order — then stays the paper's), or a
 * seeded stratified choice ("stratified"). The sleep input and the normalisation data are
 * the OTHER training rows, in their original order: validation and sleep input are disjoint.
 */
import { ArgumentError, ValueError } from '../errors.js';
import { Network } from '../model/network.js';
import { head, subset, type Dataset } from '../data/dataset.js';
import { stratifiedChoice } from '../data/split.js';
import { distort, DISTORTIONS, type DistortionKind } from '../attacks/distortions.js';
import { fgsmSweep } from '../attacks/sweep.js';
import { ATTACK_LOSSES, type AttackLoss } from '../attacks/gradients.js';
import { throwIfAborted, type RunOptions } from '../util/control.js';
import { describe, expectInt, expectNumber, expectOneOf, expectSeed } from '../util/validate.js';

export const OBJECTIVE_KINDS = ['clean', ...DISTORTIONS, 'fgsm'] as const;
export type ObjectiveKind = (typeof OBJECTIVE_KINDS)[number];

export interface ObjectiveTerm {
  kind: ObjectiveKind;
  /** Variance, σ, fraction, contrast or ε (0 for clean). */
  level: number;
  weight: number;
}

export const DEFAULT_OBJECTIVE = 'noise:0.3,blur:2,fgsm:0.1';

/** "noise:0.3,fgsm:0.1:2" → terms. */
export function parseObjective(spec: string): ObjectiveTerm[] {
  if (typeof spec !== 'string' || !spec.trim()) throw new ArgumentError(`Expected an objective like "${DEFAULT_OBJECTIVE}" but received ${describe(spec)}`);
  return spec.split(',').map((part) => {
    const [kind, level, weight, ...rest] = part.trim().split(':');
    if (rest.length) throw new ValueError(`Expected kind:level[:weight] in the objective but received ${JSON.stringify(part)}`);
    expectOneOf(kind, 'objective term', OBJECTIVE_KINDS);
    const lv = kind === 'clean' ? Number(level ?? 0) : Number(level);
    if (kind !== 'clean' && level === undefined) throw new ValueError(`Expected a level for objective term ${kind} (e.g. ${kind}:0.3)`);
    for (const [v, what] of [[level, 'level'], [weight, 'weight']] as const)
      if (v !== undefined && !Number.isFinite(Number(v)))
        throw new ValueError(`Expected a number as the ${what} of objective term ${kind} but received ${JSON.stringify(v)}`);
    const term: ObjectiveTerm = {
      kind: kind as ObjectiveKind,
      level: expectNumber(lv, `level of ${kind}`, 0, kind === 'saltpepper' || kind === 'contrast' ? 1 : Infinity),
      weight: expectNumber(weight === undefined ? 1 : Number(weight), `weight of ${kind}`, 0),
    };
    return term;
  });
}

export function termKey(t: ObjectiveTerm): string {
  return t.kind === 'clean' ? 'clean' : `${t.kind}:${t.level}`;
}

export interface ObjectiveOptions extends RunOptions {
  /** Terms or a spec string (default DEFAULT_OBJECTIVE). */
  objective?: string | ObjectiveTerm[];
  /** Points of score lost per point of clean accuracy lost (default 1). */
  penalty?: number;
  /** Clean accuracy loss tolerated without penalty (fraction, default 0). */
  tolerance?: number;
  /** Validation rows (default min(1000, n/5)). */
  valSize?: number;
  valSplit?: 'tail' | 'stratified';
  /** Seed of the distortions and the stratified split (default 0). */
  seed?: number;
  /** Loss of the FGSM gradient: "ce" (default, as every gradient attack of nrem) or "mse" (the paper's squared error). */
  loss?: AttackLoss;
  /** The test split: refused as data, and its rows must not be the validation rows. */
  test?: Dataset;
}

export interface Evaluation {
  score: number;
  /** Clean validation accuracy. */
  clean: number;
  /** Accuracy per term, keyed "noise:0.3", "fgsm:0.1", "clean". */
  terms: Record<string, number>;
}

/** True when a data set's name marks it as a test split ("mnist/test", "patches:…/test (…)"). */
export function looksLikeTestSplit(d: Dataset): boolean {
  return /(^|\/)test\b/.test(d.name);
}

export class SleepObjective {
  readonly terms: ObjectiveTerm[];
  readonly penalty: number;
  readonly tolerance: number;
  readonly loss: AttackLoss;
  /** The held-out validation rows. */
  readonly validation: Dataset;
  /** The training rows that are not validation rows, in order: sleep input and normalisation data. */
  readonly sleepData: Dataset;
  /** Clean validation accuracy of the network before sleep. */
  controlClean = NaN;
  /** The control network's evaluation (before sleep). */
  control!: Evaluation;
  private stacked!: Float32Array;
  private blocks: ObjectiveTerm[] = [];
  private fgsmTerms: ObjectiveTerm[] = [];

  private constructor(train: Dataset, opts: ObjectiveOptions) {
    if (!train || !(train.x instanceof Float32Array)) throw new ArgumentError(`Expected a training Dataset for data but received ${describe(train)}`);
    if (looksLikeTestSplit(train) || (opts.test && opts.test.x.buffer === train.x.buffer && opts.test.x.byteOffset === train.x.byteOffset))
      throw new ValueError(`The tuning objective never uses the test set: give the TRAINING split (received "${train.name}"); validation rows are held out from it`);
    this.terms = typeof opts.objective === 'string' || opts.objective === undefined ? parseObjective(opts.objective ?? DEFAULT_OBJECTIVE) : opts.objective;
    if (!Array.isArray(this.terms) || this.terms.length === 0) throw new ValueError('Expected at least one objective term');
    if (!(this.terms.reduce((a, t) => a + t.weight, 0) > 0)) throw new ValueError('Expected objective weights with a positive sum');
    this.penalty = expectNumber(opts.penalty ?? 1, 'penalty', 0);
    this.tolerance = expectNumber(opts.tolerance ?? 0, 'tolerance', 0, 1);
    this.loss = expectOneOf(opts.loss ?? 'ce', 'loss', ATTACK_LOSSES);
    const k = expectInt(opts.valSize ?? Math.min(1000, Math.floor(train.n / 5)), 'valSize', 1, train.n - 1);
    const how = expectOneOf(opts.valSplit ?? 'tail', 'valSplit', ['tail', 'stratified'] as const);
    if (how === 'tail') {
      this.validation = subset(train, Array.from({ length: k }, (_, i) => train.n - k + i), `${train.name} [validation: last ${k} rows]`);
      this.sleepData = head(train, train.n - k, `${train.name} [first ${train.n - k} rows]`);
    } else {
      const [val, rest] = stratifiedChoice(train.y, train.classes, k, expectSeed(opts.seed ?? 0), 0x7475);
      this.validation = subset(train, val, `${train.name} [validation: ${k} stratified rows]`);
      this.sleepData = subset(train, rest, `${train.name} [rest of the validation split]`);
    }
    if (opts.test) {
      // The validation rows must not be test rows (the same memory or the same pixels).
      const seen = new Set<string>();
      const d = opts.test.dims;
      for (let i = 0; i < opts.test.n; i++) seen.add(rowKey(opts.test.x, i, d));
      let same = 0;
      for (let i = 0; i < this.validation.n; i++) if (seen.has(rowKey(this.validation.x, i, d))) same++;
      if (same > this.validation.n / 2)
        throw new ValueError(`The tuning objective never uses the test set: ${same} of ${this.validation.n} validation rows are test rows`);
    }
  }

  /**
   * Builds the validation data (distorted copies drawn once) and evaluates the control
   * network `net` on it.
   */
  static async create(net: Network, train: Dataset, opts: ObjectiveOptions = {}): Promise<SleepObjective> {
    if (!(net instanceof Network)) throw new ArgumentError(`Expected a Network for net but received ${describe(net)}`);
    const o = new SleepObjective(train, opts);
    const v = o.validation;
    if (v.dims !== net.inputSize) throw new ValueError(`The data has ${v.dims} features but the network takes ${net.inputSize}`);
    const seed = expectSeed(opts.seed ?? 0);
    // Block 0: clean; then one block per distortion term, stacked for one forward per network.
    const distTerms = o.terms.filter((t) => t.kind !== 'clean' && t.kind !== 'fgsm');
    o.blocks = [{ kind: 'clean', level: 0, weight: 0 }, ...distTerms];
    o.fgsmTerms = o.terms.filter((t) => t.kind === 'fgsm');
    o.stacked = new Float32Array(o.blocks.length * v.x.length);
    o.stacked.set(v.x, 0);
    for (let b = 1; b < o.blocks.length; b++) {
      const t = o.blocks[b];
      const xd = await distort(v.x, v.dims, t.kind as DistortionKind, t.level, { seed, shape: v.shape, signal: opts.signal });
      o.stacked.set(xd, b * v.x.length);
    }
    o.control = await o.evaluateOne(net, opts);
    o.controlClean = o.control.clean;
    // evaluateOne scored against NaN; score the control against itself.
    o.control.score = o.score(o.control.terms, o.control.clean);
    return o;
  }

  /** The score of per-term accuracies (see the header). */
  score(terms: Record<string, number>, clean: number): number {
    let s = 0;
    let w = 0;
    for (const t of this.terms) {
      s += t.weight * terms[termKey(t)];
      w += t.weight;
    }
    const drop = Number.isFinite(this.controlClean) ? Math.max(0, this.controlClean - clean - this.tolerance) : 0;
    return s / w - this.penalty * drop;
  }

  /** One network: one native forward over the stacked clean + distorted rows, one FGSM sweep. */
  async evaluateOne(net: Network, opts: RunOptions = {}): Promise<Evaluation> {
    const v = this.validation;
    const pred = await net.predict(this.stacked, { signal: opts.signal });
    const terms: Record<string, number> = {};
    let clean = 0;
    this.blocks.forEach((t, b) => {
      let ok = 0;
      for (let i = 0; i < v.n; i++) if (pred[b * v.n + i] === v.y[i]) ok++;
      if (b === 0) clean = ok / v.n;
      else terms[termKey(t)] = ok / v.n;
    });
    terms.clean = clean;
    if (this.fgsmTerms.length) {
      const sw = await fgsmSweep(net, v.x, v.y, { epsilons: this.fgsmTerms.map((t) => t.level), loss: this.loss, signal: opts.signal });
      this.fgsmTerms.forEach((t, e) => (terms[termKey(t)] = sw.accuracy[e]));
    }
    return { score: this.score(terms, clean), clean, terms };
  }

  /** A batch of (slept) networks, in order. A network with non-finite weights scores -Infinity. */
  async evaluate(nets: Network[], opts: RunOptions = {}): Promise<Evaluation[]> {
    const out: Evaluation[] = [];
    for (const n of nets) {
      throwIfAborted(opts.signal);
      if (n.native().firstNonFinite() !== null) out.push({ score: -Infinity, clean: 0, terms: {} });
      else out.push(await this.evaluateOne(n, opts));
    }
    return out;
  }

  describe(): Record<string, unknown> {
    return {
      terms: this.terms,
      penalty: this.penalty,
      tolerance: this.tolerance,
      loss: this.loss,
      validation: { name: this.validation.name, n: this.validation.n },
      sleepData: { name: this.sleepData.name, n: this.sleepData.n },
      controlClean: this.controlClean,
    };
  }
}

function rowKey(x: Float32Array, i: number, d: number): string {
  // FNV-1a over the row's bytes, plus a few raw values: collisions would need both to agree.
  const u = new Uint32Array(x.buffer, x.byteOffset + i * d * 4, d);
  let h = 0x811c9dc5;
  for (let j = 0; j < d; j++) h = Math.imul(h ^ u[j], 0x01000193) >>> 0;
  return `${h}:${u[0]}:${u[d >> 1]}:${u[d - 1]}`;
}
