/**
 * AutoAttack (Croce & Hein, ICML 2020; fra31/auto-attack autoattack.py): a fixed ensemble of
 * parameter-free attacks, each run only on the examples every earlier one failed on; an example
 * counts as robust only if all of them fail — the worst case per example.
 *
 *   standard  APGD-CE → APGD-T (DLR, 9 targets) → FAB-T (9 targets) → Square (5,000 queries)
 *   plus      APGD-CE (5 restarts) → APGD-DLR (5) → FAB (5) → Square → APGD-T → FAB-T
 *   custom    the stages you list, with the same budgets
 * 100 iterations for APGD and FAB, as the original. Every adversarial example a stage finds is
 * re-checked by ONNX Runtime on the exported network before it counts (recheck, default on);
 * one the native forward pass calls adversarial and ONNX Runtime does not stays robust and is
 * passed to the next stage. The sanity checks of checks.ts run with every evaluation.
 */
import { addon } from '../native/binding.js';
import { ArgumentError, ValueError } from '../errors.js';
import { Network } from '../model/network.js';
import { OrtModel } from '../model/ort.js';
import { runNative, type RunOptions } from '../util/control.js';
import { RUN_OPTION_KEYS, expectBoolean, expectFloat32Array, expectInt, expectKnownKeys, expectOneOf, expectSeed } from '../util/validate.js';
import { Attack, checkAttackInputs, expectAttackTarget, checkEpsilons, perturbationNorms, predictRows, toLabels, type AttackNorm, type AttackTarget, type CraftContext, type Crafted } from './base.js';
import { expectEpsilon, expectTargetClasses, resolveApgd, runApgd, type ApgdCall, type ApgdOptions, type LpNorm } from './apgd.js';
import { resolveFab, runFab, type FabOptions } from './fab.js';
import { imageShape, type ImageShape } from './square.js';
import { checkProbabilities, checkRandomized, checkSquare, checkTransfer, checkZeroGradient, type SanityCheck } from './checks.js';

export const AUTOATTACK_STAGES = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab', 'fab-t', 'square'] as const;
export type AutoAttackStage = (typeof AUTOATTACK_STAGES)[number];
export const AUTOATTACK_VERSIONS = ['standard', 'plus', 'custom'] as const;
export type AutoAttackVersion = (typeof AUTOATTACK_VERSIONS)[number];

export const VERSION_STAGES: Record<'standard' | 'plus', AutoAttackStage[]> = {
  standard: ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
  plus: ['apgd-ce', 'apgd-dlr', 'fab', 'square', 'apgd-t', 'fab-t'],
};

export interface AutoAttackOptions extends RunOptions {
  eps: number;
  norm?: LpNorm;
  version?: AutoAttackVersion;
  /** The stages of version 'custom' (refused otherwise, as the original does). */
  attacks?: AutoAttackStage[];
  seed?: number;
  /** APGD and FAB iterations (default 100). */
  iterations?: number;
  /** Restarts of APGD-CE, APGD-DLR and untargeted FAB (default: 1 standard, 5 plus). */
  restarts?: number;
  /** Target classes of APGD-T and FAB-T (default min(9, classes − 1)). */
  targetClasses?: number;
  /** Square's queries (default 5,000). */
  squareQueries?: number;
  /** Image shape [h, w] or [c, h, w] for Square (default: the network's C×H×W input; see square.ts imageShape). */
  shape?: ImageShape;
  /** Re-check every adversarial example with ONNX Runtime (default true; needs a Network). */
  recheck?: boolean;
  /** Adversarial examples made on another network (n × d) for the transfer check. */
  transferExamples?: Float32Array;
  batch?: number;
}

/** The keys of AutoAttackOptions (autoAttack); autoAttackSweep takes epsilons for eps, the AutoAttack class neither. */
export const AUTOATTACK_OPTION_KEYS = ['eps', 'norm', 'version', 'attacks', 'seed', 'iterations', 'restarts', 'targetClasses', 'squareQueries', 'shape', 'recheck', 'transferExamples', 'batch', ...RUN_OPTION_KEYS] as const;
const SWEEP_OPTION_KEYS = AUTOATTACK_OPTION_KEYS.map((k) => (k === 'eps' ? 'epsilons' : k));
const CLASS_OPTION_KEYS = AUTOATTACK_OPTION_KEYS.filter((k) => !['eps', 'seed', 'transferExamples', ...RUN_OPTION_KEYS].includes(k));

