/**
 * nrem attack --model m.onnx --dataset mnist --attack fgsm|pgd|deepfool|jsma|cw|square|autoattack
 *   [--eps 0,0.05,0.1] [--limit N] [--loss mse|ce] [--steps] [--seed] [--no-recheck] [--json]
 *   [--version standard|plus] [--norm linf|l2]   (autoattack)
 * FGSM with the re-check runs FGSM once per eps (16 eps per call, each call's examples
 * re-checked before the next are made); without it, the paper's sweep natively (one
 * gradient per image). Every attack's successes are re-checked with ONNX Runtime and
 * disagreements reported. AutoAttack re-checks each stage's examples before they count, and
 * prints its sanity checks' warnings next to the robust accuracy they undermine.
 */
import type { Command } from 'commander';
import { loadOnnx } from '../../model/onnx.js';
import { loadDataset } from '../../data/index.js';
import { head } from '../../data/dataset.js';
import { CarliniWagnerL2, DeepFool, FGSM, JSMA, PGD, SquareAttack, type Attack } from '../../attacks/index.js';
import { predictRows } from '../../attacks/base.js';
import { OrtModel } from '../../model/ort.js';
import type { Network } from '../../model/network.js';
import type { Dataset } from '../../data/dataset.js';
import type { ProgressEvent } from '../../util/control.js';
import { fgsmSweep, epsRange, type SweepMethod } from '../../attacks/sweep.js';
import { summarize } from '../../attacks/metrics.js';
import { recheckWithOrt } from '../../attacks/recheck.js';
import { autoAttackSweep } from '../../attacks/autoattack.js';
import type { AttackLoss } from '../../attacks/gradients.js';
import { progressBar } from './progress.js';
import { datasetFor, inputWarnings } from '../warnings.js';
import { Timings } from '../timings.js';
import { optionalInteger, optionalNumberList, parseChoice, parseLimit, parseSeed, UsageError } from '../parse.js';
import { ATTACK_LOSSES } from '../../attacks/gradients.js';
import { SWEEP_METHODS } from '../../attacks/sweep.js';

const ATTACKS = ['fgsm', 'pgd', 'deepfool', 'jsma', 'cw', 'square', 'autoattack'] as const;
/** Largest meaningful budget per attack norm on inputs in [0, 1]: L∞ 1; L2 and L0 are checked against d after loading. */
const LINF = new Set(['fgsm', 'pgd', 'square']);
/** FGSM with the re-check runs this many eps per FGSM call: the examples of a chunk (2 × n × d floats per eps) are re-checked, then dropped. */
export const FGSM_CHUNK = 16;

interface AttackCliOptions {
  timings?: boolean;
  model: string;
  dataset?: string;
  attack: string;
  eps?: string;
  limit?: string;
  loss: string;
  steps?: string;
  seed: string;
  quick?: boolean;
  recheck: boolean;
  sweepMethod?: string;
  version: string;
  norm: string;
  json?: boolean;
}

