/**
 * GPU benchmarks of the CUDA backend (run by bench/gpu-check.sh on a GPU machine; they need
 * a usable GPU and say so otherwise). Wall-clock timing of single calls after a warm-up
 * (the benchmark package's repeated sampling is not worth minutes of GPU time here):
 *   - 256 mnist-fgsm sleeps batched (27,105 steps each) on the trained control network
 *   - one mnist-fgsm sleep (GPU, and the CPU event engine for reference)
 *   - PGD-40 (L∞, eps 0.1) on the 10,000 MNIST test digits
 *   - the paper's FGSM sweep (81 epsilons) on the 10,000 test digits
 *   - 16 sleeps of the LeNet-style CNN batched (cnn-mnist preset, 19,112 steps each), and one
 *     (the CNN sleep's timing beside the CPU engine is the sleepcnn suite, NREM_BENCH_BACKEND=cuda)
 * Targets (one H200): 256 sleeps ≤ 0.5 s, one sleep ≤ 0.1 s, PGD-40 ≤ 0.5 s, FGSM sweep ≤ 0.05 s.
 * Usage: node dist/bench/cuda.js [out.json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cudaInfo, fgsmSweep, loadOnnx, sleep, sleepBatch, inputGradient, type SleepOptions } from '../src/index.js';
import { fixtureDir } from './fixture.js';
import { addon } from '../src/native/binding.js';
import { loadMnist } from '../src/data/mnist.js';
import { scaleFactors } from '../src/sleep/normalize.js';
import { controlNetwork } from '../test/helpers/authors-fixture.js';

export interface CudaBenchRow {
  name: string;
  seconds: number;
  targetSeconds?: number;
  meetsTarget?: boolean;
  detail?: Record<string, unknown>;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
}

function row(name: string, seconds: number, target?: number, detail?: Record<string, unknown>): CudaBenchRow {
  const r: CudaBenchRow = { name, seconds };
  if (target !== undefined) Object.assign(r, { targetSeconds: target, meetsTarget: seconds <= target });
  if (detail) r.detail = detail;
  console.log(`${name.padEnd(44)} ${seconds.toFixed(4)} s${target !== undefined ? `  (target ${target} s)` : ''}`);
  return r;
}

export async function runCudaBench(opts: { cpuReference?: boolean } = {}): Promise<CudaBenchRow[]> {
  const info = cudaInfo();
  if (!info.available) throw new Error(`CUDA benchmarks need a usable GPU: ${info.reason}`);
  const { train, test } = loadMnist();
  const net = controlNetwork();
  const rows: CudaBenchRow[] = [];

  // Warm-up: context creation and module load are paid once per process.
  const [warm] = await timed(() => inputGradient(net, test.x.subarray(0, 784), test.y.subarray(0, 1), 'ce', { backend: 'cuda' }));
  rows.push(row('cuda warm-up (context + first call)', warm));

  // Sleep: scale factors once (CPU forward over the training set), then the simulations.
  const [tn, sf] = await timed(() => scaleFactors(net, train.x, 'release'));
  rows.push(row('sleep scale factors (CPU, 60k rows)', tn));
  const base: SleepOptions = { preset: 'mnist-fgsm', seed: 1, scaleFactors: sf.factors };
  const [t1, one] = await timed(() => sleep(net, train, { ...base, backend: 'cuda' }));
  rows.push(row('sleep mnist-fgsm x1 (GPU, 27,105 steps)', one.stats.seconds, 0.1, { wallSeconds: t1, spikes: one.stats.spikes }));
  const [t256, many] = await timed(() => sleepBatch(net, train, Array.from({ length: 256 }, (_, k) => ({ ...base, seed: k, backend: 'cuda' as const }))));
  rows.push(row('sleep mnist-fgsm x256 batched (GPU)', many[0].stats.seconds, 0.5, { wallSeconds: t256, sleeps: many.length }));
  if (opts.cpuReference) {
    const cpu = await sleep(net, train, base);
    const same = JSON.stringify(cpu.stats.spikes) === JSON.stringify(one.stats.spikes);
    rows.push(row('sleep mnist-fgsm x1 (CPU event engine)', cpu.stats.seconds, undefined, { sameSpikesAsGpu: same }));
  }

  // Attacks on the 10,000 test digits.
  const n = test.n;
  const out = new Float32Array(n * 784);
  const pgd = { epsilons: [0.1], steps: 40, relStep: 1 / 30, randomStart: true, earlyStop: false, seed: 0, loss: 'ce', backend: 'cuda' };
  const [tp] = await timed(() => addon().attackRun('pgd', net.native(), test.x, n, test.y, pgd, out, null));
  const acc = (await net.predict(out)).reduce((s, p, i) => s + (p === test.y[i] ? 1 : 0), 0) / n;
  rows.push(row('PGD-40 Linf eps 0.1 on 10k (GPU)', tp, 0.5, { accuracyUnderAttack: acc }));
  const [tf, sweep] = await timed(() => fgsmSweep(net, test.x, test.y, { backend: 'cuda' }));
  rows.push(row('FGSM sweep 81 eps on 10k (GPU)', tf, 0.05, { accuracyAt0: sweep.accuracy[0], accuracyAt01: sweep.accuracy[20] }));

  // The CNN sleep (sleep_net.cu): the LeNet fixture, the tuned preset, batched as `nrem tune` does.
  const lenet = await loadOnnx(join(fixtureDir(), '..', 'onnx', 'lenet_max.onnx'));
  const cnnBase: SleepOptions = { preset: 'cnn-mnist', seed: 1 };
  const first = await sleep(lenet, train, { ...cnnBase, steps: 1 });
  const cnnOpts = { ...cnnBase, scaleFactors: first.stats.scaleFactors };
  const [tc1, c1] = await timed(() => sleep(lenet, train, { ...cnnOpts, backend: 'cuda' }));
  rows.push(row('sleep cnn-mnist LeNet x1 (GPU, 19,112 steps)', c1.stats.seconds, undefined, { wallSeconds: tc1, spikes: c1.stats.spikes }));
  const [tc16, c16] = await timed(() => sleepBatch(lenet, train, Array.from({ length: 16 }, (_, k) => ({ ...cnnOpts, seed: k, backend: 'cuda' as const }))));
  rows.push(row('sleep cnn-mnist LeNet x16 batched (GPU)', c16[0].stats.seconds, undefined, { wallSeconds: tc16, sleeps: c16.length }));
  return rows;
}

/** Runs the suite and writes { device, rows } (or { error }) to outFile. */
export async function main(outFile?: string): Promise<void> {
  try {
    const rows = await runCudaBench({ cpuReference: process.env.NREM_BENCH_CPU_REFERENCE !== '0' });
    if (outFile) writeFileSync(outFile, JSON.stringify({ device: cudaInfo().devices, rows }, null, 2));
  } catch (err) {
    console.error(err);
    if (outFile) writeFileSync(outFile, JSON.stringify({ error: String((err as Error).message ?? err) }));
    process.exitCode = 1;
  }
}
