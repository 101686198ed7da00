/**
 * `npm run bench [-- suite ...]`: runs the benchmark suites, prints a table and writes
 * bench/results/latest.json with the machine stated. Suites are bench/<name>.ts modules
 * exporting a function named bench<Name>.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchRow, Suite } from './types.js';
import { runtimeInfo } from '../src/native/runtime.js';

const SUITES = ['forward', 'train', 'cnn', 'sleep', 'sleepcnn', 'attacks', 'autoattack', 'distributed', 'cli'];

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : SUITES;
  const rows: BenchRow[] = [];
  for (const name of names) {
    const file = join(here, `${name}.js`);
    if (!existsSync(file)) {
      console.error(`bench: no suite ${name}`);
      process.exitCode = 1;
      continue;
    }
    const mod = (await import(pathToFileURL(file).href)) as Record<string, Suite>;
    const fn = mod[`bench${name[0].toUpperCase()}${name.slice(1)}`];
    if (!fn) throw new Error(`bench/${name}.ts exports no bench${name[0].toUpperCase()}${name.slice(1)}`);
    console.error(`bench: ${name} …`);
    const got = await fn();
    for (const r of got) printRow(r);
    rows.push(...got);
  }
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    native: runtimeInfo(),
  };
  const out = { date: new Date().toISOString(), machine, rows };
  const root = join(here, '..', '..');
  const dir = join(existsSync(join(root, 'bench')) ? root : join(here, '..'), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(`\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, node ${machine.node}, gemm ${machine.native.gemm}, isa ${machine.native.isa.name} (${machine.native.isa.reason})`);
  console.log(`wrote ${join(dir, 'latest.json')}`);
}

function printRow(r: BenchRow): void {
  const t = r.seconds >= 1 ? `${r.seconds.toFixed(2)} s` : `${(r.seconds * 1e3).toFixed(2)} ms`;
  const ratio = r.ratio !== undefined ? `  ${r.ratio.toFixed(2)}x ${r.versus ?? ''}` : '';
  const figs = r.figures ? '  ' + Object.entries(r.figures).map(([k, v]) => `${k}=${fmt(v)}`).join(' ') : '';
  console.log(`${r.suite.padEnd(8)} ${r.name.padEnd(48)} ${t.padStart(10)}${ratio}${figs}${r.notes ? '  (' + r.notes + ')' : ''}`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(2) : String(Math.round(v * 100) / 100);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