export function registerAttack(program: Command): void {
  program
    .command('attack')
    .description('attack a model on a data set: accuracy vs eps (fgsm, pgd, square) or perturbation sizes (deepfool, jsma, cw)')
    .requiredOption('--model <file>', 'ONNX model')
    .option('--dataset <spec>', 'data set spec (default: the data set the model records, else mnist)')
    .requiredOption('--attack <name>', 'fgsm | pgd | deepfool | jsma | cw | square | autoattack')
    .option('--eps <list>', 'budgets, comma-separated (fgsm default: 0:0.005:0.4)')
    .option('--limit <n>', 'first N test examples')
    .option('--loss <name>', 'mse (the paper, on the output) | ce (on the pre-activation) | margin', 'ce')
    .option('--steps <n>', 'iterations (pgd steps, deepfool/jsma/cw max iterations, square queries)')
    .option('--seed <n>', 'seed', '0')
    .option('--quick', 'the quick data subset')
    .option('--sweep-method <m>', "fgsm: closed-form (first layer piecewise linear in eps) | direct (whole network at every x'); default closed-form, or with the re-check the re-checked examples themselves (direct)")
    .option('--version <v>', 'autoattack: standard (APGD-CE, APGD-T, FAB-T, Square) | plus', 'standard')
    .option('--norm <p>', 'autoattack: linf | l2', 'linf')
    .option('--no-recheck', 'skip the ONNX Runtime re-check')
    .option('--json', 'print one JSON object as the last line')
    .option('--timings', 'print where the wall time went (load, checks, work, recheck, write) on stderr')
    .action(async (o: AttackCliOptions) => {
      const t0 = performance.now();
      const tm = new Timings();
      // Every flag is checked before the model and data are loaded.
      const seed = parseSeed(o.seed);
      const attackName = parseChoice(o.attack, '--attack', ATTACKS);
      const aaVersion = parseChoice(o.version, '--version', ['standard', 'plus'] as const);
      const aaNorm = parseChoice(o.norm, '--norm', ['linf', 'l2'] as const);
      const linf = LINF.has(attackName) || (attackName === 'autoattack' && aaNorm === 'linf');
      const limit = parseLimit(o.limit);
      const eps = optionalNumberList(o.eps, '--eps', { min: 0, max: linf ? 1 : Number.MAX_SAFE_INTEGER, maxCount: attackName === 'fgsm' ? 10_000 : 100 });
      const loss: AttackLoss = parseChoice(o.loss, '--loss', ATTACK_LOSSES);
      const steps = optionalInteger(o.steps, '--steps', { min: 1, max: 10_000_000 });
      if (o.sweepMethod !== undefined) parseChoice(o.sweepMethod, '--sweep-method', SWEEP_METHODS);
      const net = await loadOnnx(o.model);
      const data = await loadDataset(datasetFor(o.dataset, net), { quick: o.quick, seed });
      const test = limit !== undefined ? head(data.test, limit) : data.test;
      if (eps && !linf) {
        const max = attackName === 'jsma' ? test.dims : Math.sqrt(test.dims);
        const bad = eps.findIndex((e) => e > max);
        if (bad >= 0) throw new UsageError(`--eps entry ${bad + 1}: expected a budget <= ${max} (the largest ${attackName === 'jsma' ? 'L0' : 'L2'} distance between inputs of ${test.dims} values in [0, 1]) but received ${eps[bad]}`);
      }
      tm.lap('load');
      const warnings = await inputWarnings(net, test, o.model);
      tm.lap('checks');
      const bar = o.json ? undefined : progressBar();
      const onProgress = bar?.update;
      let out: Record<string, unknown>;
      if (attackName === 'fgsm') {
        const epsilons = eps ?? epsRange();
        const positive = epsilons.filter((e) => e > 0);
        if (o.recheck && o.sweepMethod === undefined) {
          // One FGSM pass gives both the accuracies (the network at each x', as --sweep-method direct)
          // and the examples ONNX Runtime re-checks: the sweep would compute the same gradients again.
          const a = await fgsmRechecked(net, test, positive, loss, { onProgress, lap: (phase) => tm.lap(phase) });
          let k = 0;
          const accuracy = epsilons.map((e) => (e > 0 ? a.accuracy[k++] : a.cleanAccuracy));
          out = { attack: 'fgsm', loss, method: 'direct', n: test.n, epsilons, accuracy, recheck: a.recheck };
        } else {
          const method = (o.sweepMethod ?? 'closed-form') as SweepMethod;
          const r = await fgsmSweep(net, test.x, test.y, { epsilons, loss, method, onProgress });
          out = { attack: 'fgsm', loss, method, n: r.n, epsilons: r.epsilons, accuracy: r.accuracy };
          tm.lap('work');
          if (o.recheck) {
            // Re-check the FGSM verdicts at each eps through the attack path + ONNX Runtime.
            out.recheck = (await fgsmRechecked(net, test, positive, loss)).recheck;
            tm.lap('recheck');
          }
        }
      } else if (attackName === 'autoattack') {
        const all = await autoAttackSweep(net, test.x, test.y, { epsilons: eps ?? [0.1, 0.2, 0.3], norm: aaNorm, version: aaVersion, seed, recheck: o.recheck, onProgress, shape: test.shape, ...(steps ? { iterations: steps } : {}) });
        bar?.stop();
        for (const r of all) {
          if (o.json) continue;
          // The warnings go next to the figure they undermine.
          console.error(`eps ${r.eps}: robust accuracy ${(100 * r.robustAccuracy).toFixed(1)} % (clean ${(100 * r.cleanAccuracy).toFixed(1)} %; ${r.stages.map((s) => `${s.attack} ${(100 * s.robustAccuracy).toFixed(1)} %`).join(', ')})`);
          for (const w of r.warnings) console.error(`  warning: ${w}`);
          if (!r.warnings.length) console.error('  checks: none fired');
        }
        const perEpsilon = all.map((r) => ({ epsilon: r.eps, robustAccuracy: r.robustAccuracy, stages: r.stages, warnings: r.warnings, checks: r.checks.map((c) => ({ id: c.id, fired: c.fired, value: c.value })), maxPerturbation: r.maxPerturbation }));
        out = { attack: 'autoattack', version: aaVersion, norm: aaNorm, n: test.n, cleanAccuracy: all[0].cleanAccuracy, recheck: o.recheck, perEpsilon };
        tm.lap('work'); // AutoAttack re-checks each stage itself: its ONNX Runtime time is in work
      } else {
        let a: Attack;
        switch (attackName) {
          case 'pgd':
            a = new PGD({ loss, steps: steps ?? 40 });
            break;
          case 'deepfool':
            a = new DeepFool({ maxIterations: steps ?? 100 });
            break;
          case 'jsma':
            a = new JSMA({ maxIterations: steps ?? 500 });
            break;
          case 'cw':
            a = new CarliniWagnerL2({ maxIterations: steps ?? 1000 });
            break;
          case 'square':
            a = new SquareAttack({ maxQueries: steps ?? 1000 });
            break;
        }
        const needsEps = attackName === 'pgd' || attackName === 'square';
        const r = await a.run(net, test.x, test.y, { epsilons: eps ?? (needsEps ? [0.1, 0.2, 0.3] : undefined), seed, onProgress });
        const s = summarize(r, test.x, test.y);
        out = { ...s };
        tm.lap('work');
        if (o.recheck) {
          const rc = await recheckWithOrt(net, r, test.y);
          tm.lap('recheck');
          out.recheck = { confirmed: rc.confirmedCount, rejected: rc.rejected, disagreements: rc.disagreements.map((d) => d.rows.length) };
          (out as { perEpsilon: { successRate: number; confirmedSuccessRate?: number }[] }).perEpsilon.forEach((p, e) => {
            p.confirmedSuccessRate = rc.confirmedCount[e] / s.n;
          });
        }
      }
      bar?.stop();
      out.warnings = warnings;
      out.seconds = (performance.now() - t0) / 1000;
      out.timings = tm.toJSON();
      tm.report(o.timings);
      if (o.json) console.log(JSON.stringify(out));
      else console.log(JSON.stringify(out, null, 2));
    });
}

