/**
 * The LeNet-style CNN (conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10, the `modern`
 * recipe) on MNIST: one training epoch on the 60,000 digits against PyTorch CPU (bench/
 * torch_cnn_epoch.py, 2 threads, same architecture and recipe) when `/usr/bin/python3 -c
 * "import torch"` works, and the forward pass on the 10,000 test digits against ONNX Runtime
 * CPU on the exported model, in the same run.
 * Env: NREM_BENCH_CNN_ROWS (default 60000) shortens both epochs (the notes say so).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetwork, evaluate, parseArch, recipeOptions, train, type Architecture } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { OrtModel } from '../src/model/ort.js';
import type { BenchRow } from './types.js';
import { best } from './timing.js';

const here = dirname(fileURLToPath(import.meta.url));
export const LENET = 'conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10';


function torchRun(rows: number): { seconds: number; forwardSeconds: number; notes: string } | undefined {
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) return undefined;
  const script = [join(here, 'torch_cnn_epoch.py'), join(here, '..', '..', 'bench', 'torch_cnn_epoch.py')].find(existsSync);
  if (!script) return undefined;
  const r = spawnSync('/usr/bin/python3', [script, '--threads', '2', '--rows', String(rows)], { encoding: 'utf8', env: process.env });
  const line = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || !line) return { seconds: NaN, forwardSeconds: NaN, notes: `torch script failed: ${r.stderr?.slice(-300)}` };
  const o = JSON.parse(line) as { seconds: number; forwardSeconds: number; torch: string; mkldnn: boolean; accuracy: number };
  return { seconds: o.seconds, forwardSeconds: o.forwardSeconds, notes: `torch ${o.torch}, 2 threads, mkldnn ${o.mkldnn}, test accuracy after the epoch ${(100 * o.accuracy).toFixed(2)} %` };
}

/** Multiply-adds of one forward pass through the conv and dense layers of an architecture. */
function forwardMacs(arch: Architecture): number {
  const net = createNetwork('modern', arch, 1);
  let macs = 0;
  for (const l of net.chain) {
    const out = l.out[0] * l.out[1] * l.out[2];
    if (l.kind === 'conv') macs += out * l.in[0] * l.window![0] * l.window![1];
    else if (l.kind === 'dense') macs += out * l.in[0] * l.in[1] * l.in[2];
  }
  return macs;
}

export async function benchCnn(): Promise<BenchRow[]> {
  const { train: tr, test } = loadMnist();
  const rows = Number(process.env.NREM_BENCH_CNN_ROWS ?? 60000);
  const arch = { input: [1, 28, 28], layers: (parseArch(LENET) as Architecture).layers } as Architecture;
  const net = createNetwork('modern', arch, 1);
  const r = await train(net, head(tr, rows), { ...recipeOptions('modern', 1), epochs: 1 });
  const acc = (await evaluate(net, test)).accuracy;
  const out: BenchRow[] = [];
  const torch = torchRun(rows);
  const scaled = rows !== 60000 ? ` (${rows} rows)` : '';
  out.push({
    suite: 'cnn',
    name: `LeNet training epoch${scaled}, modern recipe`,
    seconds: r.epochSeconds[0],
    ...(torch && Number.isFinite(torch.seconds) ? { ratio: torch.seconds / r.epochSeconds[0], versus: 'speed-up vs PyTorch CPU 2 threads (its time / ours)' } : {}),
    figures: { testAccuracy: acc },
    notes: torch ? `PyTorch ${torch.seconds.toFixed(2)} s; ${torch.notes}` : 'PyTorch not available',
  });
  // Alternating runs, the best of each: on a shared machine both sides see the same load.
  const ort = await OrtModel.fromNetwork(net);
  try {
    await ort.run(test.x);
    await net.forward(test.x);
    let native = Infinity, t = Infinity;
    for (let i = 0; i < 7; i++) {
      native = Math.min(native, await best(1, () => net.forward(test.x)));
      t = Math.min(t, await best(1, () => ort.run(test.x)));
    }
    const flops = 2 * forwardMacs(arch) * test.n;
    out.push({
      suite: 'cnn',
      name: 'LeNet forward, 10,000 digits',
      seconds: native,
      ratio: t / native,
      versus: 'speed-up vs ONNX Runtime CPU (its time / ours)',
      figures: { gflops: flops / native / 1e9, ortGflops: flops / t / 1e9 },
      notes: `ONNX Runtime ${(t * 1e3).toFixed(1)} ms${torch ? `; PyTorch ${(torch.forwardSeconds * 1e3).toFixed(1)} ms` : ''}; best of 7 alternating runs`,
    });
  } finally {
    ort.dispose();
  }
  return out;
}
