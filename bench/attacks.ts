/**
 * Attack speed (attacks), 784-1200-1200-10 (the authors' control network), MNIST test:
 *   - FGSM on all 10,000 test digits: one CE gradient per image + the 81-point eps sweep
 *     0:0.005:0.4 with evaluation (fgsmSweep, all native), with the first layer in closed
 *     form (default) and evaluated directly at every x' (method 'direct', as PyTorch does)
 *   - PGD-40 L∞ on 1,000 digits (eps 0.3, step 0.01, random start, no early stop, as the
 *     PyTorch loop)
 *   - DeepFool and JSMA (pixel pairs): images per second
 * Side by side with bench/torch_attacks.py (PyTorch CPU, 2 threads, same weights, same
 * images, exported as raw f32 to a temp dir) when `/usr/bin/python3 -c "import torch"`
 * works: ratio = torch seconds / nrem seconds (> 1: nrem faster).
 * Attacks are long, so each is timed once. Env NREM_BENCH_ATTACK_SCALE (default 1) scales
 * the row counts down for a quick run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeepFool, JSMA, Network, PGD, fgsmSweep, epsRange } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import type { BenchRow } from './types.js';
import { controlNet as fixture } from './fixture.js';


const here = dirname(fileURLToPath(import.meta.url));

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
}

function torchTimes(net: Network, x: Float32Array, y: Int32Array, rows: Record<string, number>): Record<string, number> | string {
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return 'torch not available';
  const script = [join(here, 'torch_attacks.py'), join(here, '..', '..', 'bench', 'torch_attacks.py')].find(existsSync);
  if (!script) return 'bench/torch_attacks.py not found';
  const dir = mkdtempSync(join(tmpdir(), 'nrem-bench-attacks-'));
  try {
    net.parameters().weights.forEach((w, l) => writeFileSync(join(dir, `W${l + 1}.f32`), Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
    writeFileSync(join(dir, 'x.f32'), Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    writeFileSync(join(dir, 'y.i32'), Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ sizes: net.sizes, hidden_scale: net.hiddenScale }));
    const args = [script, '--dir', dir, '--threads', '2', ...Object.entries(rows).flatMap(([k, v]) => [`--${k}`, String(v)])];
    const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env: process.env });
    const line = r.stdout?.trim().split('\n').at(-1);
    if (r.status !== 0 || !line) return `torch script failed: ${r.stderr?.slice(-300)}`;
    return JSON.parse(line) as Record<string, number>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchAttacks(): Promise<BenchRow[]> {
  const scale = Number(process.env.NREM_BENCH_ATTACK_SCALE ?? 1);
  const rows = { fgsm: Math.round(10000 * scale), pgd: Math.round(1000 * scale), deepfool: Math.max(1, Math.round(200 * scale)), jsma: Math.max(1, Math.round(20 * scale)) };
  const net = fixture();
  const test = loadMnist().test;
  const out: BenchRow[] = [];
  const t = head(test, rows.fgsm);
  const [sF, sw] = await timed(() => fgsmSweep(net, t.x, t.y, { loss: 'ce', epsilons: epsRange() }));
  // The same sweep evaluating the whole network at every x' (what the PyTorch script does).
  const [sFd, swd] = await timed(() => fgsmSweep(net, t.x, t.y, { loss: 'ce', epsilons: epsRange(), method: 'direct' }));
  const tp = head(test, rows.pgd);
  const [sP, pr] = await timed(() => new PGD({ steps: 40, step: 0.01, earlyStop: false }).run(net, tp.x, tp.y, { epsilons: [0.3], seed: 0 }));
  const td = head(test, rows.deepfool);
  const [sD] = await timed(() => new DeepFool().run(net, td.x, td.y));
  const tj = head(test, rows.jsma);
  const [sJ] = await timed(() => new JSMA().run(net, tj.x, tj.y));
  const torch = torchTimes(net, test.x.subarray(0, rows.fgsm * 784), test.y.subarray(0, rows.fgsm), rows);
  const tt = typeof torch === 'string' ? undefined : torch;
  const note = typeof torch === 'string' ? `; ${torch}` : '';
  const ratio = (k: string, s: number) => (tt && tt[k] > 0 ? tt[k] / s : undefined);
  const versus = 'speed-up vs PyTorch CPU, 2 threads (its time / ours)';
  const pgdSucc = pr.success[0].reduce((a, b) => a + b, 0) / rows.pgd;
  out.push({ suite: 'attacks', name: `fgsm sweep (81 eps) on ${rows.fgsm} digits`, seconds: sF, ratio: ratio('fgsm', sF), versus, notes: `method closed-form (first layer piecewise linear in eps); accuracy at eps 0.3 (CE): ${(100 * sw.accuracy[60]).toFixed(2)}%${tt ? `; torch ${tt.fgsm.toFixed(2)} s, ${(100 * tt['fgsm_acc_0.3']).toFixed(2)}%` : ''}${note}` });
  out.push({ suite: 'attacks', name: `fgsm sweep (81 eps) on ${rows.fgsm} digits, method direct`, seconds: sFd, ratio: ratio('fgsm', sFd), versus, notes: `x' built and the whole network run at every eps, as the torch script; accuracy at eps 0.3 (CE): ${(100 * swd.accuracy[60]).toFixed(2)}%${note}` });
  out.push({ suite: 'attacks', name: `pgd-40 linf eps 0.3 on ${rows.pgd} digits`, seconds: sP, ratio: ratio('pgd', sP), versus, notes: `success ${(100 * pgdSucc).toFixed(1)}%${tt ? `; torch ${tt.pgd.toFixed(2)} s, ${(100 * tt.pgd_success).toFixed(1)}%` : ''}${note}` });
  out.push({ suite: 'attacks', name: `deepfool on ${rows.deepfool} digits`, seconds: sD, ratio: ratio('deepfool', sD), versus, notes: `${(rows.deepfool / sD).toFixed(1)} images/s${tt ? `; torch ${(rows.deepfool / tt.deepfool).toFixed(1)} images/s` : ''}${note}` });
  out.push({ suite: 'attacks', name: `jsma (pairs) on ${rows.jsma} digits`, seconds: sJ, ratio: ratio('jsma', sJ), versus, notes: `${(rows.jsma / sJ).toFixed(2)} images/s${tt ? `; torch ${(rows.jsma / tt.jsma).toFixed(2)} images/s` : ''}${note}` });
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchAttacks()) console.log(JSON.stringify(r));
}
