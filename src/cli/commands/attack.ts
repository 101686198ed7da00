/**
 * nrem attack --model m.onnx --dataset mnist --attack fgsm|pgd|deepfool|jsma|cw|square|autoattack
 *   [--eps 0,0.05,0.1] [--limit N] [--loss mse|ce] [--steps] [--seed] [--no-recheck] [--json]
 *   [--version standard|plus] [--norm linf|l2]   (autoattack)
 * FGSM runs the paper's sweep natively (one gradient per image); every attack's successes
 * are re-checked with ONNX Runtime and disagreements reported. AutoAttack re-checks each
 * stage's examples before they count, and prints its sanity checks' warnings next to the
 * robust accuracy they undermine.
 */
import type { Command } from 'commander';
import { loadOnnx } from '../../model/onnx.js';
import { loadDataset } from '../../data/index.js';
import { head } from '../../data/dataset.js';
import { ValueError } from '../../errors.js';
import { CarliniWagnerL2, DeepFool, FGSM, JSMA, PGD, SquareAttack, type Attack } from '../../attacks/index.js';
import { fgsmSweep, epsRange, type SweepMethod } from '../../attacks/sweep.js';
import { summarize } from '../../attacks/metrics.js';
import { recheckWithOrt } from '../../attacks/recheck.js';
import { autoAttackSweep, AUTOATTACK_VERSIONS, type AutoAttackVersion } from '../../attacks/autoattack.js';
import { expectOneOf } from '../../util/validate.js';
import type { AttackLoss } from '../../attacks/gradients.js';
import { progressBar } from './progress.js';

interface AttackCliOptions {
  model: string;
  dataset: string;
  attack: string;
  eps?: string;
  limit?: string;
  loss: string;
  steps?: string;
  seed: string;
  quick?: boolean;
  recheck: boolean;
  sweepMethod: string;
  version: string;
  norm: string;
  json?: boolean;
}

function parseList(s: string | undefined, name: string): number[] | undefined {
  if (s === undefined) return undefined;
  const v = s.split(',').map((t) => Number(t.trim()));
  if (!v.length || v.some((x) => !Number.isFinite(x) || x < 0)) throw new ValueError(`Expected a comma-separated list of numbers >= 0 for ${name} but received "${s}"`);
  return v;
}

