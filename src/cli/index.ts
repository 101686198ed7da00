#!/usr/bin/env node
/** The nrem command line. Each command lives in its own module under src/cli/commands. */
import { Command } from 'commander';
import { registerInfo } from './commands/info.js';
import { registerInspect } from './commands/inspect.js';
import { registerTune } from './commands/tune.js';

const program = new Command();
program.name('nrem').description('Biologically inspired sleep for neural networks, and what it does to their robustness');
registerInfo(program);
registerInspect(program);
registerTune(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as Error & { code?: string };
  process.stderr.write(`nrem: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
  process.exitCode = 1;
});
