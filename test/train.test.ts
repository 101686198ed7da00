/**
 * src/train/train.ts: recipes learn real MNIST, progress and abort, a responsive event
 * loop while native training runs, typed errors for bad input, evaluate().
 */
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BusyError,
  ArgumentError,
  Network,
  RECIPES,
  ShapeError,
  ValueError,
  createNetwork,
  evaluate,
  recipeOptions,
  train,
} from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head, type Dataset } from '../src/data/dataset.js';

const mnist = loadMnist();
const train10k = head(mnist.train, 10_000);
const test2k = head(mnist.test, 2_000);

describe('recipes learn MNIST', () => {
  it('paper recipe (relu output, MSE, paper dropout, no biases) on 10,000 digits, 1 epoch', async () => {
    const net = createNetwork('paper', [784, 256, 10], 1);
    expect(net.parameters().biases.every((b) => b === null)).toBe(true);
    expect(net.parameters().weights.every((w) => w.every((v) => Math.abs(v) <= 0.01))).toBe(true);
    const r = await train(net, train10k, { ...recipeOptions('paper', 1), epochs: 1 });
    expect(r.epochLoss).toHaveLength(1);
    expect(r.steps).toBe(100);
    const ev = await evaluate(net, test2k);
    expect(ev.accuracy).toBeGreaterThan(0.7);
  });

  it('modern recipe (biases, He, softmax cross-entropy, inverted dropout) on 10,000 digits, 1 epoch', async () => {
    const net = createNetwork('modern', [784, 128, 10], 1);
    const r = await train(net, train10k, { ...recipeOptions('modern', 1), epochs: 1 });
    expect(r.epochLoss[0]).toBeLessThan(Math.log(10));
    expect((await evaluate(net, test2k)).accuracy).toBeGreaterThan(0.85);
  });

  it('soft targets at a temperature (defensive distillation style) train a student', async () => {
    const teacher = createNetwork({ ...RECIPES.modern, output: 'softmax' }, [784, 64, 10], 3);
    const small = head(mnist.train, 3000);
    // gradients at temperature T are 1/T as large: a larger rate, 2 epochs
    await train(teacher, small, { ...recipeOptions('modern', 3), epochs: 2, lr: 0.25, temperature: 5 });
    teacher.temperature = 5;
    const soft = await teacher.forward(small.x);
    teacher.temperature = 1;
    const student = createNetwork({ ...RECIPES.modern, output: 'softmax' }, [784, 64, 10], 4);
    const r = await train(student, small, { ...recipeOptions('modern', 4), epochs: 2, lr: 0.25, temperature: 5, targets: soft });
    expect(r.epochLoss[1]).toBeLessThan(r.epochLoss[0]);
    expect((await evaluate(student, test2k)).accuracy).toBeGreaterThan(0.7);
  });
});

