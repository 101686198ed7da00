/**
 * The Foolbox shape for every attack: `attack.run(net, x, labels, { epsilons })` does the
 * bookkeeping — argument checks, the eps loop, restriction to the eps-ball and [0, 1],
 * success computed by the library from a forward pass of the clipped examples, and the
 * per-example perturbation norms — and returns raw, clipped and a success matrix
 * [eps × N]. Each attack writes only its `craft` (native inner loops) over the thin model
 * interface `AttackTarget` (a Network satisfies it).
 */
import { ArgumentError, ShapeError, ValueError } from '../errors.js';
import type { NativeModel } from '../native/binding.js';
import { runNative, type RunOptions } from '../util/control.js';
import { NATIVE_SCAN_MIN, RUN_OPTION_KEYS, expectFloat32Array, expectInt, expectKnownKeys, expectNumber } from '../util/validate.js';
import { addon } from '../native/binding.js';
import { checkArrayMemory } from '../util/memory.js';

/** Most budgets one call takes (the paper's sweep has 81). */
export const MAX_EPSILONS = 10_000;

/** The budgets of an attack or sweep: 1 … MAX_EPSILONS finite numbers >= 0. */
export function checkEpsilons(epsilons: unknown): number[] {
  if (!Array.isArray(epsilons) || epsilons.length === 0) throw new ValueError('Expected a non-empty array for epsilons');
  if (epsilons.length > MAX_EPSILONS) throw new ValueError(`Expected at most ${MAX_EPSILONS} epsilons but received ${epsilons.length}`);
  epsilons.forEach((e, i) => expectNumber(e, `epsilons[${i}]`, 0));
  return epsilons as number[];
}

