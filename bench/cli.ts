/**
 * `npm run bench -- cli`: where each command's wall time goes (issue 17), for the paper's
 * 784-1200-1200-10 network on full MNIST: train (1 epoch), sleep (mnist-fgsm), eval (10,000
 * test digits) and attack --attack fgsm with 4 eps (with the ONNX Runtime re-check). Each
 * command runs as a user runs it (a fresh `node dist/src/cli/index.js` process) twice:
 *   before — NREM_CACHE_DIR=off: nothing cached, every command parses the data set and
 *            computes the sleep's scale factors, as every run did before the caches;
 *   after  — with a cache folder the first (before) run could not use, primed by one run.
 * Each row's figures are the command's own split (its --json `timings`: startup, load,
 * checks, normalisation, work, evaluate, recheck, write) and the process's wall time.
 * The machine is named in the table's last line; a shared machine's load moves every figure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './types.js';
import { pathLabel } from './paths.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'src', 'cli', 'index.js');

function run(args: string[], cache: string): { wall: number; timings: Record<string, number> } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8', env: { ...process.env, NREM_CACHE_DIR: cache }, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  const last = JSON.parse(out.trim().split('\n').pop()!);
  return { wall, timings: last.timings ?? {} };
}

export async function benchCli(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nrem-bench-cli-'));
  const cache = join(dir, 'cache');
  const model = join(dir, 'paper.onnx');
  const rows: BenchRow[] = [];
  const row = (name: string, when: 'before' | 'after', r: { wall: number; timings: Record<string, number> }) => {
    const outside = r.wall - (r.timings.work ?? 0);
    rows.push({
      suite: 'cli',
      name: `${name} (${when})`,
      seconds: r.wall,
      figures: { ...r.timings, outsideWork: Math.round(outside * 1000) / 1000 },
      notes: `${when === 'before' ? 'no cache' : 'cache primed'}; ${pathLabel()}`,
    });
  };
  try {
    const commands: [string, string[]][] = [
      ['train 784-1200-1200-10, 1 epoch', ['train', '--dataset', 'mnist', '--recipe', 'paper', '--arch', '784,1200,1200,10', '--epochs', '1', '--out', model]],
      ['sleep mnist-fgsm', ['sleep', '--model', model, '--out', join(dir, 'slept.onnx')]],
      ['eval 10,000 digits', ['eval', '--model', model]],
      ['attack fgsm, 4 eps, ORT re-check', ['attack', '--model', model, '--attack', 'fgsm', '--eps', '0.05,0.1,0.2,0.3']],
    ];
    for (const [name, args] of commands) {
      row(name, 'before', run(args, 'off'));
      if (name.startsWith('train')) continue; // training has nothing to cache but the data set: one epoch costs enough
      run(args, cache); // prime
      row(name, 'after', run(args, cache));
    }
    // Training: the data set from the primed cache.
    row(commands[0][0], 'after', run(commands[0][1], cache));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