/**
 * FGSM at every eps (> 0) of `epsilons`, FGSM_CHUNK eps per call, each chunk's examples
 * re-checked by ONNX Runtime (one session for all) before the next is made: the accuracy at
 * each eps is the network's at x' (as fgsmSweep's direct method), the re-check counts per eps.
 * Memory stays that of one chunk whatever the number of eps. `lap` is told when each
 * stretch of FGSM ('work') or ONNX Runtime ('recheck', its session's start included) ends.
 */
export async function fgsmRechecked(
  net: Network,
  test: Dataset,
  epsilons: number[],
  loss: AttackLoss,
  { onProgress, lap = () => {} }: { onProgress?: (p: ProgressEvent) => void; lap?: (phase: 'work' | 'recheck') => void } = {},
): Promise<{ accuracy: number[]; cleanAccuracy: number; recheck: { confirmed: number[]; rejected: number[]; disagreements: number[] } }> {
  const n = test.n;
  const acc = (p: Int32Array) => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (p[i] === test.y[i]) ok++;
    return n ? ok / n : 0;
  };
  const accuracy: number[] = [];
  const recheck = { confirmed: [] as number[], rejected: [] as number[], disagreements: [] as number[] };
  if (!epsilons.length) {
    const cleanAccuracy = acc(await predictRows(net, test.x, n));
    lap('work');
    return { accuracy, cleanAccuracy, recheck };
  }
  const fgsm = new FGSM({ loss });
  const session = await OrtModel.fromNetwork(net);
  lap('recheck');
  let cleanAccuracy = 0;
  try {
    for (let c0 = 0; c0 < epsilons.length; c0 += FGSM_CHUNK) {
      const chunk = epsilons.slice(c0, c0 + FGSM_CHUNK);
      const progress = onProgress && ((p: ProgressEvent) => onProgress({ ...p, done: c0 + (p.total ? (p.done / p.total) * chunk.length : 0), total: epsilons.length }));
      const a = await fgsm.run(net, test.x, test.y, { epsilons: chunk, onProgress: progress });
      if (c0 === 0) cleanAccuracy = acc(a.clean);
      accuracy.push(...a.predictions.map(acc));
      lap('work');
      const rc = await recheckWithOrt(net, a, test.y, { session });
      recheck.confirmed.push(...rc.confirmedCount);
      recheck.rejected.push(...rc.rejected);
      recheck.disagreements.push(...rc.disagreements.map((d) => d.rows.length));
      lap('recheck');
    }
  } finally {
    await session.dispose();
  }
  return { accuracy, cleanAccuracy, recheck };
}
