import type { Command } from 'commander';
import { runtimeInfo } from '../../native/runtime.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the native backends, threads and BLAS in use')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const info = runtimeInfo();
      if (opts.json) console.log(JSON.stringify(info));
      else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(14)} ${v}`);
    });
}
