#!/usr/bin/env node
/** The nrem command line. Each command lives in its own module under src/cli/commands. */
import { Command, CommanderError } from 'commander';
import { NremError } from '../errors.js';
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
// Command-line mistakes (unknown option, missing value, too many arguments) are typed
// errors like every other: "nrem: ERR_ARGUMENT: …", exit code 1.
program.exitOverride();
program.configureOutput({
  outputError: (str, write) => write(`nrem: ERR_ARGUMENT: ${str.replace(/^error: /, '')}`),
});
for (const c of program.commands) c.exitOverride();
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

// With --json, a failure is also one JSON object as the last line of standard output.
const json = process.argv.includes('--json');
const jsonError = (code: string, message: string) => {
  if (json) console.log(JSON.stringify({ error: { code, message } }));
};

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as Error & { code?: string; exitCode?: number };
  if (e instanceof CommanderError) {
    // Already printed by commander (help, version: exit code 0). Help shown because no or an
    // unknown command was given ends with a typed line too.
    if (e.code === 'commander.help' && e.exitCode !== 0) process.stderr.write('nrem: ERR_ARGUMENT: expected one of the commands listed above\n');
    if (e.exitCode !== 0) jsonError('ERR_ARGUMENT', e.code === 'commander.help' ? 'expected one of the commands of nrem --help' : e.message.replace(/^error: /, ''));
    process.exitCode = e.exitCode;
    return;
  }
  if (e instanceof NremError) {
    process.stderr.write(`nrem: ${e.code}: ${e.message}\n`);
    jsonError(e.code, e.message);
  } else {
    process.stderr.write(`nrem: internal error (please report it): ${e?.stack ?? String(err)}\n`);
    jsonError('ERR_INTERNAL', String(e?.message ?? err));
  }
  process.exitCode = 1;
});