export interface AutoAttackStageResult {
  attack: AutoAttackStage;
  /** Examples this stage attacked (the ones still robust). */
  attacked: number;
  /** Of those, how many it made adversarial (confirmed by ONNX Runtime when rechecking). */
  fooled: number;
  /** Adversarial by the native forward pass but not by ONNX Runtime (they stay robust). */
  rejected: number;
  /** Robust accuracy over all n after this stage. */
  robustAccuracy: number;
  /** APGD: attacked examples whose gradient at the start point is exactly zero. */
  zeroGradient?: number;
  seconds: number;
}

export interface AutoAttackResult {
  version: AutoAttackVersion;
  norm: LpNorm;
  eps: number;
  attacks: AutoAttackStage[];
  n: number;
  clean: Int32Array;
  cleanAccuracy: number;
  /** Worst case per example: the adversarial example that counted, else the clean row (n × d). */
  adversarial: Float32Array;
  /** 1 where the example is classified correctly and no stage fooled it. */
  robust: Uint8Array;
  /** Index into `attacks` of the stage that fooled each example; −1 robust, −2 misclassified clean. */
  fooledBy: Int8Array;
  /** Class of each row of `adversarial` (ONNX Runtime's where rechecked). */
  predictions: Int32Array;
  robustAccuracy: number;
  stages: AutoAttackStageResult[];
  /** Every check, fired or not; `warnings` holds the messages of those that fired. */
  checks: SanityCheck[];
  warnings: string[];
  recheck: boolean;
  /** Largest norm (of `norm`) of adversarial − x over the rows: never above eps. */
  maxPerturbation: number;
  seconds: number;
}

/** z_L (n × K): the logits every attack sees. */
export async function logitsOf(net: AttackTarget, x: Float32Array, n: number, opts?: RunOptions): Promise<Float32Array> {
  const z = new Float32Array(n * net.outputSize);
  await runNative(opts, (c) => addon().attackLogits(net.native(), x, n, z, c));
  return z;
}

function stagesOf(version: AutoAttackVersion, attacks: AutoAttackStage[] | undefined): AutoAttackStage[] {
  if (version !== 'custom') {
    if (attacks !== undefined) throw new ValueError(`Expected no attacks for version '${version}' (its stages are fixed; use version 'custom')`);
    return VERSION_STAGES[version];
  }
  if (!Array.isArray(attacks) || attacks.length === 0) throw new ValueError("Expected a non-empty list of attacks for version 'custom'");
  attacks.forEach((a, i) => expectOneOf(a, `attacks[${i}]`, AUTOATTACK_STAGES));
  if (new Set(attacks).size !== attacks.length) throw new ValueError(`Expected each attack at most once in attacks but received ${attacks.join(', ')}`);
  return [...attacks];
}

function gather(x: Float32Array, d: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, k) => out.set(x.subarray(r * d, (r + 1) * d), k * d));
  return out;
}

/** Each stage's options, resolved and checked before the run starts. */
interface StageSettings {
  apgd: Record<'apgd-ce' | 'apgd-dlr' | 'apgd-t', Required<ApgdOptions> | undefined>;
  fab: Required<FabOptions>;
  fabT?: Required<FabOptions>;
  square: { l2: boolean; maxQueries: number; c: number; h: number; w: number; batch: number };
}

