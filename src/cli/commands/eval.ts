import type { Command } from 'commander';
import { loadDataset } from '../../data/index.js';
import { loadOnnx } from '../../model/onnx.js';
import { evaluate } from '../../train/train.js';
import { ShapeError } from '../../errors.js';
import { inputWarnings } from '../warnings.js';
import { parseChoice } from '../parse.js';

interface EvalCliOptions {
  model: string;
  dataset: string;
  split: string;
  quick?: boolean;
  json?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('test accuracy of an ONNX network on a data set')
    .requiredOption('--model <file.onnx>', 'network to evaluate')
    .option('--dataset <spec>', 'data set (see loadDataset)', 'mnist')
    .option('--split <name>', 'test | train', 'test')
    .option('--quick', 'a small subset of the data')
    .option('--json', 'print one JSON object')
    .action(async (o: EvalCliOptions) => {
      const t0 = performance.now();
      const which = parseChoice(o.split, '--split', ['test', 'train'] as const);
      const net = await loadOnnx(o.model);
      const split = await loadDataset(o.dataset, { quick: o.quick });
      const data = which === 'train' ? split.train : split.test;
      if (data.dims !== net.inputSize)
        throw new ShapeError(`Expected ${net.inputSize} features (the model's input) but ${data.name} has ${data.dims}`);
      const warnings = await inputWarnings(net, data);
      const ev = await evaluate(net, data);
      const result = { command: 'eval', model: o.model, dataset: data.name, ...ev, warnings, seconds: (performance.now() - t0) / 1000 };
      if (o.json) console.log(JSON.stringify(result));
      else {
        console.log(`${o.model} on ${data.name}: accuracy ${(ev.accuracy * 100).toFixed(2)}% (${ev.correct}/${ev.n})`);
        for (const c of ev.perClass) if (c.n) console.log(`  class ${String(c.label).padStart(2)}: ${(c.accuracy * 100).toFixed(2)}% of ${c.n}`);
      }
    });
}