/** Attack inputs: n × d values in [0, 1] (NaN and ±Inf included in the refusal), named by row and column. Returns n. */
export function checkAttackInputs(x: unknown, d: number, name = 'x'): number {
  expectFloat32Array(x, name);
  const a = x as Float32Array;
  if (a.length % d !== 0) throw new ShapeError(`Expected ${name} to hold a multiple of ${d} values (n × ${d}) but it holds ${a.length}`);
  for (let i = 0; i < a.length; i++)
    if (!(a[i] >= 0 && a[i] <= 1)) throw new ValueError(`Expected ${name} in [0, 1] but found ${a[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  return a.length / d;
}

/** checkAttackInputs without blocking the event loop: large inputs are scanned natively, off the main thread. */
export async function checkAttackInputsAsync(x: unknown, d: number, name = 'x'): Promise<number> {
  expectFloat32Array(x, name);
  const a = x as Float32Array;
  if (a.length < NATIVE_SCAN_MIN) return checkAttackInputs(a, d, name);
  if (a.length % d !== 0) throw new ShapeError(`Expected ${name} to hold a multiple of ${d} values (n × ${d}) but it holds ${a.length}`);
  const s = await addon().scanValues(a, 0, 1);
  const i = s.firstOutside;
  if (i >= 0) throw new ValueError(`Expected ${name} in [0, 1] but found ${a[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  return a.length / d;
}

/** What an attack needs from a model: its native view and its shape. */
export interface AttackTarget {
  native(): NativeModel;
  readonly inputSize: number;
  readonly outputSize: number;
  /** C × H × W of one input, when the model knows it (a Network does): Square's windows. */
  readonly inputShape?: readonly number[];
}

/**
 * The network an attack runs on: a Network or another AttackTarget. A Promise (a loadOnnx
 * not awaited) or anything else is an ArgumentError that says so, not a shape error about
 * "undefined" sizes later.
 */
export function expectAttackTarget(net: unknown, name = 'net'): asserts net is AttackTarget {
  const t = net as Partial<AttackTarget> | null | undefined;
  if (t && typeof t === 'object' && typeof t.native === 'function' && Number.isInteger(t.inputSize) && Number.isInteger(t.outputSize)) return;
  const what = net instanceof Promise ? 'a Promise (await loadOnnx(...) or importOnnx(...) first)' : net === null ? 'null' : typeof net === 'object' ? `an object without native(), inputSize and outputSize` : typeof net;
  throw new ArgumentError(`Expected a Network for ${name} but received ${what}`);
}

export type AttackNorm = 'linf' | 'l2' | 'l0';

export interface AttackCallOptions extends RunOptions {
  /** Perturbation budgets. Fixed-budget attacks need them; minimal attacks: optional (none = unbounded). */
  epsilons?: number[];
  /** Seed of every random choice (random starts, Square's squares). Default 0. */
  seed?: number;
}

/** The keys `Attack.run` takes (a misspelt one is refused, not ignored). */
export const ATTACK_CALL_OPTION_KEYS = ['epsilons', 'seed', ...RUN_OPTION_KEYS] as const;

export interface AttackResult {
  attack: string;
  norm: AttackNorm;
  /** One entry per row of the matrices below; Infinity = unbounded (minimal attacks without epsilons). */
  epsilons: number[];
  /** The attack's own output per eps (n × d each). */
  raw: Float32Array[];
  /** raw restricted to the eps-ball around x and to [0, 1]: what is evaluated (n × d each). */
  clipped: Float32Array[];
  /** success[e][i] = 1 when clipped[e] row i is adversarial (misclassified; targeted: classified as the target). */
  success: Uint8Array[];
  /** Class the network gives each clipped example. */
  predictions: Int32Array[];
  /** Norms of the perturbation clipped − x per example (L0 counts |δ| > 1e-6). */
  l0: Float32Array[];
  l2: Float32Array[];
  linf: Float32Array[];
  /** Targets of a targeted attack (JSMA). */
  targets?: Int32Array;
  /** Clean predictions. */
  clean: Int32Array;
  seconds: number;
}

export interface Crafted {
  raw: Float32Array[];
  targets?: Int32Array;
}

export interface CraftContext extends RunOptions {
  seed: number;
}

export abstract class Attack {
  abstract readonly name: string;
  abstract readonly norm: AttackNorm;
  /** true: one run per eps (PGD, Square); false: minimal perturbation, then restricted per eps. */
  abstract readonly fixedEpsilon: boolean;

  /** Crafts adversarial examples; for fixed-eps attacks one array per eps. */
  protected abstract craft(net: AttackTarget, x: Float32Array, n: number, labels: Int32Array, epsilons: number[], ctx: CraftContext): Promise<Crafted>;

  async run(net: AttackTarget, x: Float32Array, labels: ArrayLike<number>, opts: AttackCallOptions = {}): Promise<AttackResult> {
    const t0 = performance.now();
    expectAttackTarget(net);
    expectKnownKeys(opts, ATTACK_CALL_OPTION_KEYS, `${this.constructor.name}.run options`);
    const d = net.inputSize;
    const n = await checkAttackInputsAsync(x, d);
    const y = toLabels(labels, n, net.outputSize);
    const seed = expectInt(opts.seed ?? 0, 'seed', 0, Number.MAX_SAFE_INTEGER);
    const epsilons = opts.epsilons === undefined ? undefined : checkEpsilons(opts.epsilons);
    if (epsilons === undefined && this.fixedEpsilon) throw new ValueError(`Expected epsilons for ${this.name} (a fixed-budget attack)`);
    // raw and clipped examples: one n × d array each per eps (raw shared by minimal attacks).
    const E = epsilons?.length ?? 1;
    checkArrayMemory(this.fixedEpsilon ? 2 * E : E + 1, n * d, `${this.name} with ${E} epsilons on ${n} rows`);
    const clean = await predictRows(net, x, n, opts);
    const crafted = await this.craft(net, x, n, y, epsilons ?? [], { ...opts, seed });
    const eps = epsilons ?? [Infinity];
    const raw = this.fixedEpsilon ? crafted.raw : eps.map(() => crafted.raw[0]);
    // Restriction to each budget, predictions, success and norms: one native call per run (native/core/tensor_ops.h).
    const restricts = eps.map((e) => !this.fixedEpsilon && e !== Infinity);
    const clipped = raw.map((r, e) => (restricts[e] ? new Float32Array(r.length) : r));
    const crit = crafted.targets;
    const predictions = eps.map(() => new Int32Array(n));
    const success = eps.map(() => new Uint8Array(n));
    const norms = eps.map(() => ({ l0: new Float32Array(n), l2: new Float32Array(n), linf: new Float32Array(n) }));
    await runNative(opts, (c) =>
      addon().attackFinish(
        net.native(), x, n, raw, clipped, this.norm, eps.map((e) => (e === Infinity ? Number.MAX_VALUE : e)), restricts, y, crit ?? null,
        predictions, success, norms.map((m) => m.l0), norms.map((m) => m.l2), norms.map((m) => m.linf), c,
      ),
    );
    return {
      attack: this.name,
      norm: this.norm,
      epsilons: eps,
      raw,
      clipped,
      success,
      predictions,
      l0: norms.map((m) => m.l0),
      l2: norms.map((m) => m.l2),
      linf: norms.map((m) => m.linf),
      targets: crit,
      clean,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}

/** Foolbox's functional form: `attack(net, x, labels, new LinfPGD(), { epsilons })`. */
export function attack(net: AttackTarget, x: Float32Array, labels: ArrayLike<number>, a: Attack, opts?: AttackCallOptions): Promise<AttackResult> {
  return a.run(net, x, labels, opts);
}

export function toLabels(labels: ArrayLike<number>, n: number, classes: number, name = 'labels'): Int32Array {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number')
    throw new ValueError(`Expected an array of class indices for ${name}`);
  if (labels.length !== n) throw new ShapeError(`Expected ${n} ${name} but received ${labels.length}`);
  const y = Int32Array.from(labels as ArrayLike<number>);
  for (let i = 0; i < n; i++)
    if (!(y[i] >= 0 && y[i] < classes) || y[i] !== labels[i])
      throw new ValueError(`Expected ${name}[${i}] in 0..${classes - 1} but received ${labels[i]}`);
  return y;
}

export async function predictRows(net: AttackTarget, x: Float32Array, n: number, opts?: RunOptions): Promise<Int32Array> {
  const out = new Float32Array(n * net.outputSize);
  await runNative(opts, (c) => addon().forward(net.native(), x, n, out, null, c));
  const pred = new Int32Array(n);
  const K = net.outputSize;
  for (let r = 0; r < n; r++) {
    let b = 0;
    for (let k = 1; k < K; k++) if (out[r * K + k] > out[r * K + b]) b = k;
    pred[r] = b;
  }
  return pred;
}

/**
 * raw restricted to the eps-ball of `norm` around x, then to [0, 1] (L0: rows over budget fall back to x).
 * The reference of the native restriction that Attack.run uses (native/core/tensor_ops.h); for small inputs.
 */
export function restrict(x: Float32Array, raw: Float32Array, d: number, norm: AttackNorm, eps: number): Float32Array {
  const out = new Float32Array(raw.length);
  const n = raw.length / d;
  for (let r = 0; r < n; r++) {
    const o = r * d;
    if (norm === 'linf') {
      for (let j = o; j < o + d; j++) out[j] = clip01(x[j] + Math.min(eps, Math.max(-eps, raw[j] - x[j])));
    } else if (norm === 'l2') {
      let s = 0;
      for (let j = o; j < o + d; j++) s += (raw[j] - x[j]) ** 2;
      const f = s > eps * eps ? eps / Math.sqrt(s) : 1;
      for (let j = o; j < o + d; j++) out[j] = clip01(x[j] + (raw[j] - x[j]) * f);
    } else {
      let c = 0;
      for (let j = o; j < o + d; j++) if (Math.abs(raw[j] - x[j]) > 1e-6) c++;
      const src = c <= eps ? raw : x;
      for (let j = o; j < o + d; j++) out[j] = src[j];
    }
  }
  return out;
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Per-row L0 / L2 / L∞ of adv − x: the reference of the native norms Attack.run uses; for small inputs. */
export function perturbationNorms(x: Float32Array, adv: Float32Array, d: number): { l0: Float32Array; l2: Float32Array; linf: Float32Array } {
  const n = x.length / d;
  const l0 = new Float32Array(n), l2 = new Float32Array(n), linf = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let c = 0, s = 0, m = 0;
    for (let j = r * d; j < (r + 1) * d; j++) {
      const v = Math.abs(adv[j] - x[j]);
      if (v > 1e-6) c++;
      s += v * v;
      if (v > m) m = v;
    }
    l0[r] = c;
    l2[r] = Math.sqrt(s);
    linf[r] = m;
  }
  return { l0, l2, linf };
}

