/**
 * Sleep of the LeNet-style CNN (two conv layers of 16 and 32 channels, 5×5 kernels, each
 * max-pooled 2×2, then 128 and 10 units: the PyTorch fixture lenet_max, the architecture of
 * `--arch lenet`), the full 27,105 steps on the MNIST training digits in order, in the same
 * run as the 784-1200-1200-10 MLP sleep of the golden fixture (mnist-fgsm) and as the
 * per-step dense reference engine on the same CNN (a prefix, extrapolated). Two drives:
 *   - the mnist-fgsm drive: the MLP's preset (rate, STDP, alpha scale, 27,105 steps: the same
 *     218,028 input spikes) with the cnn-mnist preset's betas, bias mode and conv rule;
 *   - the cnn-mnist preset nrem tune found for this architecture, at 27,105 steps.
 * Scale factors are computed once before the timed sleeps (the sleep alone is timed), on
 * every CPU path this machine runs (NREM_BENCH_BACKEND=cuda: the MLP and CNN sleeps on the GPU,
 * next to the CPU event engine in the same run; bench/gpu-check.sh). Synaptic events: Σ over spiking layers of the input
 * spikes × the neurons each reaches (dense: the layer's units; conv: C_out × the positions
 * whose window holds the input; pooling: the windows holding it), plus STDP applications.
 */
import { loadMnist } from '../src/data/mnist.js';
import { loadOnnx } from '../src/model/onnx.js';
import type { Network } from '../src/model/network.js';
import { getPreset } from '../src/sleep/presets.js';
import { sleep, type SleepOptions, type SleepResult } from '../src/sleep/sleep.js';
import { runtimeInfo } from '../src/native/runtime.js';
import type { BenchRow } from './types.js';
import { controlNet, fixtureDir } from './fixture.js';
import { benchIsas, onEachPath, pathLabel } from './paths.js';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { timedSleep } from './timing.js';

const STEPS = 27105;



/** Outputs along one axis whose window holds input coordinate u. */
function covering(u: number, n: number, k: number, s: number, p: number): number {
  let c = 0;
  for (let y = 0; y < n; y++) {
    const i = u + p - y * s;
    if (i >= 0 && i < k) c++;
  }
  return c;
}

/** Synaptic events of a sleep of any chain (see the header). */
export function chainEvents(net: Network, r: SleepResult): number {
  let e = 0;
  net.chain.forEach((l, i) => {
    const spikes = r.stats.neuronSpikes[i];
    const [C, H, W] = l.in;
    const [, Ho, Wo] = l.out;
    if (l.kind === 'dense') {
      e += r.stats.spikes[i] * l.units!;
    } else {
      const [kh, kw, sh, sw, pt, pl] = l.window!;
      const per = l.kind === 'conv' ? l.units! : 1;
      for (let c = 0; c < C; c++)
        for (let u = 0; u < H; u++) {
          const cy = covering(u, Ho, kh, sh, pt);
          for (let v = 0; v < W; v++) e += spikes[(c * H + u) * W + v] * cy * covering(v, Wo, kw, sw, pl) * per;
        }
    }
    e += (r.stats.potentiation[i] ?? 0) + (r.stats.depression[i] ?? 0);
  });
  return e;
}

