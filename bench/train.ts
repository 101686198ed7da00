/**
 * Training speed and accuracy (engine). Epochs are long, so each is timed once rather
 * than sampled by benchmark.js; GEMM kernels (short) are sampled with benchmark.js.
 *   - gemm 100×1200×784 (forward of layer 1, batch 100): OpenBLAS and the own kernel on
 *     every CPU path this machine runs (bench/paths.ts)
 *   - paper recipe, 784-1200-1200-10, full MNIST, seed 1: seconds per epoch (2 epochs)
 *     and test accuracy, with OpenBLAS; one epoch with the own GEMM on every CPU path
 *   - modern recipe on the same network: accuracy, seconds per epoch
 *   - PyTorch CPU reference (bench/torch_train_epoch.py, 2 threads), when
 *     `/usr/bin/python3 -c "import torch"` works: ratio = torch epoch / nrem epoch (speed-up)
 * Env: NREM_BENCH_TORCH_ROWS (default 60000) shortens the PyTorch run; its time is then
 * scaled to 60,000 rows and the notes say so. NREM_BENCH_SKIP_MODERN=1 skips the modern run.
 */
import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addon } from '../src/native/binding.js';
import { createNetwork, evaluate, recipeOptions, runtimeInfo, setGemm, setThreads, train } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import type { BenchRow } from './types.js';
import { benchIsas, onEachPath, pathLabel } from './paths.js';


const here = dirname(fileURLToPath(import.meta.url));
const ARCH = [784, 1200, 1200, 10];

function gemmRow(kernel: 'current' | 'native', name: string): BenchRow {
  const [M, N, K] = [100, 1200, 784];
  const A = new Float32Array(M * K).fill(0.5);
  const B = new Float32Array(N * K).fill(0.25);
  const C = new Float32Array(M * N);
  const bench = new Benchmark(name, () => addon().gemm(kernel, false, true, M, N, K, 1, A, K, B, K, 0, C, N), {
    minSamples: 20,
    maxTime: 2,
  });
  bench.run();
  const s = bench.stats.mean;
  return { suite: 'train', name, seconds: s, notes: `${((2 * M * N * K) / s / 1e9).toFixed(1)} GFLOP/s, ±${bench.stats.rme.toFixed(1)}%` };
}

function torchEpoch(threads: number): { seconds: number; notes: string } | undefined {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) return undefined;
  const rows = Number(process.env.NREM_BENCH_TORCH_ROWS ?? 60000);
  // process.env carries the OPENBLAS_CORETYPE nrem chose, so a torch linked to the
  // system OpenBLAS gets the same kernel family
  const script = [join(here, 'torch_train_epoch.py'), join(here, '..', '..', 'bench', 'torch_train_epoch.py')].find(existsSync);
  if (!script) return { seconds: NaN, notes: 'bench/torch_train_epoch.py not found' };
  const r = spawnSync('/usr/bin/python3', [script, '--threads', String(threads), '--rows', String(rows)], {
    encoding: 'utf8',
    env: process.env,
  });
  const line = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || !line) return { seconds: NaN, notes: `torch script failed: ${r.stderr?.slice(-300)}` };
  const out = JSON.parse(line) as { seconds: number; torch: string };
  const scaled = (out.seconds * 60000) / rows;
  return {
    seconds: scaled,
    notes: `torch ${out.torch}, ${threads} threads` + (rows !== 60000 ? `, measured ${out.seconds.toFixed(1)} s on ${rows} rows, scaled to 60,000` : ''),
  };
}

export async function benchTrain(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const { train: tr, test } = loadMnist();
  const info = runtimeInfo();
  const threads = info.threads;
  const hadBlas = info.openblas;
  const isas = benchIsas();
  if (hadBlas) {
    setGemm('openblas');
    rows.push(gemmRow('current', 'sgemm 100×1200×784 (OpenBLAS, tiled)'));
  }
  await onEachPath(isas, async (isa) => {
    const row = gemmRow('native', `sgemm 100×1200×784 (own kernel, ${isa})`);
    rows.push({ ...row, notes: `${row.notes}; ${pathLabel()}, ${runtimeInfo().isa.gemmKernel}` });
  });

  // paper recipe, OpenBLAS when available
  if (hadBlas) setGemm('openblas');
  const net = createNetwork('paper', ARCH, 1);
  const r = await train(net, tr, recipeOptions('paper', 1));
  const acc = (await evaluate(net, test)).accuracy;
  const epoch = r.epochSeconds.reduce((a, b) => a + b, 0) / r.epochSeconds.length;
  const backend = hadBlas ? 'openblas' : 'native';
  rows.push({
    suite: 'train',
    name: `paper recipe epoch, ${ARCH.join('-')}, 60k MNIST (${backend})`,
    seconds: epoch,
    notes: `${info.isa.cpu}, ${threads} threads, seed 1, 2 epochs: test accuracy ${(acc * 100).toFixed(2)}% (authors' code: 94.63% for seed 1); OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'auto'}`,
  });

  if (hadBlas) {
    setGemm('native');
    await onEachPath(isas, async (isa) => {
      const n2 = createNetwork('paper', ARCH, 1);
      const r2 = await train(n2, tr, { ...recipeOptions('paper', 1), epochs: 1 });
      rows.push({ suite: 'train', name: `paper recipe epoch, ${ARCH.join('-')}, 60k MNIST (own gemm, ${isa})`, seconds: r2.epochSeconds[0], ratio: r2.epochSeconds[0] / epoch, versus: 'own kernel time / OpenBLAS time (target <= 1.25)', notes: `${threads} threads, ${pathLabel()}` });
    });
    setGemm('openblas');
  }

  const torch = torchEpoch(Math.min(threads, 2));
  if (torch) {
    rows.push({ suite: 'train', name: 'PyTorch CPU epoch, same recipe (bench/torch_train_epoch.py)', seconds: torch.seconds, ratio: torch.seconds / epoch, versus: `speed-up of nrem (${backend}) vs PyTorch (its time / ours)`, notes: torch.notes });
  }

  if (process.env.NREM_BENCH_SKIP_MODERN !== '1') {
    const m = createNetwork('modern', ARCH, 1);
    const rm = await train(m, tr, recipeOptions('modern', 1));
    const am = (await evaluate(m, test)).accuracy;
    const em = rm.epochSeconds.reduce((a, b) => a + b, 0) / rm.epochSeconds.length;
    rows.push({ suite: 'train', name: `modern recipe epoch, ${ARCH.join('-')}, 60k MNIST (${backend})`, seconds: em, notes: `${rm.epochs} epochs, seed 1: test accuracy ${(am * 100).toFixed(2)}%` });
  }
  setThreads('auto');
  return rows;
}

// Quick use: `node dist/bench/train.js`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchTrain().then((rows) => {
    for (const row of rows) console.log(JSON.stringify(row));
  });
}
