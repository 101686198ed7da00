/**
 * nrem reproduce: the paper's study (experiments.md) end to end — train, defend, sleep,
 * attack, distort, over seeds — into DIR/results.json, DIR/report.md and DIR/report.html.
 * Resumable: run it again with the same --out and it redoes nothing that finished.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { builtinSpec, BUILTIN_SPECS, validateSpec, type ExperimentSpec } from '../../experiments/spec.js';
import { runExperiment } from '../../experiments/runner.js';
import { makeReporter } from '../../experiments/progress.js';
import { realOps } from '../../experiments/ops-real.js';
import { answers } from '../../report/report.js';
import { FormatError } from '../../errors.js';
import { ValueError } from '../../errors.js';
import { DirStore, type Store } from '../../experiments/store.js';
import type { Coordinator } from '../../distributed/coordinator.js';
import { optionalInteger } from '../parse.js';
import { prepareOutputDir, readJsonFile } from '../../util/files.js';

interface ReproduceOpts {
  spec: string;
  quick?: boolean;
  seeds?: string;
  out?: string;
  features?: string;
  json?: boolean;
  quiet?: boolean;
  redis?: string;
  store?: string;
  queue?: string;
}

export function loadSpec(name: string, o: { quick?: boolean; seeds?: number; features?: string }): ExperimentSpec {
  if ((BUILTIN_SPECS as readonly string[]).includes(name)) return builtinSpec(name, o);
  if (name.endsWith('.json') && existsSync(name)) {
    const spec = readJsonFile(name, 'experiment spec');
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new FormatError(`${name}: expected a JSON object (an experiment spec)`);
    if (o.seeds) (spec as ExperimentSpec).seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
    return validateSpec(spec as ExperimentSpec);
  }
  throw new ValueError(`Expected one of ${BUILTIN_SPECS.join(', ')} or a spec .json file for --spec but received ${JSON.stringify(name)}`);
}

export function registerReproduce(program: Command): void {
  program
    .command('reproduce')
    .description("run the paper's study (control, distillation, fine-tuning, PGD training, sleep; FGSM, PGD, Square, transfer, DeepFool, JSMA, C&W, noise, blur) and write results.json + report.md + report.html")
    .option('--spec <name|file.json>', `experiment: ${BUILTIN_SPECS.join(', ')} or a spec file`, 'paper-mnist')
    .option('--quick', 'the quick version: a named subset, fewer seeds and attack examples (minutes)')
    .option('--seeds <n>', 'number of seeds (default: 3, quick: 2)')
    .option('--out <dir>', 'output folder (default nrem-out/<spec>[-quick])')
    .option('--features <file>', 'paper-cub200: the ResNet-50 features file')
    .option('--json', 'no progress; print one JSON summary as the last line of stdout')
    .option('--quiet', 'no progress output')
    .option('--redis <url>', 'run the units on `nrem worker`s connected to this Redis (docs/distributed.md)')
    .option('--store <dir|redis|url>', 'where unit records live: dir (OUT/units, default; shared folder for workers), redis (the --redis Redis) or a redis:// URL')
    .option('--queue <name>', 'with --redis: the queue name the workers use')
    .action(async (o: ReproduceOpts) => {
      const seeds = optionalInteger(o.seeds, '--seeds', { min: 1, max: 100 });
      const spec = loadSpec(o.spec, { quick: o.quick, seeds, features: o.features });
      const out = resolve(o.out ?? join('nrem-out', `${spec.name}${spec.quick ? '-quick' : ''}`));
      prepareOutputDir(out, '--out');
      const reporter = makeReporter(o.json || o.quiet ? 'quiet' : 'auto');
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      const t0 = performance.now();
      // The queue's modules load only for a distributed run (BullMQ takes a second to import).
      const dist = o.redis || o.store ? await import('../../distributed/index.js') : undefined;
      const store: Store = dist ? dist.storeFor(o.store, out, o.redis) : new DirStore(out);
      let coord: Coordinator | undefined;
      try {
        if (dist && o.redis) coord = await dist.Coordinator.connect({ redis: o.redis, queue: o.queue });
        const r = await runExperiment(spec, { out, ops: realOps(), store, executor: coord && dist?.distributedExecutor(coord), signal: ac.signal, onEvent: reporter });
        reporter.stop();
        const wall = (performance.now() - t0) / 1000;
        if (o.json) {
          console.log(JSON.stringify({ ok: true, out, results: join(out, 'results.json'), report: join(out, 'report.html'), units: r.units, wallSeconds: wall }));
        } else {
          if (!o.quiet) {
            console.log(`\n${spec.title}`);
            for (const line of answers(r).headline) console.log(`  - ${line.replace(/\*\*/g, '')}`);
          }
          console.log(`\nwrote ${join(out, 'results.json')}, report.md, report.html (${wall.toFixed(0)} s; ${r.units.computed} units computed, ${r.units.reused} reused)`);
        }
      } catch (err) {
        reporter.stop();
        if (ac.signal.aborted) process.stderr.write(`\nstopped; finished units are kept in ${out} — run the same command again to resume\n`);
        throw err;
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
        await store.close();
        await coord?.close();
      }
    });
}
