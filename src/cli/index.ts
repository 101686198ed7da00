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

// Usage errors (unknown options, missing arguments) come back as exceptions, so that they too
// get the JSON error object with --json.
program.exitOverride();
for (const c of program.commands) c.exitOverride();

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as Error & { code?: string; exitCode?: number };
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return;
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    // commander printed its message already
    if (process.argv.includes('--json')) console.log(JSON.stringify({ error: { code: 'ERR_USAGE', message: e.message.replace(/^error: /, '') } }));
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`nrem: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
  // With --json, a failure is one JSON object as the last line of standard output too.
  if (process.argv.includes('--json')) console.log(JSON.stringify({ error: { code: e.code ?? 'ERR_INTERNAL', message: e.message } }));
  process.exitCode = 1;
});