export function registerAttack(program: Command): void {
  program
    .command('attack')
    .description('attack a model on a data set: accuracy vs eps (fgsm, pgd, square) or perturbation sizes (deepfool, jsma, cw)')
    .requiredOption('--model <file>', 'ONNX model')
    .option('--dataset <spec>', 'data set spec', 'mnist')
    .requiredOption('--attack <name>', 'fgsm | pgd | deepfool | jsma | cw | square | autoattack')
    .option('--eps <list>', 'budgets, comma-separated (fgsm default: 0:0.005:0.4)')
    .option('--limit <n>', 'first N test examples')
    .option('--loss <name>', 'mse (the paper, on the output) | ce (on the pre-activation) | margin', 'ce')
    .option('--steps <n>', 'iterations (pgd steps, deepfool/jsma/cw max iterations, square queries)')
    .option('--seed <n>', 'seed', '0')
    .option('--quick', 'the quick data subset')
    .option('--sweep-method <m>', "fgsm: closed-form (first layer piecewise linear in eps) | direct (whole network at every x')", 'closed-form')
    .option('--version <v>', 'autoattack: standard (APGD-CE, APGD-T, FAB-T, Square) | plus', 'standard')
    .option('--norm <p>', 'autoattack: linf | l2', 'linf')
    .option('--no-recheck', 'skip the ONNX Runtime re-check')
    .option('--json', 'print one JSON object as the last line')
    .action(async (o: AttackCliOptions) => {
      const t0 = performance.now();
      const seed = Number(o.seed);
      const net = await loadOnnx(o.model);
      const data = await loadDataset(o.dataset, { quick: o.quick, seed });
      const test = o.limit ? head(data.test, Number(o.limit)) : data.test;
      const eps = parseList(o.eps, '--eps');
      const loss = o.loss as AttackLoss;
      const steps = o.steps === undefined ? undefined : Number(o.steps);
      const bar = o.json ? undefined : progressBar();
      const onProgress = bar?.update;
      let out: Record<string, unknown>;
      if (o.attack === 'fgsm') {
        const method = o.sweepMethod as SweepMethod;
        const r = await fgsmSweep(net, test.x, test.y, { epsilons: eps ?? epsRange(), loss, method, onProgress });
        out = { attack: 'fgsm', loss, method, n: r.n, epsilons: r.epsilons, accuracy: r.accuracy };
        if (o.recheck) {
          // Re-check the FGSM verdicts at each eps through the attack path + ONNX Runtime.
          const a = await new FGSM({ loss }).run(net, test.x, test.y, { epsilons: r.epsilons.filter((e) => e > 0).slice(0, 81) });
          const rc = await recheckWithOrt(net, a, test.y);
          out.recheck = { confirmed: rc.confirmedCount, rejected: rc.rejected, disagreements: rc.disagreements.map((d) => d.rows.length) };
        }
      } else if (o.attack === 'autoattack') {
        const version = expectOneOf(o.version, '--version', AUTOATTACK_VERSIONS.filter((v) => v !== 'custom')) as AutoAttackVersion;
        const norm = expectOneOf(o.norm, '--norm', ['linf', 'l2'] as const);
        const perEpsilon: Record<string, unknown>[] = [];
        let cleanAccuracy = 0;
        const all = await autoAttackSweep(net, test.x, test.y, { epsilons: eps ?? [0.1, 0.2, 0.3], norm, version, seed, recheck: o.recheck, onProgress, shape: test.shape, ...(steps ? { iterations: steps } : {}) });
        for (const r of all) {
          const e = r.eps;
          const line = `eps ${e}: robust accuracy ${(100 * r.robustAccuracy).toFixed(1)} % (clean ${(100 * r.cleanAccuracy).toFixed(1)} %; ${r.stages.map((s) => `${s.attack} ${(100 * s.robustAccuracy).toFixed(1)} %`).join(', ')})`;
          if (!o.json) {
            bar?.stop();
            console.error(line);
            for (const w of r.warnings) console.error(`  warning: ${w}`);
          }
          cleanAccuracy = r.cleanAccuracy;
          perEpsilon.push({ epsilon: e, robustAccuracy: r.robustAccuracy, stages: r.stages, warnings: r.warnings, checks: r.checks.map((c) => ({ id: c.id, fired: c.fired, value: c.value })), maxPerturbation: r.maxPerturbation, seconds: r.seconds });
          if (r.warnings.length === 0 && !o.json) console.error('  checks: none fired');
        }
        out = { attack: 'autoattack', version, norm, n: test.n, cleanAccuracy, recheck: o.recheck, perEpsilon };
      } else {
        let a: Attack;
        switch (o.attack) {
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
          default:
            throw new ValueError(`Expected one of fgsm, pgd, deepfool, jsma, cw, square, autoattack for --attack but received "${o.attack}"`);
        }
        const needsEps = o.attack === 'pgd' || o.attack === 'square';
        const r = await a.run(net, test.x, test.y, { epsilons: eps ?? (needsEps ? [0.1, 0.2, 0.3] : undefined), seed, onProgress });
        const s = summarize(r, test.x, test.y);
        out = { ...s };
        if (o.recheck) {
          const rc = await recheckWithOrt(net, r, test.y);
          out.recheck = { confirmed: rc.confirmedCount, rejected: rc.rejected, disagreements: rc.disagreements.map((d) => d.rows.length) };
          (out as { perEpsilon: { successRate: number; confirmedSuccessRate?: number }[] }).perEpsilon.forEach((p, e) => {
            p.confirmedSuccessRate = rc.confirmedCount[e] / s.n;
          });
        }
      }
      bar?.stop();
      out.seconds = (performance.now() - t0) / 1000;
      if (o.json) console.log(JSON.stringify(out));
      else console.log(JSON.stringify(out, null, 2));
    });
}
