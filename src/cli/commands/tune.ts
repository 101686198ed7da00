/**
 * nrem tune --model m.onnx --dataset mnist --objective noise:0.3,fgsm:0.1 --budget 200
 *           --algorithm ga|cmaes --out tuned.json [--json]
 * Searches sleep parameters (src/tune/tune.ts); writes tuned.json (a preset file for
 * `nrem sleep --preset tuned.json`), tuned.history.json and tuned.checkpoint.json. Run it
 * again with the same --out after a kill or Ctrl-C and it continues from the last generation.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadDataset } from '../../data/index.js';
import { loadOnnx } from '../../model/onnx.js';
import {
  BIAS_MODES,
  CONV_STDP,
  NORMALIZATIONS,
  PRESET_NAMES,
  SLEEP_INPUTS,
  getPreset,
  type BiasMode,
  type ConvStdp,
  type Normalization,
  type PresetName,
  type SleepInput,
  type SleepParameters,
} from '../../sleep/presets.js';
import { ifLayerCount } from '../../sleep/sleep.js';
import { PLASTIC_CHOICES, parseBounds, type PlasticChoice } from '../../tune/space.js';
import { DEFAULT_OBJECTIVE } from '../../tune/objective.js';
import { tune, tuneFiles, type Algorithm, type CandidateRunner, type TuneOptions } from '../../tune/tune.js';
import { readFileSync } from 'node:fs';
import type { Coordinator } from '../../distributed/coordinator.js';
import type { Store } from '../../experiments/store.js';
import { optionalInteger, parseChoice, parseNumber, parseSeed, UsageError } from '../parse.js';
import { prepareOutputFile } from '../../util/files.js';
import { datasetFor, inputWarnings } from '../warnings.js';

interface CliOptions {
  model: string;
  dataset?: string;
  quick?: boolean;
  dataSeed: string;
  objective: string;
  penalty: string;
  tolerance: string;
  fgsmLoss: string;
  budget: string;
  algorithm: string;
  popSize?: string;
  seed: string;
  sleepSeed: string;
  valSize?: string;
  valSplit: string;
  bounds?: string;
  searchInput?: string;
  searchNormalization?: string;
  searchBias?: string;
  searchConvStdp?: string;
  searchLayers?: string;
  bias?: string;
  convStdp?: string;
  layers?: string;
  base: string;
  baseline: string;
  batch?: string;
  out: string;
  json?: boolean;
  redis?: string;
  store?: string;
  queue?: string;
}

function list<T extends string>(s: string | undefined, options: readonly T[], name: string): T[] | undefined {
  if (s === undefined) return undefined;
  const v = s.split(',').map((x) => x.trim());
  for (const x of v) if (!options.includes(x as T)) throw new UsageError(`Expected one of ${options.join(', ')} in ${name} but received ${JSON.stringify(x)}`);
  return v as T[];
}


export function registerTune(program: Command): void {
  program
    .command('tune')
    .description('search the sleep parameters of a network (genetic algorithm or CMA-ES) on held-out training rows')
    .requiredOption('--model <file>', 'the .onnx network (a ReLU MLP or CNN; one beta is searched per layer of IF neurons)')
    .option('--dataset <spec>', 'data set spec (its TRAINING split is used; the test split never) (default: the data set the model records, else mnist)')
    .option('--quick', 'use the seeded quick subset of the data set')
    .option('--data-seed <n>', 'seed of the quick subset / generated data', '0')
    .option('--objective <terms>', 'comma list of clean | noise:v | blur:σ | saltpepper:p | contrast:c | fgsm:ε [:weight]', DEFAULT_OBJECTIVE)
    .option('--penalty <x>', 'score points lost per point of clean validation accuracy lost', '1')
    .option('--tolerance <x>', 'clean accuracy loss (fraction) tolerated without penalty', '0')
    .option('--fgsm-loss <name>', 'loss of the fgsm terms\' gradient: ce (cross-entropy, as every attack) | mse (the paper\'s)', 'ce')
    .option('--budget <n>', 'candidates slept and scored', '200')
    .option('--algorithm <name>', 'ga | cmaes', 'ga')
    .option('--pop-size <n>', 'candidates per generation')
    .option('--seed <n>', 'seed of the search and of the validation distortions', '0')
    .option('--sleep-seed <n>', 'the one sleep seed of every candidate', '1')
    .option('--val-size <n>', 'validation rows held out from the training set (default min(1000, n/5))')
    .option('--val-split <how>', 'tail (the last rows) | stratified', 'tail')
    .option('--bounds <list>', 'e.g. maxRate=5:1000,beta=0.5:100,beta3=1:50:lin,steps=500:30000')
    .option('--search-input <list>', `also search the sleep input among ${SLEEP_INPUTS.join(', ')}`)
    .option('--search-normalization <list>', `also search the normalisation among ${NORMALIZATIONS.join(', ')}`)
    .option('--search-bias <list>', `also search the bias mode among ${BIAS_MODES.join(', ')}`)
    .option('--search-conv-stdp <list>', `also search the shared-kernel rule among ${CONV_STDP.join(', ')}`)
    .option('--search-layers <list>', `also search the plastic layers among ${PLASTIC_CHOICES.join(', ')}`)
    .option('--bias <mode>', `bias mode when not searched: ${BIAS_MODES.join(' | ')} (default: the base preset's)`)
    .option('--conv-stdp <mode>', `shared-kernel rule when not searched: ${CONV_STDP.join(' | ')} (default: the base preset's)`)
    .option('--layers <which>', `plastic layers when not searched: ${PLASTIC_CHOICES.join(' | ')} (default: the base preset's)`)
    .option('--base <preset>', 'preset giving the fields that are not searched', 'mnist-fgsm')
    .option('--baseline <preset|none|auto>', 'preset scored alongside for comparison (auto: mnist-fgsm where it fits the network)', 'auto')
    .option('--batch <n>', 'sleeps per native call (default: a whole generation)')
    .requiredOption('--out <file>', 'preset file to write (history and checkpoint beside it)')
    .option('--json', 'print one JSON object')
    .option('--redis <url>', 'sleep and score the candidates on `nrem worker`s connected to this Redis (docs/distributed.md)')
    .option('--store <dir|redis|url>', 'with --redis: where candidates are kept: dir (OUT-stem.store/units, default; a folder shared with the workers), redis, or a redis:// URL')
    .option('--queue <name>', 'with --redis: the queue name the workers use')
    .action(async (o: CliOptions) => {
      const t0 = performance.now();
      // Every flag is checked, and --out proven writable, before the model and data are loaded.
      const dataSeed = parseSeed(o.dataSeed, '--data-seed');
      const seed = parseSeed(o.seed, '--seed');
      const sleepSeed = parseSeed(o.sleepSeed, '--sleep-seed');
      const budget = optionalInteger(o.budget, '--budget', { min: 1, max: 1_000_000 });
      const popSize = optionalInteger(o.popSize, '--pop-size', { min: 2, max: 100_000 });
      const valSize = optionalInteger(o.valSize, '--val-size', { min: 1 });
      const batch = optionalInteger(o.batch, '--batch', { min: 1, max: 100_000 });
      const penalty = parseNumber(o.penalty, '--penalty', { min: 0, max: 1e6 });
      const tolerance = parseNumber(o.tolerance, '--tolerance', { min: 0, max: 1 });
      const algorithm = parseChoice(o.algorithm, '--algorithm', ['ga', 'cmaes'] as const);
      const valSplit = parseChoice(o.valSplit, '--val-split', ['tail', 'stratified'] as const);
      prepareOutputFile(o.out, '--out');
      const net = await loadOnnx(o.model);
      const dataset = datasetFor(o.dataset, net);
      const split = await loadDataset(dataset, { quick: o.quick, seed: dataSeed });
      // The search runs on training rows only: those are what the model is checked against.
      const warnings = await inputWarnings(net, split.train, o.model);
      const layers = ifLayerCount(net);
      const baseName = o.base as PresetName;
      if (!PRESET_NAMES.includes(baseName)) throw new UsageError(`Expected one of ${PRESET_NAMES.join(', ')} for --base but received ${JSON.stringify(o.base)}`);
      const fixed: Partial<SleepParameters> = {};
      if (o.bias !== undefined) fixed.bias = parseChoice(o.bias, '--bias', BIAS_MODES);
      if (o.convStdp !== undefined) fixed.convStdp = parseChoice(o.convStdp, '--conv-stdp', CONV_STDP);
      if (o.layers !== undefined) fixed.layers = parseChoice(o.layers, '--layers', PLASTIC_CHOICES);
      const { name: _n, description: _d, ...preset } = getPreset(baseName);
      const base: TuneOptions['base'] = Object.keys(fixed).length ? { ...preset, ...fixed } : baseName;
      let baseline: TuneOptions['baseline'] = null;
      if (o.baseline === 'auto') baseline = undefined;
      else if (o.baseline !== 'none') {
        if (!PRESET_NAMES.includes(o.baseline as PresetName))
          throw new UsageError(`Expected none or one of ${PRESET_NAMES.join(', ')} for --baseline but received ${JSON.stringify(o.baseline)}`);
        baseline = o.baseline as PresetName;
      }
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      const tty = !o.json && process.stderr.isTTY;
      const bar = tty
        ? new cliProgress.SingleBar({ format: 'tune [{bar}] {value}/{total} gen {gen} best {best} baseline {baseline}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : null;
      let started = false;
      let coord: Coordinator | undefined;
      let store: Store | undefined;
      try {
        let candidates: CandidateRunner | undefined;
        if (o.redis) {
          const dist = await import('../../distributed/index.js'); // BullMQ takes a second to import: only when wanted
          coord = await dist.Coordinator.connect({ redis: o.redis, queue: o.queue });
          store = dist.storeFor(o.store, tuneFiles(o.out).history.replace(/\.history\.json$/, '.store'), o.redis);
          candidates = dist.remoteCandidates(coord, {
            store,
            model: new Uint8Array(readFileSync(o.model)),
            data: { dataset, quick: o.quick, seed: Number(o.dataSeed) },
            onLog: (m) => process.stderr.write(`${m}\n`),
          });
        }
        const r = await tune(net, split, {
          candidates,
          algorithm: algorithm as Algorithm,
          budget,
          popSize,
          seed,
          sleepSeed,
          objective: o.objective,
          penalty,
          tolerance,
          loss: parseChoice(o.fgsmLoss, '--fgsm-loss', ['ce', 'mse'] as const),
          valSize,
          valSplit,
          bounds: o.bounds ? parseBounds(o.bounds, layers) : undefined,
          inputs: list<SleepInput>(o.searchInput, SLEEP_INPUTS, '--search-input'),
          normalizations: list<Normalization>(o.searchNormalization, NORMALIZATIONS, '--search-normalization'),
          biases: list<BiasMode>(o.searchBias, BIAS_MODES, '--search-bias'),
          convStdps: list<ConvStdp>(o.searchConvStdp, CONV_STDP, '--search-conv-stdp'),
          plasticLayers: list<PlasticChoice>(o.searchLayers, PLASTIC_CHOICES, '--search-layers'),
          base,
          baseline,
          batch,
          out: o.out,
          signal: ac.signal,
          onProgress: (p) => {
            const fields = { gen: p.generation, best: Number(p.best).toFixed(4), baseline: Number.isNaN(Number(p.baseline)) ? '-' : Number(p.baseline).toFixed(4) };
            if (bar) {
              if (!started) bar.start(p.total, p.done, fields);
              else bar.update(p.done, fields);
              started = true;
            } else if (!o.json) process.stderr.write(`tune: ${p.done}/${p.total} generation ${p.generation} best ${fields.best} baseline ${fields.baseline}\n`);
          },
        });
        bar?.stop();
        const h = r.history;
        const summary = {
          out: r.files?.preset,
          history: r.files?.history,
          checkpoint: r.files?.checkpoint,
          algorithm: h.algorithm,
          budget: h.budget,
          evaluations: h.candidates.length,
          evaluatedNow: r.evaluatedNow,
          resumed: r.resumed,
          generations: r.generations,
          best: { evaluation: r.best.evaluation, score: r.best.score, terms: r.best.terms, parameters: r.best.parameters },
          control: { score: h.control.score, terms: h.control.terms },
          baseline: h.baseline ? { name: h.baseline.name, score: h.baseline.score, terms: h.baseline.terms } : null,
          bestSoFar: h.candidates.map((c) => c.bestSoFar),
          searchSeconds: h.seconds,
          wallSeconds: (performance.now() - t0) / 1000,
          dataset: split.train.name,
          warnings,
        };
        if (o.json) console.log(JSON.stringify(summary));
        else {
          console.log(`best score ${r.best.score.toFixed(4)} (candidate ${r.best.evaluation} of ${h.candidates.length}) ${JSON.stringify(r.best.terms)}`);
          console.log(`control ${h.control.score.toFixed(4)}${h.baseline ? `, ${h.baseline.name} ${h.baseline.score.toFixed(4)}` : ''}`);
          console.log(`wrote ${r.files?.preset}, ${r.files?.history}`);
        }
      } catch (err) {
        bar?.stop();
        if (ac.signal.aborted) process.stderr.write(`nrem tune: interrupted; run the same command again (same --out) to continue from the last generation\n`);
        throw err;
      } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
        await store?.close();
        await coord?.close();
      }
    });
}