export async function benchSleepcnn(): Promise<BenchRow[]> {
  const suite = 'sleepcnn';
  const rows: BenchRow[] = [];
  const dir = fixtureDir();
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { norm_constants: number[] };
  const lenet = await loadOnnx(join(dirname(dir), 'onnx', 'lenet_max.onnx'));
  const mlp = controlNet(dir);
  const x = loadMnist().train.x;
  const tuned = getPreset('cnn-mnist');
  const { name: _n, description: _d, ...tunedParams } = tuned;
  const drives: { name: string; opts: SleepOptions }[] = [
    {
      name: 'mnist-fgsm drive',
      opts: { preset: 'mnist-fgsm', seed: 1, beta: tuned.beta, bias: tuned.bias, convStdp: tuned.convStdp, layers: tuned.layers },
    },
    { name: 'cnn-mnist preset', opts: { preset: { ...tunedParams }, seed: 1, steps: STEPS } },
  ];
  // scale factors once (the normalisation pass is not part of the sleep)
  for (const d of drives) {
    const r = await sleep(lenet, x, { ...d.opts, steps: 1 });
    d.opts = { ...d.opts, scaleFactors: r.stats.scaleFactors };
  }
  const backend = process.env.NREM_BENCH_BACKEND === 'cuda' ? ('cuda' as const) : undefined;
  const mlpOpts: SleepOptions = { preset: 'mnist-fgsm', seed: 1, scaleFactors: manifest.norm_constants, backend };
  if (backend) for (const d of drives) d.opts = { ...d.opts, backend };
  const isa = runtimeInfo().isa.name;
  const paths = backend ? [isa] : [isa, ...benchIsas().filter((i) => i !== isa)];
  await onEachPath(paths, async (cpuPath) => {
    const path = backend ? `${backend}, beside the ${cpuPath} path` : cpuPath;
    const m = await timedSleep(mlp, x, mlpOpts, 7);
    const mEv = chainEvents(mlp, m.r);
    rows.push({
      suite,
      name: `MLP 784-1200-1200-10, mnist-fgsm, ${STEPS.toLocaleString('en')} steps (${path})`,
      seconds: m.s,
      figures: { synapticEventsPerSecond: mEv / m.s },
      notes: `median of 7; input spikes ${m.r.stats.spikes[0].toLocaleString('en')}; spikes ${m.r.stats.spikes.join('/')}; ${(mEv / m.s / 1e9).toFixed(2)} G synaptic events/s; ${pathLabel()}`,
    });
    for (const d of drives) {
      const c = await timedSleep(lenet, x, d.opts, 7);
      const cEv = chainEvents(lenet, c.r);
      rows.push({
        suite,
        name: `LeNet 16/32 ch 5×5, ${d.name}, ${STEPS.toLocaleString('en')} steps (${path})`,
        seconds: c.s,
        ratio: c.s / m.s,
        versus: 'LeNet time / MLP time in the same run (target <= 3 with the same drive)',
        figures: { synapticEventsPerSecond: cEv / c.s },
        notes:
          `median of 7; input spikes ${c.r.stats.spikes[0].toLocaleString('en')}; spikes ${c.r.stats.spikes.join('/')} (${c.r.stats.layers.join(', ')}); ` +
          `${(cEv / c.s / 1e9).toFixed(2)} G synaptic events/s; bias ${c.r.stats.parameters.bias}, conv STDP ${c.r.stats.parameters.convStdp}; ${pathLabel()}`,
      });
      if (backend) {
        const cpu = await timedSleep(lenet, x, { ...d.opts, backend: undefined }, 3);
        rows.push({
          suite,
          name: `LeNet, ${d.name}: CPU event engine`,
          seconds: cpu.s,
          ratio: cpu.s / c.s,
          versus: 'CPU event engine time / GPU time in the same run',
          notes: `median of 3; same spikes as the GPU ${String(JSON.stringify(cpu.r.stats.spikes) === JSON.stringify(c.r.stats.spikes))}; ${pathLabel()}`,
        });
      } else if (path === isa) {
        const prefix = 300;
        const dense = await timedSleep(lenet, x, { ...d.opts, steps: prefix, engine: 'dense' }, 1);
        const event = await timedSleep(lenet, x, { ...d.opts, steps: prefix }, 3);
        const denseFull = (dense.s * STEPS) / prefix;
        rows.push({
          suite,
          name: `LeNet, ${d.name}: per-step dense reference engine`,
          seconds: denseFull,
          ratio: denseFull / c.s,
          versus: `speed-up of the event engine (dense time / event time; target >= 100)`,
          notes: `${prefix} steps measured (${dense.s.toFixed(2)} s; the event engine ${(event.s * 1000).toFixed(1)} ms on them, same spikes ${String(
            JSON.stringify(dense.r.stats.spikes) === JSON.stringify(event.r.stats.spikes),
          )}), extrapolated to ${STEPS}`,
        });
      }
    }
  });
  return rows;
}
