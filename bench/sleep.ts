/**
 * Sleep benchmarks: the full mnist-fgsm sleep (27,105 steps) on the golden fixture's
 * 784-1200-1200-10 control network, the sleep alone after loading (scale factors from the
 * fixture manifest, so no normalisation pass); the dense reference engine and a dense
 * PyTorch CPU port (2 threads) on a prefix of the steps, extrapolated; the full sleep on
 * every other CPU path this machine runs (bench/paths.ts), against the default (widest)
 * path and the references; scaling with the number of steps and with 2× / 4× wider
 * hidden layers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { loadMnist } from '../src/data/mnist.js';
import { Network } from '../src/model/network.js';
import { sleep, type SleepOptions, type SleepResult } from '../src/sleep/sleep.js';
import type { BenchRow } from './types.js';
import { controlNet, fixtureDir } from './fixture.js';
import { benchIsas, onEachPath, pathLabel } from './paths.js';
import { runtimeInfo } from '../src/native/runtime.js';
import { timedSleep } from './timing.js';


/** The fixture network with its hidden layers k× wider (each hidden unit copied k times, outgoing weights / k). */
function widened(net: Network, k: number): Network {
  const [n0, n1, n2, n3] = net.sizes;
  const [W1, W2, W3] = net.parameters().weights;
  const m1 = n1 * k;
  const m2 = n2 * k;
  const V1 = new Float32Array(m1 * n0);
  for (let i = 0; i < m1; i++) V1.set(W1.subarray((i % n1) * n0, (i % n1 + 1) * n0), i * n0);
  const V2 = new Float32Array(m2 * m1);
  for (let i = 0; i < m2; i++) for (let j = 0; j < m1; j++) V2[i * m1 + j] = W2[(i % n2) * n1 + (j % n1)] / k;
  const V3 = new Float32Array(n3 * m2);
  for (let i = 0; i < n3; i++) for (let j = 0; j < m2; j++) V3[i * m2 + j] = W3[i * n2 + (j % n2)] / k;
  return new Network({ sizes: [n0, m1, m2, n3], output: 'relu', dropout: 0.2 }, [V1, V2, V3]);
}


/** Synaptic events of a sleep: Σ_l spikes_(l-1) · n_l (current) + STDP applications. */
function synapticEvents(net: Network, r: SleepResult): number {
  let e = 0;
  for (let l = 0; l < net.weightLayers; l++) e += r.stats.spikes[l] * net.sizes[l + 1] + r.stats.potentiation[l] + r.stats.depression[l];
  return e;
}


