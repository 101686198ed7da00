import type { Command } from 'commander';
import { loadDataset } from '../../data/index.js';
import { loadOnnx } from '../../model/onnx.js';
import { evaluate } from '../../train/train.js';
import { ShapeError } from '../../errors.js';
import { datasetFor, inputWarnings } from '../warnings.js';
import { parseChoice } from '../parse.js';
import { Timings } from '../timings.js';

interface EvalCliOptions {
  model: string;
  dataset?: string;
  split: string;
  quick?: boolean;
  json?: boolean;
  timings?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('test accuracy of an ONNX network on a data set')
    .requiredOption('--model <file.onnx>', 'network to evaluate')
    .option('--dataset <spec>', 'data set (see loadDataset) (default: the data set the model records, else mnist)')
    .option('--split <name>', 'test | train', 'test')
    .option('--quick', 'a small subset of the data')
    .option('--json', 'print one JSON object')
    .option('--timings', 'print where the wall time went (load, checks, work, recheck, write) on stderr')
    .action(async (o: EvalCliOptions) => {
      const t0 = performance.now();
      const tm = new Timings();
      const which = parseChoice(o.split, '--split', ['test', 'train'] as const);
      const net = await loadOnnx(o.model);
      const split = await loadDataset(datasetFor(o.dataset, net), { quick: o.quick });
      const data = which === 'train' ? split.train : split.test;
      if (data.dims !== net.inputSize)
        throw new ShapeError(`Expected ${net.inputSize} features (the model's input) but ${data.name} has ${data.dims}`);
      tm.lap('load');
      const warnings = await inputWarnings(net, data, o.model);
      tm.lap('checks');
      const ev = await evaluate(net, data);
      tm.lap('work');
      const result = { command: 'eval', model: o.model, dataset: data.name, ...ev, warnings, seconds: (performance.now() - t0) / 1000, timings: tm.toJSON() };
      tm.report(o.timings);
      if (o.json) console.log(JSON.stringify(result));
      else {
        console.log(`${o.model} on ${data.name}: accuracy ${(ev.accuracy * 100).toFixed(2)}% (${ev.correct}/${ev.n})`);
        for (const c of ev.perClass) if (c.n) console.log(`  class ${String(c.label).padStart(2)}: ${(c.accuracy * 100).toFixed(2)}% of ${c.n}`);
      }
    });
}
