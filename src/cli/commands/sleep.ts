/**
 * nrem sleep --model control.onnx --dataset mnist --preset mnist-fgsm --seed 1 --out slept.onnx [--json]
 *
 * Sleeps a ReLU network (MLP or CNN) on the training split of a data set and writes the slept
 * network. --preset takes a preset name or a JSON file of parameters (see loadPresetFile); --beta,
 * --bias, --conv-stdp and --layers override it (sleep-general.md).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadDataset } from '../../data/index.js';
import { loadOnnx, saveOnnx } from '../../model/onnx.js';
import { getPreset, loadPresetFile, PRESET_NAMES, type PresetName, type SleepParameters } from '../../sleep/presets.js';
import { sleep } from '../../sleep/sleep.js';
import { progressBar } from './progress.js';
import { ValueError } from '../../errors.js';
import { inputWarnings, warn } from '../warnings.js';
import { optionalInteger, optionalNumberList, parseChoice, parseIntegerList, parseSeed } from '../parse.js';
import { prepareOutputFile } from '../../util/files.js';

interface SleepCliOptions {
  model: string;
  dataset: string;
  preset: string;
  seed: string;
  out: string;
  steps?: string;
  beta?: string;
  bias?: string;
  convStdp?: string;
  layers?: string;
  quick?: boolean;
  json?: boolean;
}

async function presetFrom(value: string): Promise<{ preset?: PresetName } & Partial<SleepParameters>> {
  if ((PRESET_NAMES as readonly string[]).includes(value)) return { preset: getPreset(value).name };
  if (value.endsWith('.json') || existsSync(value)) return loadPresetFile(value);
  throw new ValueError(`Expected a preset name (${PRESET_NAMES.join(', ')}) or a JSON file for --preset but received "${value}"`);
}

export function registerSleep(program: Command): void {
  program
    .command('sleep')
    .description('run the sleep phase (Tadros et al. 2020) on a ReLU network (MLP or CNN) and save the slept network')
    .requiredOption('--model <file>', 'ONNX model of a ReLU network: dense, conv and pooling layers, any head')
    .option('--dataset <spec>', 'data set whose training split is the sleep input', 'mnist')
    .option('--preset <name|file.json>', 'preset name or JSON parameter file', 'mnist-fgsm')
    .option('--seed <n>', 'seed of the input spikes', '1')
    .option('--steps <n>', 'override the number of steps')
    .option('--beta <list>', 'one threshold scale per layer of IF neurons (dense, conv, average-pool), comma-separated')
    .option('--bias <mode>', 'biases during sleep: ignore (as the paper) or current (a constant input current)')
    .option('--conv-stdp <mode>', 'shared-kernel STDP of conv layers: sum or mean over positions')
    .option('--layers <which>', "plastic layers: all, dense, conv, or chain indices (0,2)")
    .option('--quick', 'use the quick subset of the data set')
    .requiredOption('--out <file>', 'where to write the slept ONNX model')
    .option('--json', 'print one JSON object')
    .action(async (o: SleepCliOptions) => {
      const t0 = performance.now();
      const seed = parseSeed(o.seed);
      const steps = optionalInteger(o.steps, '--steps', { min: 1 });
      const { preset, ...overrides } = await presetFrom(o.preset);
      if (steps !== undefined) overrides.steps = steps;
      const beta = optionalNumberList(o.beta, '--beta', { min: Number.MIN_VALUE, max: 1e6, maxCount: 1000 });
      if (beta !== undefined) overrides.beta = beta;
      if (o.bias !== undefined) overrides.bias = parseChoice(o.bias, '--bias', ['ignore', 'current'] as const);
      if (o.convStdp !== undefined) overrides.convStdp = parseChoice(o.convStdp, '--conv-stdp', ['sum', 'mean'] as const);
      if (o.layers !== undefined)
        overrides.layers = ['all', 'dense', 'conv'].includes(o.layers) ? (o.layers as 'all' | 'dense' | 'conv') : parseIntegerList(o.layers, '--layers', { min: 0, max: 1000 });
      prepareOutputFile(o.out, '--out');
      const net = await loadOnnx(o.model);
      const { train, test } = await loadDataset(o.dataset, { quick: !!o.quick, seed });
      const inputs = await inputWarnings(net, test);
      const before = await net.accuracy(test.x, test.y);
      const bar = o.json ? undefined : progressBar();
      const { network, stats } = await sleep(net, train, { preset, ...overrides, seed, onProgress: bar?.update });
      bar?.stop();
      const after = await network.accuracy(test.x, test.y);
      await saveOnnx(network, o.out);
      const result = {
        model: o.model,
        dataset: train.name,
        out: o.out,
        preset: o.preset,
        seed,
        beta: stats.parameters.beta,
        bias: stats.parameters.bias,
        convStdp: stats.parameters.convStdp,
        plasticLayers: stats.parameters.layers,
        layers: stats.layers,
        steps: stats.steps,
        sleepSeconds: stats.seconds,
        wallSeconds: (performance.now() - t0) / 1000,
        spikes: stats.spikes,
        neuronsFired: stats.neuronsFired,
        weightsChanged: stats.weightsChanged,
        potentiation: stats.potentiation,
        depression: stats.depression,
        meanAbsChange: stats.meanAbsChange,
        scaleFactors: stats.scaleFactors,
        accuracyBefore: before,
        accuracyAfter: after,
        warnings: [...inputs, ...warn(stats.warnings)],
      };
      if (o.json) {
        console.log(JSON.stringify(result));
      } else {
        console.log(`slept ${o.model} on ${train.name}: ${stats.steps} steps in ${stats.seconds.toFixed(3)} s`);
        console.log(`  layers               input / ${stats.layers.join(' / ')}`);
        console.log(`  spikes per layer     ${stats.spikes.join(' / ')}`);
        console.log(`  weights changed      ${stats.weightsChanged.join(' / ')}`);
        console.log(`  potentiation/depr.   ${stats.potentiation.join(' / ')}  vs  ${stats.depression.join(' / ')}`);
        console.log(`  clean accuracy       ${(100 * before).toFixed(2)} % → ${(100 * after).toFixed(2)} %`);
        console.log(`  written              ${o.out}`);
      }
    });
}
