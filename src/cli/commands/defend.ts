/**
 * nrem defend: build one baseline defence and save it as ONNX.
 *   --method distillation   teacher + student at T, student deployed at T = 1 (from scratch)
 *   --method finetune       the control (--net) fine-tuned on perturbed examples (--kind)
 *   --method pgd-train      PGD adversarial training (from scratch, or from --net)
 */
import type { Command } from 'commander';
import { loadDataset } from '../../data/index.js';
import { loadOnnx, saveOnnx } from '../../model/onnx.js';
import { evaluate, getRecipe } from '../../train/train.js';
import { distill } from '../../defenses/distillation.js';
import { finetune, FINETUNE_KINDS, type FinetuneKindName } from '../../defenses/finetune.js';
import { pgdTrain } from '../../defenses/pgd-train.js';
import { ValueError } from '../../errors.js';
import type { Network } from '../../model/network.js';
import type { RunOptions } from '../../util/control.js';
import { makeReporter } from '../../experiments/progress.js';

interface DefendOpts {
  method: string;
  data: string;
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

const num = (v: string, name: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new ValueError(`Expected a number for --${name} but received ${JSON.stringify(v)}`);
  return x;
};

export function registerDefend(program: Command): void {
  program
    .command('defend')
    .description('build a baseline defence (distillation, finetune, pgd-train) and save it as ONNX')
    .requiredOption('--method <m>', 'distillation | finetune | pgd-train')
    .option('--data <spec>', 'data set spec (mnist, mnist-idx:DIR, patches, features:FILE)', 'mnist')
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
      const seed = num(o.seed, 'seed');
      const { train: data, test } = await loadDataset(o.data, { quick: o.quick, seed });
      const sizes = o.sizes ? o.sizes.split(',').map((s) => num(s, 'sizes')) : [data.dims, ...(data.dims === 784 ? [1200, 1200] : [100]), data.classes];
      getRecipe(o.recipe as 'paper');
      const epochs = o.epochs ? num(o.epochs, 'epochs') : undefined;
      const reporter = makeReporter(o.json ? 'quiet' : 'auto');
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      reporter({ type: 'plan', total: 1, weight: 1 });
      const ro: RunOptions = { signal: ac.signal, onProgress: (p) => reporter({ type: 'unit-progress', label: o.method, done: p.done, total: p.total, phase: p.phase }) };
      let net: Network;
      try {
        switch (o.method) {
          case 'distillation':
            net = (await distill(o.recipe as 'paper', sizes, data, { temperature: num(o.temperature, 'temperature'), epochs, seed, ...ro })).student;
            break;
          case 'finetune': {
            if (!o.net) throw new ValueError('Expected --net <control.onnx> for --method finetune');
            if (!(FINETUNE_KINDS as readonly string[]).includes(o.kind)) throw new ValueError(`Expected one of ${FINETUNE_KINDS.join(', ')} for --kind but received ${JSON.stringify(o.kind)}`);
            net = (await finetune(await loadOnnx(o.net), data, { kind: o.kind as FinetuneKindName, seed, recipe: o.recipe as 'paper', epochs, replace: num(o.replace, 'replace'), ...ro })).network;
            break;
          }
          case 'pgd-train':
            net = (await pgdTrain(o.recipe as 'paper', sizes, data, { seed, eps: num(o.eps, 'eps'), steps: num(o.steps, 'steps'), epochs, init: o.net ? await loadOnnx(o.net) : undefined, ...ro })).network;
            break;
          default:
            throw new ValueError(`Expected distillation, finetune or pgd-train for --method but received ${JSON.stringify(o.method)}`);
        }
      } finally {
        reporter.stop();
      }
      await saveOnnx(net, o.out, { recipe: { defence: o.method, data: o.data, quick: !!o.quick, seed } });
      const acc = (await evaluate(net, test)).accuracy;
      const wallSeconds = (performance.now() - t0) / 1000;
      if (o.json) console.log(JSON.stringify({ method: o.method, out: o.out, testAccuracy: acc, wallSeconds }));
      else console.log(`${o.method}: wrote ${o.out}; test accuracy ${(100 * acc).toFixed(2)} % (${wallSeconds.toFixed(1)} s)`);
    });
}
