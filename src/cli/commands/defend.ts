/**
 * nrem defend: build one baseline defence and save it as ONNX.
 *   --method distillation   teacher + student at T, student deployed at T = 1 (from scratch)
 *   --method finetune       the control (--net) fine-tuned on perturbed examples (--kind)
 *   --method pgd-train      PGD adversarial training (from scratch, or from --net)
 */
import type { Command } from 'commander';
import { loadDataset } from '../../data/index.js';
import { loadOnnx, saveOnnx } from '../../model/onnx.js';
import { derivedFrom, madeFrom } from '../../model/provenance.js';
import { evaluate, getRecipe } from '../../train/train.js';
import { distill } from '../../defenses/distillation.js';
import { finetune, FINETUNE_KINDS, type FinetuneKindName } from '../../defenses/finetune.js';
import { pgdTrain } from '../../defenses/pgd-train.js';
import type { Network } from '../../model/network.js';
import type { RunOptions } from '../../util/control.js';
import { makeReporter } from '../../experiments/progress.js';
import { optionalInteger, parseChoice, parseInteger, parseIntegerList, parseNumber, parseSeed, UsageError } from '../parse.js';
import { prepareOutputFile } from '../../util/files.js';
import { checkTrainingMemory } from '../../util/memory.js';
import { datasetFor, inputWarnings } from '../warnings.js';

interface DefendOpts {
  method: string;
  data?: string;
  quick?: boolean;
  net?: string;
  out: string;
  recipe: string;
  sizes?: string;
  seed: string;
  temperature: string;
  epochs?: string;
  kind: string;
  replace: string;
  eps: string;
  steps: string;
  json?: boolean;
}

const METHODS = ['distillation', 'finetune', 'pgd-train'] as const;

export function registerDefend(program: Command): void {
  program
    .command('defend')
    .description('build a baseline defence (distillation, finetune, pgd-train) and save it as ONNX')
    .requiredOption('--method <m>', 'distillation | finetune | pgd-train')
    .option('--data <spec>', 'data set spec (mnist, fashion-mnist, mnist-idx:DIR, patches, features:FILE) (default: the data set --net records, else mnist)')
    .option('--quick', 'the quick 8,000 / 2,000 subset')
    .option('--net <file.onnx>', 'finetune: the control network (required); pgd-train: start from it')
    .requiredOption('--out <file.onnx>', 'where to write the defended network')
    .option('--recipe <name>', 'training recipe: paper | paper-octave | modern', 'paper')
    .option('--sizes <a,b,c>', 'layer sizes (default 784,1200,1200,10 or the data\'s)')
    .option('--seed <n>', 'seed', '1')
    .option('--temperature <T>', 'distillation temperature', '50')
    .option('--epochs <n>', 'epochs (default: the recipe\'s; finetune 2)')
    .option('--kind <k>', `finetune: ${FINETUNE_KINDS.join(' | ')}`, 'fgsm')
    .option('--replace <n>', 'finetune: leading training images replaced', '5000')
    .option('--eps <e>', 'pgd-train: L-inf budget', '0.1')
    .option('--steps <n>', 'pgd-train: PGD steps', '7')
    .option('--json', 'print one JSON object')
    .action(async (o: DefendOpts) => {
      const t0 = performance.now();
      // Every flag is checked, and the output folder proven writable, before any work.
      const method = parseChoice(o.method, '--method', METHODS);
      const seed = parseSeed(o.seed);
      const given = o.sizes === undefined ? undefined : parseIntegerList(o.sizes, '--sizes', { min: 1, max: 1 << 24, minCount: 2 });
      const recipe = getRecipe(o.recipe as 'paper');
      if (given) checkTrainingMemory(given, recipe.batchSize, recipe.biases);
      const epochs = optionalInteger(o.epochs, '--epochs', { min: 1, max: 1_000_000 });
      const temperature = parseNumber(o.temperature, '--temperature', { min: Number.MIN_VALUE, max: 1e6 });
      const replace = parseInteger(o.replace, '--replace', { min: 0 });
      const eps = parseNumber(o.eps, '--eps', { min: 0, max: 1 });
      const steps = parseInteger(o.steps, '--steps', { min: 1, max: 1_000_000 });
      if (method === 'finetune') {
        if (!o.net) throw new UsageError('Expected --net <control.onnx> for --method finetune');
        parseChoice(o.kind, '--kind', FINETUNE_KINDS);
      }
      prepareOutputFile(o.out, '--out');
      // The network a defence starts from (finetune; pgd-train with --net): its recorded data set is the default.
      const parent = o.net && method !== 'distillation' ? await loadOnnx(o.net) : undefined;
      const dataset = parent ? datasetFor(o.data, parent) : (o.data ?? 'mnist');
      const { train: data, test } = await loadDataset(dataset, { quick: o.quick, seed });
      const warnings = parent ? await inputWarnings(parent, data, o.net) : [];
      const sizes = given ?? [data.dims, ...(data.dims === 784 ? [1200, 1200] : [100]), data.classes];
      const reporter = makeReporter(o.json ? 'quiet' : 'auto');
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      reporter({ type: 'plan', total: 1, weight: 1 });
      const ro: RunOptions = { signal: ac.signal, onProgress: (p) => reporter({ type: 'unit-progress', label: o.method, done: p.done, total: p.total, phase: p.phase }) };
      let net: Network;
      const params = { recipe: o.recipe, seed, ...(epochs !== undefined ? { epochs } : {}) };
      try {
        switch (method) {
          case 'distillation':
            net = (await distill(o.recipe as 'paper', sizes, data, { temperature, epochs, seed, ...ro })).student;
            await madeFrom(net, data, 'distillation', { ...params, sizes, temperature });
            break;
          case 'finetune': {
            net = (await finetune(parent!, data, { kind: o.kind as FinetuneKindName, seed, recipe: o.recipe as 'paper', epochs, replace, ...ro })).network;
            await derivedFrom(net, parent!, 'finetune', { ...params, kind: o.kind, replace }, data);
            break;
          }
          case 'pgd-train': {
            const init = parent;
            net = (await pgdTrain(o.recipe as 'paper', sizes, data, { seed, eps, steps, epochs, init, ...ro })).network;
            const p = { ...params, eps, steps };
            await (init ? derivedFrom(net, init, 'pgd-train', p, data) : madeFrom(net, data, 'pgd-train', { ...p, sizes }));
            break;
          }
        }
      } finally {
        reporter.stop();
      }
      await saveOnnx(net, o.out, { recipe: { defence: o.method, data: dataset, quick: !!o.quick, seed } });
      const acc = (await evaluate(net, test)).accuracy;
      const wallSeconds = (performance.now() - t0) / 1000;
      if (o.json) console.log(JSON.stringify({ method: o.method, out: o.out, dataset: data.name, testAccuracy: acc, warnings, wallSeconds }));
      else console.log(`${o.method}: wrote ${o.out}; test accuracy ${(100 * acc).toFixed(2)} % (${wallSeconds.toFixed(1)} s)`);
    });
}
