import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, ArgumentError, FormatError, Network, ShapeError, argmaxRows } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { importOnnx } from '../src/model/onnx.js';
import { OrtModel } from '../src/model/ort.js';
import { randomNet, torchStyle, uniform } from './onnx-helpers.js';

const FIX = 'test/fixtures/authors-sleep-seed1';
const tmp = mkdtempSync(join(tmpdir(), 'nrem-ort-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function f32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** The authors' trained control network (784-1200-1200-10, paper dropout 0.2, relu out, no biases). */
function controlNet(): Network {
  return new Network({ sizes: [784, 1200, 1200, 10], output: 'relu', dropout: 0.2, dropoutMode: 'paper' }, [1, 2, 3].map((k) => f32(`${FIX}/control_W${k}.f32`)));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ONNX Runtime agrees with the native forward pass on all 10,000 MNIST test digits', () => {
  const test = loadMnist().test;

  it('the authors\' trained control network: > 94 % through both paths, outputs within 1e-4', async () => {
    const net = controlNet();
    const ort = await OrtModel.fromNetwork(net);
    try {
      expect([ort.inputSize, ort.outputSize]).toEqual([784, 10]);
      const [yn, yo] = await Promise.all([net.forward(test.x), ort.run(test.x, test.n)]);
      expect(maxAbsDiff(yn, yo)).toBeLessThan(1e-4);
      const acc = (y: Float32Array) => argmaxRows(y, 10).filter((c, i) => c === test.y[i]).length / test.n;
      const [accNative, accOrt] = [acc(yn), acc(yo)];
      expect(accNative).toBeGreaterThan(0.94);
      expect(accOrt).toBeGreaterThan(0.94);
      expect(Math.abs(accOrt - accNative)).toBeLessThanOrEqual(2 / test.n); // at most a tie or two flips
    } finally {
      await ort.dispose();
    }
  });

  it('a seeded U(-0.05, 0.05) 784-1200-1200-10 network (softmax, biases), 2,000 digits: outputs within 1e-4', async () => {
    const net = randomNet([784, 1200, 1200, 10], 7, 0.05, { output: 'softmax', temperature: 3, biases: true, dropout: 0.5 });
    // 2,000 digits in batches of 500: several batches and the native row chunks, a fifth of the time
    const few = head(test, 2000);
    const ort = await OrtModel.fromNetwork(net, { batch: 500 });
    try {
      const [yn, yo] = await Promise.all([net.forward(few.x), ort.run(few.x, few.n)]);
      expect(maxAbsDiff(yn, yo)).toBeLessThan(1e-4);
    } finally {
      await ort.dispose();
    }
  });
});

describe('OrtModel', () => {
  let ort: OrtModel;
  beforeAll(async () => {
    ort = await OrtModel.fromNetwork(controlNet(), { batch: 500 });
  });
  afterAll(async () => ort.dispose());

  it('keeps the event loop turning and reports progress while it runs', async () => {
    const x = loadMnist().test.x;
    let ticks = 0;
    let stop = false;
    const spin = () => {
      ticks++;
      if (!stop) setImmediate(spin);
    };
    setImmediate(spin);
    const progress: number[] = [];
    await ort.run(x, 10000, { onProgress: (p) => progress.push(p.done) });
    stop = true;
    expect(progress).toEqual(Array.from({ length: 20 }, (_, i) => 500 * (i + 1)));
    expect(ticks).toBeGreaterThan(100); // the main thread was free during the whole evaluation
  });

  it('aborts between batches, rejects bad input, and refuses to run once disposed', async () => {
    const x = loadMnist().test.x;
    const ac = new AbortController();
    const p = ort.run(x, 10000, { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toThrow(AbortError);
    await expect(Promise.resolve().then(() => ort.run(x.subarray(0, 100), 2))).rejects.toThrow(ShapeError);
    const other = await OrtModel.fromNetwork(randomNet([4, 3], 1, 1));
    await other.dispose();
    await expect(other.run(new Float32Array(4), 1)).rejects.toThrow(ArgumentError);
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await expect(OrtModel.fromFile(bad)).rejects.toThrow(FormatError);
  });

  it('a torch.onnx-style file with input [batch, 1, 3, 4]: ONNX Runtime and nrem\'s import agree', async () => {
    const { bytes } = torchStyle([12, 8, 6, 4], 21, [3, 4]);
    const path = join(tmp, 'torch.onnx');
    writeFileSync(path, bytes);
    const m = await OrtModel.fromFile(path, { batch: 7 });
    try {
      expect(m.inputSize).toBe(12);
      const x = uniform(12 * 50, 5, 0, 1);
      const yo = await m.run(x, 50);
      const yn = await importOnnx(bytes).net.forward(x);
      expect(maxAbsDiff(yo, yn)).toBeLessThan(1e-6);
    } finally {
      await m.dispose();
    }
  });
});
