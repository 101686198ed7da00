import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { loadDataset } from '../../data/index.js';
import { saveOnnx } from '../../model/onnx.js';
import { createNetwork, evaluate, getRecipe, recipeOptions, train } from '../../train/train.js';
import { ShapeError } from '../../errors.js';
import { archFor, readArch, type Architecture } from '../../model/arch.js';
import { optionalInteger, optionalNumber, parseIntegerList, parseSeed } from '../parse.js';
import { prepareOutputFile } from '../../util/files.js';
import { checkChainTrainingMemory, checkTrainingMemory } from '../../util/memory.js';

interface TrainCliOptions {
  dataset: string;
  arch: string;
  recipe: string;
  seed: string;
  out: string;
  epochs?: string;
  lr?: string;
  batchSize?: string;
  quick?: boolean;
  json?: boolean;
}

/** --arch: layer sizes like 784,1200,1200,10 (at least two integers in [1, 2^24]), a CNN description or a .json file. */
export function parseArchFlag(s: string, flag = '--arch'): number[] | Architecture {
  if (/^[\d.e+\s,-]+$/i.test(s)) return parseIntegerList(s, flag, { min: 1, max: 1 << 24, minCount: 2 });
  return readArch(s);
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a network with a recipe (the paper\'s by default) and save it as ONNX')
    .option('--dataset <spec>', 'data set (see loadDataset)', 'mnist')
    .option('--arch <arch>', 'layer sizes, input first (784,1200,1200,10), a CNN (conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10), lenet (that CNN) or a .json file', '784,1200,1200,10')
    .option('--recipe <name>', 'paper | paper-octave (the paper\'s, drawing from the authors\' Octave random stream) | modern', 'paper')
    .option('--seed <n>', 'seed of initialisation, shuffles and dropout', '1')
    .requiredOption('--out <file.onnx>', 'where to write the trained network')
    .option('--epochs <n>', 'override the recipe\'s epochs')
    .option('--lr <rate>', 'override the recipe\'s learning rate')
    .option('--batch-size <n>', 'override the recipe\'s batch size')
    .option('--quick', 'a small subset of the data (smoke runs)')
    .option('--json', 'print one JSON object')
    .action(async (o: TrainCliOptions) => {
      const t0 = performance.now();
      const recipe = getRecipe(o.recipe as never);
      const seed = parseSeed(o.seed);
      const epochs = optionalInteger(o.epochs, '--epochs', { min: 1, max: 1_000_000 });
      const lr = optionalNumber(o.lr, '--lr', { min: Number.MIN_VALUE });
      const batchSize = optionalInteger(o.batchSize, '--batch-size', { min: 1, max: 1 << 24 });
      const archArg = parseArchFlag(o.arch);
      if (Array.isArray(archArg)) checkTrainingMemory(archArg, batchSize ?? recipe.batchSize, recipe.biases);
      prepareOutputFile(o.out, '--out');
      const split = await loadDataset(o.dataset, { quick: o.quick, seed });
      const arch = archFor(archArg, split.train);
      const opts = recipeOptions(recipe, seed);
      if (epochs !== undefined) opts.epochs = epochs;
      if (lr !== undefined) opts.lr = lr;
      if (batchSize !== undefined) opts.batchSize = batchSize;
      const net = createNetwork(recipe, arch, seed);
      if (!Array.isArray(arch)) checkChainTrainingMemory(net, opts.batchSize);
      if (split.train.classes > net.outputSize)
        throw new ShapeError(`Expected --arch to end with at least ${split.train.classes} outputs (the data's classes) but it ends with ${net.outputSize}`);
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      const bar = !o.json && process.stderr.isTTY ? new SingleBar({ format: 'train |{bar}| {value}/{total} batches, epoch {epoch}, loss {loss}' }, Presets.shades_classic) : undefined;
      let started = false;
      try {
        const r = await train(net, split.train, {
          ...opts,
          signal: ac.signal,
          onProgress: (p) => {
            if (!bar) return;
            if (!started) {
              bar.start(p.total, 0, { epoch: 1, loss: '-' });
              started = true;
            }
            bar.update(p.done, { epoch: p.epoch, loss: Number(p.loss).toFixed(4) });
          },
        });
        bar?.stop();
        const ev = await evaluate(net, split.test);
        await saveOnnx(net, o.out);
        const result = {
          command: 'train',
          dataset: split.train.name,
          recipe: recipe.name,
          arch: Array.isArray(arch) ? arch : o.arch,
          layers: net.spec().layers,
          seed,
          epochs: r.epochs,
          epochLoss: r.epochLoss,
          epochSeconds: r.epochSeconds,
          testAccuracy: ev.accuracy,
          testN: ev.n,
          out: o.out,
          seconds: (performance.now() - t0) / 1000,
        };
        if (o.json) console.log(JSON.stringify(result));
        else {
          console.log(`trained ${Array.isArray(arch) ? arch.join('-') : o.arch} (${recipe.name} recipe, seed ${seed}) on ${split.train.name}: ${r.epochs} epochs, ${r.seconds.toFixed(1)} s`);
          console.log(`loss per epoch: ${r.epochLoss.map((v) => v.toFixed(4)).join(', ')}`);
          console.log(`test accuracy ${(ev.accuracy * 100).toFixed(2)}% on ${ev.n} rows; saved ${o.out}`);
        }
      } finally {
        bar?.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
