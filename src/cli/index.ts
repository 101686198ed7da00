#!/usr/bin/env node
/** The nrem command line. Each command lives in its own module under src/cli/commands. */
import { Command } from 'commander';
import { registerInfo } from './commands/info.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerSleep } from './commands/sleep.js';
import { registerReproduce } from './commands/reproduce.js';
import { registerDefend } from './commands/defend.js';
import { registerReport } from './commands/report.js';
import { registerInspect } from './commands/inspect.js';
import { registerAttack } from './commands/attack.js';
import { registerDistort } from './commands/distort.js';
import { registerTune } from './commands/tune.js';
import { registerWorker } from './commands/worker.js';

const program = new Command();
program.name('nrem').description('Biologically inspired sleep for neural networks, and what it does to their robustness');
registerInfo(program);
registerTrain(program);
registerEval(program);
registerSleep(program);
registerReproduce(program);
registerDefend(program);
registerReport(program);
registerInspect(program);
registerAttack(program);
registerDistort(program);
registerTune(program);
registerWorker(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as Error & { code?: string };
  process.stderr.write(`nrem: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
  process.exitCode = 1;
});