/** One stage on m rows (eps one budget or one per row): its examples, and APGD's zero-gradient flags. */
async function runStage(stage: AutoAttackStage, net: AttackTarget, xs: Float32Array, m: number, ys: Int32Array, eps: number | number[], call: ApgdCall, st: StageSettings): Promise<{ adv: Float32Array; zero?: Uint8Array }> {
  if (stage === 'apgd-ce' || stage === 'apgd-dlr' || stage === 'apgd-t') {
    const r = await runApgd(net, xs, m, ys, eps, st.apgd[stage]!, call);
    return { adv: r.adversarial, zero: r.zeroGradient };
  }
  if (stage === 'fab' || stage === 'fab-t') return { adv: (await runFab(net, xs, m, ys, eps, stage === 'fab' ? st.fab : st.fabT!, call)).adversarial };
  const adv = new Float32Array(m * net.inputSize);
  const q = st.square;
  const so: Record<string, number | boolean | number[]> = { l2: q.l2, maxQueries: q.maxQueries, pInit: 0.8, rescaleSchedule: false, h: q.h, w: q.w, c: q.c, seed: call.seed, keys: call.keys!, batch: q.batch };
  if (typeof eps === 'number') so.epsilons = [eps];
  else so.rowEps = eps;
  await runNative(call, (c) => addon().attackRun('square', net.native(), xs, m, ys, so, adv, null, c));
  return { adv };
}

export interface AutoAttackSweepOptions extends Omit<AutoAttackOptions, 'eps' | 'transferExamples'> {
  epsilons: number[];
  /** Per eps: adversarial examples made on another network (n × d each) for the transfer check. */
  transferExamples?: Float32Array[];
}

/** AutoAttack on n examples at one eps. */
export async function autoAttack(net: AttackTarget, x: Float32Array, labels: ArrayLike<number>, opts: AutoAttackOptions): Promise<AutoAttackResult> {
  expectAttackTarget(net);
  if (!opts || typeof opts !== 'object') throw new ArgumentError('Expected an options object with eps for autoAttack');
  expectKnownKeys(opts, AUTOATTACK_OPTION_KEYS, 'autoAttack options');
  const { eps, transferExamples, ...rest } = opts;
  expectEpsilon(eps, opts.norm === 'l2' ? 'l2' : 'linf', net.inputSize, 'eps');
  if (transferExamples !== undefined) expectFloat32Array(transferExamples, 'transferExamples', x.length);
  const [r] = await autoAttackSweep(net, x, labels, { ...rest, epsilons: [eps], transferExamples: transferExamples ? [transferExamples] : undefined });
  return r;
}

/**
 * AutoAttack at several eps on the same examples: one result per eps, each exactly what
 * autoAttack gives at that eps alone (a row's random draws depend on its index only, and its
 * arithmetic not on the other rows), computed stage by stage with the rows of every eps in
 * the same native calls — their forward and backward passes shared. Stage seconds are
 * those shared calls'.
 */
