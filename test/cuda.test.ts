/**
 * The CUDA backend. The always-run part checks what every machine must do: report CUDA's
 * status with a reason when it is unavailable, fall back from 'auto' to the CPU, and refuse
 * 'cuda' with a BackendError. The GPU part (parity of the CUDA kernels with the CPU core on
 * MNIST) runs only where a usable GPU answers, and says so when it is skipped.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, ValueError, cudaInfo, resolveBackend, runtimeInfo } from '../src/index.js';

const cuda = cudaInfo();
const cudaAvailable = cuda.available;
if (!cudaAvailable) console.log(`[cuda.test] GPU tests skipped: no usable GPU (${cuda.reason})`);

describe('CUDA backend: status and fallback (every machine)', () => {
  it('reports compiled/available/devices, and a reason whenever unavailable', () => {
    const info = runtimeInfo();
    expect(info.cuda).toEqual(cuda);
    expect(info.cudaCompiled).toBe(cuda.compiled);
    expect(Array.isArray(cuda.devices)).toBe(true);
    if (cuda.available) {
      expect(cuda.compiled).toBe(true);
      expect(cuda.reason).toBeUndefined();
      expect(cuda.devices.some((d) => d.usable)).toBe(true);
    } else {
      expect(typeof cuda.reason).toBe('string');
      expect(cuda.reason!.length).toBeGreaterThan(10);
      if (!cuda.compiled) expect(cuda.reason).toMatch(/without CUDA/);
    }
  });

  it("'auto' picks CUDA when available, else the CPU with the reason", () => {
    const c = resolveBackend('auto');
    if (cudaAvailable) expect(c).toEqual({ backend: 'cuda' });
    else expect(c).toEqual({ backend: 'cpu', reason: cuda.reason });
    expect(resolveBackend('cpu')).toEqual({ backend: 'cpu' });
  });

  it.skipIf(cudaAvailable)("'cuda' without a usable GPU is a BackendError naming the reason", () => {
    let err: unknown;
    try {
      resolveBackend('cuda');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe('ERR_BACKEND');
    expect((err as Error).message).toContain(cuda.reason!);
  });

  it('rejects an unknown backend name', () => {
    expect(() => resolveBackend('tpu' as never)).toThrow(ValueError);
  });
});

// ---------------------------------------------------------------------------------------
// Attack gradients through the backend switch, on real MNIST digits.
import { Network, inputGradient, classGradients, fgsmSweep } from '../src/index.js';
import { addon } from '../src/native/binding.js';
import { loadMnist } from '../src/data/mnist.js';

/** The paper's 784-1200-1200-10 shape with seeded uniform weights (no training needed for parity). */
function paperNet(output: 'relu' | 'softmax' | 'linear' = 'relu', biases = false): Network {
  const net = new Network({ sizes: [784, 1200, 1200, 10], output, dropout: 0.2, biases });
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const params = net.parameters();
  for (const w of params.weights) for (let i = 0; i < w.length; i++) w[i] = 0.06 * u();
  for (const b of params.biases) if (b) for (let i = 0; i < b.length; i++) b[i] = 0.1 * u();
  net.setParameters(params);
  return net;
}

function digits(n: number) {
  const { test } = loadMnist();
  return { x: test.x.slice(0, n * 784), y: test.y.slice(0, n), n };
}

