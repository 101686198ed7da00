#!/usr/bin/env node
/** The nrem command line. Each command lives in its own module under src/cli/commands. */
import { Command } from 'commander';
import { registerInfo } from './commands/info.js';
import { registerReproduce } from './commands/reproduce.js';
import { registerDefend } from './commands/defend.js';
import { registerReport } from './commands/report.js';
import { registerInspect } from './commands/inspect.js';

const program = new Command();
program.name('nrem').description('Biologically inspired sleep for neural networks, and what it does to their robustness');
registerInfo(program);
registerReproduce(program);
registerDefend(program);
registerReport(program);
registerInspect(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as Error & { code?: string };
  process.stderr.write(`nrem: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
  process.exitCode = 1;
});