export async function autoAttackSweep(net: AttackTarget, x: Float32Array, labels: ArrayLike<number>, opts: AutoAttackSweepOptions): Promise<AutoAttackResult[]> {
  const t0 = performance.now();
  expectAttackTarget(net);
  if (!opts || typeof opts !== 'object') throw new ArgumentError('Expected an options object with epsilons for autoAttackSweep');
  expectKnownKeys(opts, SWEEP_OPTION_KEYS, 'autoAttackSweep options');
  const d = net.inputSize, K = net.outputSize;
  const n = checkAttackInputs(x, d);
  const y = toLabels(labels, n, K);
  const norm = expectOneOf(opts.norm ?? 'linf', 'norm', ['linf', 'l2'] as const);
  const epsilons = checkEpsilons(opts.epsilons).map((e, i) => expectEpsilon(e, norm, d, `epsilons[${i}]`));
  const E = epsilons.length;
  const version = expectOneOf(opts.version ?? 'standard', 'version', AUTOATTACK_VERSIONS);
  const attacks = stagesOf(version, opts.attacks);
  const seed = expectSeed(opts.seed ?? 0);
  const iterations = expectInt(opts.iterations ?? 100, 'iterations', 1, 1e6);
  const restarts = expectInt(opts.restarts ?? (version === 'plus' ? 5 : 1), 'restarts', 1, 1000);
  const needsTargets = attacks.includes('apgd-t') || attacks.includes('fab-t');
  const targetClasses = needsTargets ? expectTargetClasses(opts.targetClasses ?? Math.min(9, K - 1), K) : 1;
  const squareQueries = expectInt(opts.squareQueries ?? 5000, 'squareQueries', 1, 1e7);
  const batch = expectInt(opts.batch ?? 1000, 'batch', 1, 1 << 20);
  const recheck = expectBoolean(opts.recheck ?? true, 'recheck');
  if (recheck && !(net instanceof Network)) throw new ArgumentError('Expected a Network for autoAttack with recheck (ONNX Runtime runs its export); pass recheck: false otherwise');
  const transfer = opts.transferExamples;
  if (transfer !== undefined) {
    if (!Array.isArray(transfer) || transfer.length !== E) throw new ValueError(`Expected one transferExamples array per eps (${E})`);
    transfer.forEach((t, i) => expectFloat32Array(t, `transferExamples[${i}]`, n * d));
  }
  // Per-stage options, checked before any work.
  const apgdCe = resolveApgd({ norm, loss: 'ce', iterations, restarts, batch }, K);
  const apgdDlr = attacks.includes('apgd-dlr') ? resolveApgd({ norm, loss: 'dlr', iterations, restarts, batch }, K) : undefined;
  const apgdT = attacks.includes('apgd-t') ? resolveApgd({ norm, loss: 'dlr-targeted', iterations, restarts: 1, targetClasses, batch }, K) : undefined;
  const fab = resolveFab({ norm, targeted: false, iterations, restarts, batch }, K);
  const fabT = needsTargets ? resolveFab({ norm, targeted: true, iterations, restarts: 1, targetClasses, batch }, K) : undefined;
  const [c, h, w] = imageShape(d, opts.shape, net.inputShape);
  const settings: StageSettings = { apgd: { 'apgd-ce': apgdCe, 'apgd-dlr': apgdDlr, 'apgd-t': apgdT }, fab, fabT, square: { l2: norm === 'l2', maxQueries: squareQueries, c, h, w, batch } };
  const ro: RunOptions = { signal: opts.signal };
  const progress = (stage: string) => (opts.onProgress ? { ...ro, onProgress: (p: { done: number; total: number }) => opts.onProgress!({ ...p, phase: stage }) } : ro);

  // Checks on the model itself, shared by every eps.
  const shared: SanityCheck[] = [];
  shared.push(checkProbabilities(await logitsOf(net, x, n, ro), K));
  shared.push(await checkRandomized((xs, m) => logitsOf(net, xs, m, ro), x, y, n));
  const clean = await predictRows(net, x, n, ro);
  let cleanCount = 0;
  for (let i = 0; i < n; i++) cleanCount += +(clean[i] === y[i]);
  const per = epsilons.map(() => {
    const robust = Uint8Array.from(clean, (c, i) => +(c === y[i]));
    return {
      robust,
      fooledBy: Int8Array.from(robust, (v) => (v ? -1 : -2)),
      adversarial: x.slice(),
      predictions: clean.slice(),
      stages: [] as AutoAttackStageResult[],
      checks: [...shared],
      whiteRobust: undefined as Uint8Array | undefined,
    };
  });
  const ort = recheck ? await OrtModel.fromNetwork(net as Network) : undefined;
  try {
    for (let si = 0; si < attacks.length; si++) {
      const stage = attacks[si];
      const ts = performance.now();
      if (stage === 'square') for (const p of per) p.whiteRobust ??= p.robust.slice();
      // The (eps, row) pairs still robust, all eps in one call.
      const pe: number[] = [], pr: number[] = [];
      per.forEach((p, e) => p.robust.forEach((v, r) => v && (pe.push(e), pr.push(r))));
      const m = pr.length;
      const left = (e: number) => per[e].robust.reduce((a, b) => a + b, 0) / (n || 1);
      if (m === 0) {
        per.forEach((p, e) => p.stages.push({ attack: stage, attacked: 0, fooled: 0, rejected: 0, robustAccuracy: left(e), seconds: 0 }));
        continue;
      }
      const xs = gather(x, d, pr);
      const ys = Int32Array.from(pr, (r) => y[r]);
      const epsOf: number | number[] = E === 1 ? epsilons[0] : pe.map((e) => epsilons[e]);
      const { adv, zero } = await runStage(stage, net, xs, m, ys, epsOf, { ...progress(stage), seed, keys: pr }, settings);
      // The library decides success: the deployed network's class, then ONNX Runtime's.
      const native = await predictRows(net, adv, m, ro);
      const cand: number[] = [];
      for (let k = 0; k < m; k++) if (native[k] !== ys[k]) cand.push(k);
      const ortPred = ort && cand.length ? await ort.predict(gather(adv, d, cand), cand.length, ro) : undefined;
      const fooled = new Array<number>(E).fill(0), rejected = new Array<number>(E).fill(0);
      cand.forEach((k, c) => {
        const e = pe[k], r = pr[k], p = per[e];
        const cls = ortPred ? ortPred[c] : native[k];
        if (cls === ys[k]) {
          rejected[e]++;
          return;
        }
        p.robust[r] = 0;
        p.fooledBy[r] = si;
        p.predictions[r] = cls;
        p.adversarial.set(adv.subarray(k * d, (k + 1) * d), r * d);
        fooled[e]++;
      });
      const seconds = (performance.now() - ts) / 1000;
      per.forEach((p, e) => {
        let attacked = 0, zeros = 0;
        for (let k = 0; k < m; k++)
          if (pe[k] === e) {
            attacked++;
            zeros += zero ? zero[k] : 0;
          }
        p.stages.push({ attack: stage, attacked, fooled: fooled[e], rejected: rejected[e], robustAccuracy: left(e), ...(zero ? { zeroGradient: zeros } : {}), seconds });
        if (zero) p.checks.push(checkZeroGradient(stage, zeros, attacked));
        if (stage === 'square') p.checks.push(checkSquare(fooled[e], n));
      });
    }
    if (transfer) {
      // Examples made on another network, judged on this one, against the white-box stages before Square.
      for (let e = 0; e < E; e++) {
        const tPred = ort ? await ort.predict(transfer[e], n, ro) : await predictRows(net, transfer[e], n, ro);
        per[e].checks.push(checkTransfer(Uint8Array.from(tPred, (p, i) => +(p !== y[i])), per[e].whiteRobust ?? per[e].robust));
      }
    }
  } finally {
    await ort?.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return per.map((p, e) => {
    const norms = perturbationNorms(x, p.adversarial, d);
    const mx = (norm === 'linf' ? norms.linf : norms.l2).reduce((a, b) => Math.max(a, b), 0);
    const robustCount = p.robust.reduce((a, b) => a + b, 0);
    return {
      version,
      norm,
      eps: epsilons[e],
      attacks,
      n,
      clean,
      cleanAccuracy: n ? cleanCount / n : 0,
      adversarial: p.adversarial,
      robust: p.robust,
      fooledBy: p.fooledBy,
      predictions: p.predictions,
      robustAccuracy: n ? robustCount / n : 0,
      stages: p.stages,
      checks: p.checks,
      warnings: p.checks.filter((c) => c.fired).map((c) => c.message),
      recheck,
      maxPerturbation: mx,
      seconds,
    };
  });
}

export type AutoAttackClassOptions = Omit<AutoAttackOptions, 'eps' | keyof RunOptions | 'seed' | 'transferExamples'>;

/**
 * AutoAttack in the Foolbox shape (`new AutoAttack().run(net, x, y, { epsilons })`): one
 * evaluation per eps, raw = its worst-case examples. `lastResults` keeps the stage figures
 * and checks of each eps.
 */
export class AutoAttack extends Attack {
  readonly name: string;
  readonly norm: AttackNorm;
  readonly fixedEpsilon = true;
  lastResults: AutoAttackResult[] = [];
  constructor(private readonly opts: AutoAttackClassOptions = {}) {
    super();
    expectKnownKeys(opts, CLASS_OPTION_KEYS, 'AutoAttack options');
    this.norm = expectOneOf(opts.norm ?? 'linf', 'norm', ['linf', 'l2'] as const);
    this.name = `autoattack-${expectOneOf(opts.version ?? 'standard', 'version', AUTOATTACK_VERSIONS)}`;
  }
  protected async craft(net: AttackTarget, x: Float32Array, _n: number, y: Int32Array, epsilons: number[], ctx: CraftContext): Promise<Crafted> {
    this.lastResults = await autoAttackSweep(net, x, y, { ...this.opts, epsilons, seed: ctx.seed, signal: ctx.signal, onProgress: ctx.onProgress, recheck: this.opts.recheck ?? net instanceof Network });
    return { raw: this.lastResults.map((r) => r.adversarial) };
  }
}