export async function benchSleep(): Promise<BenchRow[]> {
  const suite = 'sleep';
  const dir = fixtureDir();
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { norm_constants: number[] };
  const net = controlNet(dir);
  const x = loadMnist().train.x;
  const base: SleepOptions = { preset: 'mnist-fgsm', seed: 1, scaleFactors: manifest.norm_constants };
  const rows: BenchRow[] = [];

  // The full sleep, measured by the benchmark package (wall time of the whole call) and
  // by the engine's own clock (the simulation alone).
  let last!: SleepResult;
  const wall = await new Promise<number>((resolve) => {
    const b = new Benchmark('sleep', {
      defer: true,
      minSamples: 10,
      maxTime: 4,
      fn: (d: { resolve(): void }) => {
        void sleep(net, x, base).then((r) => {
          last = r;
          d.resolve();
        });
      },
      onComplete: () => resolve(b.stats.mean),
    });
    b.run({ async: true });
  });
  const full = await timedSleep(net, x, base, 7);
  const steps = full.r.stats.steps;
  const ev = synapticEvents(net, full.r);
  const defaultIsa = runtimeInfo().isa.name;
  rows.push({
    suite,
    name: `event engine, mnist-fgsm, 27,105 steps, 784-1200-1200-10 (${defaultIsa})`,
    seconds: full.s,
    notes:
      `simulation alone (median of 7); whole call ${(wall * 1000).toFixed(1)} ms mean (benchmark.js, incl. weight copy); ` +
      `${Math.round(steps / full.s).toLocaleString('en')} steps/s, ${(ev / full.s / 1e9).toFixed(2)} G synaptic events/s; ` +
      `spikes ${last.stats.spikes.join('/')}, W1 changed ${last.stats.weightsChanged[0]}; ${pathLabel()}; authors' Octave code ~27 s`,
  });

  // Dense reference on a prefix, extrapolated.
  const prefix = 1000;
  const dense = await timedSleep(net, x, { ...base, steps: prefix, engine: 'dense' }, 1);
  const denseFull = (dense.s * steps) / prefix;
  let torchFull: number | undefined;
  rows.push({
    suite,
    name: 'dense reference engine (same rule, per-step matrix-vector products)',
    seconds: denseFull,
    ratio: denseFull / full.s,
    versus: `speed-up of the event engine on the ${defaultIsa} path (dense time / event time)`,
    notes: `${prefix} steps measured (${dense.s.toFixed(2)} s), extrapolated to ${steps}`,
  });

  // PyTorch CPU port, 2 threads.
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    const tmp = mkdtempSync(join(tmpdir(), 'nrem-bench-sleep-'));
    try {
      const xf = join(tmp, 'x.f32');
      writeFileSync(xf, Buffer.from(x.buffer, x.byteOffset, prefix * 784 * 4));
      const p = full.r.stats.parameters;
      const params = { ...p, alpha: full.r.stats.alpha, seed: 1 };
      const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_sleep.py');
      const py = existsSync(script) ? script : join(dir, '..', '..', '..', 'bench', 'torch_sleep.py');
      const out = execFileSync('/usr/bin/python3', [py, ...[1, 2, 3].map((l) => join(dir, `control_W${l}.f32`)), xf, '784,1200,1200,10', String(prefix), JSON.stringify(params)], { encoding: 'utf8' });
      const t = JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; spikes: number[]; blas?: string };
      const tf = (t.seconds * steps) / prefix;
      torchFull = tf;
      rows.push({
        suite,
        name: 'PyTorch CPU dense port (bench/torch_sleep.py, 2 threads)',
        seconds: tf,
        ratio: tf / full.s,
        versus: `speed-up of the event engine on the ${defaultIsa} path (PyTorch time / event time)`,
        notes: `${prefix} steps measured (${t.seconds.toFixed(2)} s), extrapolated; its spikes ${t.spikes.join('/')}; BLAS loaded: ${t.blas ?? 'unknown'}`,
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    rows.push({ suite, name: 'PyTorch CPU dense port', seconds: NaN, notes: `skipped: ${(err as Error).message.split('\n')[0]}` });
  }

  // The full sleep on the other paths this CPU runs (same spikes and weights on every path).
  const others = benchIsas().filter((i) => i !== defaultIsa);
  await onEachPath(others, async (isa) => {
    const r = await timedSleep(net, x, base, 7);
    const vs = [`dense ${(denseFull / r.s).toFixed(0)}x`, ...(torchFull ? [`PyTorch ${(torchFull / r.s).toFixed(0)}x`] : [])].join(', ');
    rows.push({
      suite,
      name: `event engine, mnist-fgsm, 27,105 steps (${isa})`,
      seconds: r.s,
      ratio: r.s / full.s,
      versus: `${isa} time / ${defaultIsa} time` + (isa === 'avx2' && defaultIsa === 'avx512' ? ' (target <= 1.5)' : ''),
      notes: `median of 7; ${pathLabel()}; speed-up vs ${vs}; spikes ${r.r.stats.spikes.join('/')}`,
    });
  });

  // Scaling with the number of steps (sequence input cycles past 60,000).
  for (const n of [6776, 13552, 54210]) {
    const r = await timedSleep(net, x, { ...base, steps: n }, 3);
    rows.push({ suite, name: `event engine, ${n} steps`, seconds: r.s, ratio: r.s / full.s, versus: 'time / time of 27,105 steps', notes: `${Math.round(n / r.s).toLocaleString('en')} steps/s` });
  }

  // Scaling with width: hidden units copied k times (same input spikes, k× the fan-out).
  for (const k of [2, 4]) {
    const wide = widened(net, k);
    const r = await timedSleep(wide, x, base, 3);
    rows.push({
      suite,
      name: `event engine, hidden layers ${k}x wider (784-${1200 * k}-${1200 * k}-10)`,
      seconds: r.s,
      ratio: r.s / full.s,
      versus: 'time / time at width 1200',
      notes: `spikes ${r.r.stats.spikes.join('/')}; ${(synapticEvents(wide, r.r) / r.s / 1e9).toFixed(2)} G synaptic events/s`,
    });
  }
  return rows;
}
