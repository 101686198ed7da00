/**
 * nrem reproduce: the paper's study (experiments.md) end to end — train, defend, sleep,
 * attack, distort, over seeds — into DIR/results.json, DIR/report.md and DIR/report.html.
 * Resumable: run it again with the same --out and it redoes nothing that finished.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyOverrides, builtinSpec, BUILTIN_SPECS, validateSpec, type ExperimentSpec, type SpecOverrides } from '../../experiments/spec.js';
import { commentedSpec, parseSpecText } from '../../experiments/spec-doc.js';
import { readArch } from '../../model/arch.js';
import { loadPresetFile, PRESET_NAMES } from '../../sleep/presets.js';
import { createHash } from 'node:crypto';
import { loadOnnx } from '../../model/onnx.js';
import { loadDataset } from '../../data/index.js';
import { inputWarnings } from '../warnings.js';
import { makeReporter } from '../../experiments/progress.js';
import { UnitTimings } from '../../experiments/unit-timings.js';
import { Timings } from '../timings.js';
// The runner, its operations and the report (vega: ~0.6 s to import) load when a study runs, not at every nrem command.
import { FormatError, NremError } from '../../errors.js';
import { ValueError } from '../../errors.js';
import { DirStore, type Store } from '../../experiments/store.js';
import type { Coordinator } from '../../distributed/coordinator.js';
import { optionalInteger, UsageError } from '../parse.js';
import { JSON_FILE_LIMIT, MODEL_FILE_LIMIT, prepareOutputDir, readInputFile, readInputFileSync } from '../../util/files.js';

interface ReproduceOpts {
  spec: string;
  quick?: boolean;
  seeds?: string;
  out?: string;
  features?: string;
  dataset?: string;
  model?: string;
  arch?: string;
  recipe?: string;
  preset?: string;
  printSpec?: string | boolean;
  json?: boolean;
  quiet?: boolean;
  timings?: boolean;
  redis?: string;
  store?: string;
  queue?: string;
}

const RECIPE_NAMES = ['paper', 'paper-octave', 'modern'] as const;

/** A spec file: JSON with // comments allowed (as --print-spec writes it), checked field by field. */
function readSpecFile(file: string): ExperimentSpec {
  const bytes = readInputFileSync(file, { maxBytes: JSON_FILE_LIMIT, what: 'experiment spec' });
  const spec = parseSpecText(new TextDecoder().decode(bytes), file);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new FormatError(`${file}: expected a JSON object (an experiment spec)`);
  try {
    return validateSpec(spec as ExperimentSpec);
  } catch (err) {
    // A bad value inside the file is bad input (exit status 3), named by file and field.
    if (err instanceof NremError && (err.code === 'ERR_VALUE' || err.code === 'ERR_ARGUMENT')) throw new ValueError(`${file}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * The spec that runs: a built-in one (its quick version with --quick) or a file, with the
 * command line's flags applied to either (spec.ts applyOverrides: the flags win).
 */
export function loadSpec(name: string, o: Omit<SpecOverrides, 'quick' | 'seeds'> & { quick?: boolean; seeds?: number }): ExperimentSpec {
  if ((BUILTIN_SPECS as readonly string[]).includes(name)) {
    const spec = builtinSpec(name, { quick: o.quick, seeds: o.seeds, features: o.features });
    return validateSpec(applyOverrides(spec, { ...o, quick: undefined, seeds: undefined, features: undefined }));
  }
  if (name.endsWith('.json') || name.endsWith('.jsonc') || /[\\/]/.test(name)) return validateSpec(applyOverrides(readSpecFile(name), o));
  throw new UsageError(`--spec: expected one of ${BUILTIN_SPECS.join(', ')} or a spec .json file but received ${JSON.stringify(name)}`);
}

/** The command line's changes to the spec (checked here: a mistyped flag is a usage error). */
async function overridesOf(o: ReproduceOpts): Promise<SpecOverrides & { seeds?: number }> {
  const seeds = optionalInteger(o.seeds, '--seeds', { min: 1, max: 100 });
  if (o.recipe !== undefined && !(RECIPE_NAMES as readonly string[]).includes(o.recipe))
    throw new UsageError(`--recipe: expected one of ${RECIPE_NAMES.join(', ')} but received ${JSON.stringify(o.recipe)}`);
  if (o.arch !== undefined) {
    if (o.model) throw new UsageError('--arch describes the control nrem trains; with --model the control is the given network (its architecture is used)');
    readArch(o.arch); // checked now, not at the first unit
  }
  let sleep: SpecOverrides['sleep'];
  if (o.preset !== undefined) {
    if (o.preset === 'tune' || (PRESET_NAMES as readonly string[]).includes(o.preset)) sleep = { preset: o.preset };
    else if (o.preset.endsWith('.json') || existsSync(o.preset)) {
      const { preset, ...parameters } = await loadPresetFile(o.preset);
      sleep = { preset: preset ?? 'mnist-fgsm', parameters: parameters as Record<string, unknown> };
    } else throw new UsageError(`--preset: expected tune, a preset name (${PRESET_NAMES.join(', ')}) or a JSON file but received ${JSON.stringify(o.preset)}`);
  }
  let model: SpecOverrides['model'];
  if (o.model) {
    const bytes = await readInputFile(o.model, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
    model = { path: resolve(o.model), sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return { quick: o.quick, seeds, features: o.features, dataset: o.dataset, model, arch: o.arch, recipe: o.recipe as SpecOverrides['recipe'], sleep };
}

/** A given control against the spec's data: another data set than it records, or inputs outside its range (stderr and the JSON). */
async function controlWarnings(spec: ExperimentSpec): Promise<string[]> {
  const net = await loadOnnx(spec.control!.model);
  const { test } = await loadDataset(spec.data, { quick: spec.quick, seed: spec.seeds[0] });
  return inputWarnings(net, test, spec.control!.model);
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
    .option('--dataset <spec>', 'run the study on this data set: mnist, fashion-mnist, mnist-idx:DIR, patches[:k=v,…], features:FILE')
    .option('--model <file.onnx>', "your network as the control (every defence starts from it or is trained to its architecture; without --preset, sleep is tuned for it on a validation split)")
    .option('--arch <arch>', 'architecture of the control nrem trains (as nrem train --arch: "784,1200,10", "conv:16x5,pool:max2,dense:128,10" or a .json file)')
    .option('--recipe <name>', `training recipe of the control (or, with --model, of the defences trained to its architecture): ${RECIPE_NAMES.join(', ')}`)
    .option('--preset <name|file.json|tune>', 'sleep parameters: a preset, a preset file, or tune (searched by nrem tune on validation rows)')
    .option('--print-spec [name]', 'print the complete spec that would run (commented JSON, flags applied) and exit; edit it and pass it back with --spec FILE')
    .option('--json', 'no progress; print one JSON summary as the last line of stdout')
    .option('--quiet', 'no progress output')
    .option('--timings', "print where the wall time went on stderr: per unit kind (computed, reused, total and max seconds) and the run's split (load, units, report, write)")
    .option('--redis <url>', 'run the units on `nrem worker`s connected to this Redis (docs/distributed.md)')
    .option('--store <dir|redis|url>', 'where unit records live: dir (OUT/units, default; shared folder for workers), redis (the --redis Redis) or a redis:// URL')
    .option('--queue <name>', 'with --redis: the queue name the workers use')
    .action(async (o: ReproduceOpts) => {
      const tm = new Timings();
      const overrides = await overridesOf(o);
      if (o.printSpec !== undefined) {
        const name = typeof o.printSpec === 'string' ? o.printSpec : o.spec;
        const spec = loadSpec(name, overrides);
        process.stdout.write(
          commentedSpec(spec, [
            `nrem reproduce spec "${spec.name}"${spec.quick ? ' (quick)' : ''}: every field is documented in docs/reproduce.md.`,
            'Save it as FILE.json, edit it, and run: nrem reproduce --spec FILE.json (comments allowed; flags on the command line still apply).',
          ]),
        );
        return;
      }
      const spec = loadSpec(o.spec, overrides);
      const out = resolve(o.out ?? join('nrem-out', `${spec.name}${spec.quick ? '-quick' : ''}`));
      prepareOutputDir(out, '--out');
      const warnings = spec.control ? await controlWarnings(spec) : [];
      const [{ runExperiment }, { realOps }, { answers }] = await Promise.all([
        import('../../experiments/runner.js'),
        import('../../experiments/ops-real.js'),
        import('../../report/report.js'),
      ]);
      const reporter = makeReporter(o.json || o.quiet ? 'quiet' : 'auto');
      const unitTimes = new UnitTimings();
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
        const r = await runExperiment(spec, { out, ops: realOps(), store, executor: coord && dist?.distributedExecutor(coord), signal: ac.signal,
          onEvent: (e) => (unitTimes.observe(e), reporter(e)),
          onPhase: (p) => tm.lap(p),
        });
        reporter.stop();
        const wall = (performance.now() - t0) / 1000;
        if (o.timings) for (const line of ['unit timings (this run; units found in the store cost nothing):', ...unitTimes.lines()]) process.stderr.write(`nrem: ${line}\n`);
        tm.report(o.timings);
        if (o.json) {
          console.log(JSON.stringify({ ok: true, out, results: join(out, 'results.json'), report: join(out, 'report.html'), data: spec.data, control: r.control, units: r.units, warnings, wallSeconds: wall, timings: tm.toJSON(), unitTimings: unitTimes.toJSON() }));
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