/** Max over rows of max|a − b| / (max|b| of the row + tiny): GEMM order differs, so rounding only. */
function rowRelErr(a: Float32Array, b: Float32Array, width: number): number {
  let worst = 0;
  for (let r = 0; r < a.length / width; r++) {
    let scale = 1e-12,
      diff = 0;
    for (let j = r * width; j < (r + 1) * width; j++) {
      scale = Math.max(scale, Math.abs(b[j]));
      diff = Math.max(diff, Math.abs(a[j] - b[j]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

describe('attack gradients: backend option (every machine)', () => {
  it("'auto' gives the CPU's gradient (or the GPU's, equal to rounding) on MNIST", async () => {
    const net = paperNet();
    const { x, y } = digits(64);
    const cpu = await inputGradient(net, x, y, 'ce', { backend: 'cpu' });
    const auto = await inputGradient(net, x, y, 'ce', { backend: 'auto' });
    expect(rowRelErr(auto.grad, cpu.grad, 784)).toBeLessThan(cudaAvailable ? 1e-4 : 1e-12);
    expect(cpu.grad.some((v) => v !== 0)).toBe(true);
  });

  it.skipIf(cudaAvailable)("'cuda' without a GPU rejects with BackendError", async () => {
    const net = paperNet();
    const { x, y } = digits(4);
    await expect(inputGradient(net, x, y, 'ce', { backend: 'cuda' })).rejects.toThrow(BackendError);
    await expect(fgsmSweep(net, x, y, { epsilons: [0.1], backend: 'cuda' })).rejects.toThrow(/CUDA backend unavailable/);
  });
});

describe.skipIf(!cudaAvailable)('CUDA kernels match the CPU core (GPU only)', () => {
  const { x, y, n } = digits(512);

  for (const [output, biases] of [
    ['relu', false],
    ['softmax', true],
    ['linear', true],
  ] as const) {
    it(`input gradients (mse, ce, margin), ${output} output${biases ? ' with biases' : ''}`, async () => {
      const net = paperNet(output, biases);
      for (const loss of ['mse', 'ce', 'margin'] as const) {
        const cpu = await inputGradient(net, x, y, loss, { backend: 'cpu' });
        const gpu = await inputGradient(net, x, y, loss, { backend: 'cuda' });
        expect(rowRelErr(gpu.grad, cpu.grad, 784), `${loss} gradient`).toBeLessThan(1e-4);
        expect(rowRelErr(gpu.loss, cpu.loss, 1), `${loss} loss`).toBeLessThan(1e-4);
      }
    });
  }

  it('Jacobian rows of the logits (DeepFool, JSMA)', async () => {
    const net = paperNet('relu', true);
    const classes = [0, 3, 9];
    const cpu = await classGradients(net, x, classes, { backend: 'cpu' });
    const gpu = await classGradients(net, x, classes, { backend: 'cuda' });
    expect(rowRelErr(gpu, cpu, 784)).toBeLessThan(1e-4);
  });

  it('FGSM sweep: the same accuracy at every eps (up to rows on a rounding tie)', async () => {
    const net = paperNet();
    const epsilons = [0, 0.05, 0.1, 0.2, 0.3];
    const cpu = await fgsmSweep(net, x, y, { epsilons, loss: 'ce', backend: 'cpu' });
    const gpu = await fgsmSweep(net, x, y, { epsilons, loss: 'ce', backend: 'cuda' });
    for (let e = 0; e < epsilons.length; e++) expect(Math.abs(gpu.accuracy[e] - cpu.accuracy[e])).toBeLessThanOrEqual(3 / n);
  });

  it('PGD-10 through attackRun: the same success rate', async () => {
    const net = paperNet();
    const run = async (backend: string) => {
      const out = new Float32Array(n * 784);
      const opts = { epsilons: [0.1], steps: 10, relStep: 0.25, randomStart: true, seed: 7, loss: 'ce', backend };
      await addon().attackRun('pgd', net.native(), x, n, y, opts, out, null);
      return (await net.predict(out)).reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0);
    };
    const [cpu, gpu] = [await run('cpu'), await run('cuda')];
    expect(Math.abs(cpu - gpu)).toBeLessThanOrEqual(5);
  });
});

// ---------------------------------------------------------------------------------------
// Sleep on the GPU: the same spikes and weights as the CPU's event engine.
import { sleep, sleepBatch, type SleepOptions } from '../src/index.js';
import { makeDataset } from '../src/data/dataset.js';
import { controlNetwork } from './helpers/authors-fixture.js';
import { expectSameGpuSleep as expectSameSleep } from './helpers/sleep-compare.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function smallNet(): Network {
  const r = lcg(7);
  const net = new Network({ sizes: [36, 30, 25, 5] });
  const params = net.parameters();
  for (const w of params.weights) for (let i = 0; i < w.length; i++) w[i] = r() * 0.8 - 0.3;
  net.setParameters(params);
  return net;
}

function smallData() {
  const r = lcg(11);
  const x = new Float32Array(50 * 36).map(() => (r() < 0.5 ? 0 : r()));
  return makeDataset('random', x, new Int32Array(50), 36, 10, [6, 6]);
}

describe('sleep: backend option (every machine)', () => {
  it.skipIf(cudaAvailable)("'auto' sleeps on the CPU and says why; 'cuda' is a BackendError", async () => {
    const o: SleepOptions = { steps: 50, seed: 1, maxRate: 200, beta: [1.5, 1, 0.5], alphaScale: 1, inc: 0.02, dec: 0.01 };
    const auto = await sleep(smallNet(), smallData(), { ...o, backend: 'auto' });
    const cpu = await sleep(smallNet(), smallData(), o);
    expect(auto.stats.backend).toBe('cpu');
    expect(auto.stats.backendReason).toBe(cuda.reason);
    expect(auto.stats.spikes).toEqual(cpu.stats.spikes);
    await expect(sleep(smallNet(), smallData(), { ...o, backend: 'cuda' })).rejects.toThrow(BackendError);
  });
});

describe.skipIf(!cudaAvailable)('CUDA sleep matches the CPU event engine (GPU only)', () => {
  const base: SleepOptions = { steps: 400, seed: 5, maxRate: 200, beta: [1.5, 1, 0.5], alphaScale: 1, inc: 0.02, dec: 0.01 };
  const variants: [string, SleepOptions][] = [
    ['release gate, sequence input', { stdpGate: 'release' }],
    ['sigmoid gate, mean input', { stdpGate: 'sigmoid', input: 'mean' }],
    ['no gate, masked-mean input, inhibition and output drive', { stdpGate: 'none', input: 'masked-mean', maskSize: 3, inhibition: 0.5, dc: 0.05 }],
    ['rate trace', { traceEvery: 50 }],
  ];
  for (const [name, extra] of variants)
    it(name, async () => {
      const o = { ...base, ...extra };
      const gpu = await sleep(smallNet(), smallData(), { ...o, backend: 'cuda' });
      const cpu = await sleep(smallNet(), smallData(), o);
      expectSameSleep(gpu, cpu);
    });

  it('mnist-fgsm preset, 3,000 steps of MNIST on the trained control network', async () => {
    const { train } = loadMnist();
    const data = train.x.subarray(0, 3000 * 784);
    const o: SleepOptions = { preset: 'mnist-fgsm', steps: 3000, seed: 1 };
    const gpu = await sleep(controlNetwork(), data, { ...o, backend: 'cuda' });
    const cpu = await sleep(controlNetwork(), data, o);
    expect(cpu.stats.spikes[1]).toBeGreaterThan(0);
    expectSameSleep(gpu, cpu);
  });

  it('a batch of 4 sleeps on the GPU = 4 single CPU sleeps', async () => {
    const seeds = [1, 2, 3, 4];
    const gpu = await sleepBatch(smallNet(), smallData(), seeds.map((seed) => ({ ...base, seed, backend: 'cuda' as const })));
    for (let k = 0; k < seeds.length; k++) expectSameSleep(gpu[k], await sleep(smallNet(), smallData(), { ...base, seed: seeds[k] }));
  });

  it("'cuda' with a raster window is unsupported; 'auto' then runs on the CPU", async () => {
    const o = { ...base, raster: { from: 0, to: 10 } };
    await expect(sleep(smallNet(), smallData(), { ...o, backend: 'cuda' })).rejects.toThrow(/raster/);
    const auto = await sleep(smallNet(), smallData(), { ...o, backend: 'auto' });
    expect(auto.stats.backend).toBe('cpu');
    expect(auto.stats.backendReason).toMatch(/raster/);
  });
});