describe('train: control', () => {
  it('reports progress and keeps the event loop turning', async () => {
    const net = createNetwork('paper', [784, 512, 512, 10], 2);
    const events: { done: number; total: number; epoch: number; loss: number }[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    try {
      await train(net, train10k, {
        ...recipeOptions('paper', 2),
        epochs: 1,
        onProgress: (p) => events.push(p as never),
      });
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    expect(events.length).toBeGreaterThanOrEqual(10);
    expect(events.at(-1)).toMatchObject({ done: 100, total: 100, epoch: 1 });
    expect(events.every((e) => Number.isFinite(e.loss))).toBe(true);
    // a blocked loop would tick at most once; a free one about ms/5 times
    expect(ticks).toBeGreaterThan(Math.min(20, ms / 20));
  });

  it('aborts with AbortError, before and during the run; a busy network is refused', async () => {
    const net = createNetwork('paper', [784, 256, 10], 3);
    const before = new AbortController();
    before.abort();
    await expect(train(net, train10k, { ...recipeOptions('paper', 3), signal: before.signal })).rejects.toThrow(AbortError);
    const ac = new AbortController();
    // The second train starts once the first is running (its first progress event): a train
    // is async, so started side by side either could take the network first.
    let started!: () => void;
    const isRunning = new Promise<void>((r) => (started = r));
    const running = train(net, train10k, {
      ...recipeOptions('paper', 3),
      epochs: 50,
      signal: ac.signal,
      onProgress: () => started(),
    });
    await isRunning;
    await expect(train(net, train10k, recipeOptions('paper', 3))).rejects.toThrow(BusyError);
    ac.abort();
    await expect(running).rejects.toThrow(AbortError);
    // after the abort the network can be trained again
    await expect(train(net, head(train10k, 200), { ...recipeOptions('paper', 3), epochs: 1 })).resolves.toMatchObject({ steps: 2 });
  });
});

describe('train: bad input gives typed errors', () => {
  const net = createNetwork('paper', [784, 16, 10], 5);
  const small = head(mnist.train, 100);
  const opts = recipeOptions('paper', 5);
  const withX = (x: Float32Array, d: Dataset = small): Dataset => ({ ...d, x });

  it('NaN in the data', async () => {
    const x = small.x.slice();
    x[785] = NaN;
    await expect(train(net, withX(x), opts)).rejects.toThrow(ValueError);
  });
  it('wrong shapes', async () => {
    await expect(train(net, withX(small.x.slice(0, 783 * 100)), opts)).rejects.toThrow(ShapeError);
    await expect(train(net, { ...small, dims: 783 }, opts)).rejects.toThrow(ShapeError);
    await expect(train(net, small, { ...opts, loss: 'mse', targets: new Float32Array(5) })).rejects.toThrow(ShapeError);
  });
  it('labels out of range', async () => {
    const y = small.y.slice();
    y[7] = 10;
    await expect(train(net, { ...small, y }, opts)).rejects.toThrow(/found 10 at row 7/);
    await expect(train(net, { ...small, y }, opts)).rejects.toThrow(ValueError);
  });
  it('unknown loss, cross-entropy on a relu output, temperature without softmax, bad numbers', async () => {
    await expect(train(net, small, { ...opts, loss: 'hinge' as never })).rejects.toThrow(ValueError);
    await expect(train(net, small, { ...opts, loss: 'cross-entropy' })).rejects.toThrow(ValueError);
    await expect(train(net, small, { ...opts, temperature: 2 })).rejects.toThrow(ValueError);
    await expect(train(net, small, { ...opts, lr: -1 })).rejects.toThrow(ValueError);
    await expect(train(net, small, { ...opts, epochs: 1.5 })).rejects.toThrow(ArgumentError);
    await expect(train(net, small, { ...opts, seed: -1 })).rejects.toThrow(ValueError);
    await expect(train(net, small, { ...opts, shuffle: 'no' as never })).rejects.toThrow(expect.objectContaining({ name: 'ArgumentError', message: expect.stringMatching(/true or false for shuffle but received "no"/) }));
    await expect(train({} as Network, small, opts)).rejects.toThrow(ArgumentError);
    expect(() => createNetwork('nope' as never, [784, 10], 1)).toThrow(ValueError);
  });
});

describe('evaluate', () => {
  it('agrees with Network.accuracy and splits by class', async () => {
    const net = createNetwork('modern', [784, 32, 10], 6);
    await train(net, head(mnist.train, 2000), { ...recipeOptions('modern', 6), epochs: 1 });
    const ev = await evaluate(net, test2k);
    expect(ev.n).toBe(2000);
    expect(ev.accuracy).toBeCloseTo(await net.accuracy(test2k.x, test2k.y), 10);
    expect(ev.perClass.reduce((s, c) => s + c.n, 0)).toBe(2000);
    expect(ev.perClass.reduce((s, c) => s + c.correct, 0)).toBe(ev.correct);
  });
});
