/**
 * The CUDA sleep of conv and pooling chains (native/cuda/sleep_net.cu). Every machine: a CNN
 * asked for with backend 'auto' sleeps on the CPU only for want of a GPU (the reason is the
 * GPU's, not the network's), and 'cuda' without a GPU is a BackendError. With a usable GPU:
 * the GPU's sleep equals the CPU event engine's bit for bit — spikes (every counter and
 * per-neuron count), STDP counts, changed weights, weights, membranes and rate traces — on
 * random CNNs (both poolings, both bias modes, padding, stride 2, convStdp sum|mean, `layers`,
 * masked-mean input, a batch) and on the LeNet fixture on MNIST digits. Without a GPU that
 * part is skipped with a message naming the missing GPU; test/sleep-cuda-emulated.test.ts
 * runs the same kernel step on the host.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BackendError, cudaInfo, loadOnnx, sleep, sleepBatch, type LayerSpec, type SleepOptions, type SleepResult } from '../src/index.js';
import { getPreset } from '../src/sleep/presets.js';
import { randomImages, randomNetwork } from './helpers/random.js';
import { expectSameGpuSleep as expectSameSleep } from './helpers/sleep-compare.js';

const cuda = cudaInfo();
if (!cuda.available) console.log(`[cuda-sleep-cnn.test] GPU tests skipped: no usable GPU (${cuda.reason})`);

const cnnLayers: LayerSpec[] = [
  { type: 'conv', filters: 3, kernel: 3, padding: 1, bias: true },
  { type: 'relu' },
  { type: 'maxpool', kernel: 2 },
  { type: 'conv', filters: 5, kernel: 2, stride: 2, padding: 1, bias: true },
  { type: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 4, bias: true },
];
const cnn = () => randomNetwork([1, 12, 12], cnnLayers, 3);
const images = randomImages(40, 144, 5);
const base: SleepOptions = { steps: 400, seed: 3, maxRate: 300, inc: 0.02, dec: 0.01, alphaScale: 1, beta: [1, 1.2, 1.5], traceEvery: 50 };

describe('CUDA sleep of CNNs: backend choice (every machine)', () => {
  it.skipIf(cuda.available)("'auto' sleeps a CNN on the CPU for want of a GPU only; 'cuda' is a BackendError", async () => {
    const auto = await sleep(cnn(), images, { ...base, backend: 'auto' });
    expect(auto.stats.backend).toBe('cpu');
    expect(auto.stats.backendReason).toBe(cuda.reason);
    await expect(sleep(cnn(), images, { ...base, backend: 'cuda' })).rejects.toThrow(BackendError);
  });
  it.skipIf(!cuda.available)("'auto' sleeps a CNN on the GPU", async () => {
    const auto = await sleep(cnn(), images, { ...base, steps: 20, backend: 'auto' });
    expect(auto.stats.backend).toBe('cuda');
    expect(auto.stats.backendReason).toBeUndefined();
  });
});

describe.skipIf(!cuda.available)('CUDA sleep of CNNs = the CPU event engine, bit for bit (GPU only)', () => {
  const variants: [string, [number, number, number], LayerSpec[], SleepOptions][] = [
    ['conv pad 1 → maxpool → conv stride 2 → dense, bias current, convStdp sum', [1, 12, 12], cnnLayers, { bias: 'current' }],
    [
      'two channels, conv 2×2 stride 2 → avgpool 3 stride 2 pad 1 → dense → dense, bias ignore, convStdp mean, sigmoid gate',
      [2, 10, 10],
      [
        { type: 'conv', filters: 5, kernel: 2, stride: 2, padding: 1, bias: true },
        { type: 'relu' },
        { type: 'avgpool', kernel: 3, stride: 2, padding: 1 },
        { type: 'flatten' },
        { type: 'dense', units: 9, bias: true },
        { type: 'relu' },
        { type: 'dense', units: 3 },
      ],
      { bias: 'ignore', convStdp: 'mean', stdpGate: 'sigmoid', beta: [1, 0.4, 1, 1.5] },
    ],
    [
      'avgpool 3 stride 1 pad 1, maxpool 2 pad 1, layers dense, masked-mean input, output drive',
      [1, 11, 11],
      [
        { type: 'conv', filters: 3, kernel: 3, bias: true },
        { type: 'relu' },
        { type: 'avgpool', kernel: 3, stride: 1, padding: 1 },
        { type: 'maxpool', kernel: 2, stride: 2, padding: 1 },
        { type: 'conv', filters: 6, kernel: 3, padding: [1, 0], bias: true },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'dense', units: 6, bias: true },
      ],
      { bias: 'current', layers: 'dense', input: 'masked-mean', maskSize: 6, dc: 0.05, beta: [1, 0.5, 1, 1.2] },
    ],
  ];
  for (const [name, input, layers, extra] of variants)
    it(name, async () => {
      const net = () => randomNetwork(input, layers, 7);
      const data = randomImages(40, input[0] * input[1] * input[2], 9);
      const o = { ...base, ...extra };
      const cpu = await sleep(net(), data, o);
      expect(Math.min(...cpu.stats.spikes)).toBeGreaterThan(0);
      expectSameSleep(await sleep(net(), data, { ...o, backend: 'cuda' }), cpu);
    });

  it('a batch of 3 CNN sleeps on the GPU = 3 single CPU sleeps', async () => {
    const opts = [1, 2, 3].map((seed) => ({ ...base, seed, bias: seed === 2 ? ('current' as const) : ('ignore' as const) }));
    const gpu = await sleepBatch(cnn(), images, opts.map((o) => ({ ...o, backend: 'cuda' as const })));
    for (let k = 0; k < opts.length; k++) expectSameSleep(gpu[k], await sleep(cnn(), images, opts[k]));
  });

  it('the LeNet fixture on MNIST digits, cnn-mnist preset (2,000 steps) and lower betas (every layer fires)', async () => {
    const raw = readFileSync('test/fixtures/onnx/digits100.f32');
    const digits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const lenet = () => loadOnnx('test/fixtures/onnx/lenet_max.onnx');
    const preset = getPreset('cnn-mnist');
    for (const o of [
      { preset: 'cnn-mnist' as const, steps: 2000, seed: 1 },
      { preset: 'cnn-mnist' as const, steps: 2000, seed: 2, bias: 'current' as const, convStdp: 'mean' as const, inc: 0.002, dec: 0.001,
        beta: preset.beta.map((b, i) => b * (i < 2 ? 0.1 : 0.03)) },
    ]) {
      const cpu = await sleep(await lenet(), digits, o);
      expectSameSleep(await sleep(await lenet(), digits, { ...o, backend: 'cuda' }), cpu);
    }
  });

  it("'cuda' with a raster window is unsupported; 'auto' then runs on the CPU", async () => {
    const o = { ...base, raster: { from: 0, to: 10 } };
    await expect(sleep(cnn(), images, { ...o, backend: 'cuda' })).rejects.toThrow(/raster/);
    const auto = await sleep(cnn(), images, { ...o, backend: 'auto' });
    expect(auto.stats.backend).toBe('cpu');
    expect(auto.stats.backendReason).toMatch(/raster/);
  });
});
