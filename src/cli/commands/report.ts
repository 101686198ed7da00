/** nrem report DIR: re-renders DIR/report.md and DIR/report.html from DIR/results.json. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { writeReport } from '../../report/report.js';
import { RESULTS_SCHEMA_VERSION, type Results } from '../../experiments/results.js';
import { FormatError } from '../../errors.js';
import { readJsonFile } from '../../util/files.js';

export function registerReport(program: Command): void {
  program
    .command('report <dir>')
    .description('re-render report.md and report.html from DIR/results.json')
    .option('--json', 'print one JSON object')
    .action(async (dir: string, o: { json?: boolean }) => {
      const t0 = performance.now();
      const path = join(dir, 'results.json');
      const r = readJsonFile(path, 'results') as Results;
      if (typeof r !== 'object' || r === null) throw new FormatError(`${path}: expected a JSON object of results`);
      if (r.schemaVersion !== RESULTS_SCHEMA_VERSION)
        throw new FormatError(`${path}: schema version ${r.schemaVersion}, this nrem reads ${RESULTS_SCHEMA_VERSION}`);
      const { figures } = await writeReport(r, dir);
      const wallSeconds = (performance.now() - t0) / 1000;
      if (o.json) console.log(JSON.stringify({ dir, figures: figures.length, wallSeconds }));
      else console.log(`wrote ${join(dir, 'report.md')} and report.html (${figures.length} figures)`);
    });
}
