/**
 * Convolutional networks end to end on real digits: training (the modern recipe), every
 * attack with the ONNX Runtime re-check, distortions and the three defences, on a small
 * LeNet-style CNN, and on a PyTorch-exported MLP with biases.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CarliniWagnerL2, DeepFool, FGSM, JSMA, PGD, SquareAttack, createNetwork, evaluate, evaluateDistortions, fgsmSweep,
  LENET_ARCH, loadDataset, loadOnnx, parseArch, recipeOptions, setThreads, train, transferAttack, architectureOf,
  type Architecture, type Dataset, type Network,
} from '../src/index.js';
import { recheckWithOrt } from '../src/attacks/recheck.js';
import { distill, finetune, pgdTrain } from '../src/defenses/index.js';

const ARCH = { input: [1, 28, 28], layers: (parseArch('conv:8x5,pool:max2,conv:16x5,pool:avg2,dense:32,10') as Architecture).layers } as Architecture;
let tr: Dataset;
let te: Dataset;
let cnn: Network;

beforeAll(async () => {
  const s = await loadDataset('mnist', { quick: true, quickTrain: 4000, quickTest: 500, seed: 2 });
  tr = s.train;
  te = s.test;
  cnn = createNetwork('modern', ARCH, 2);
  await train(cnn, tr, { ...recipeOptions('modern', 2), epochs: 2 });
}, 120_000);

const rate = (s: Uint8Array) => s.reduce((a, v) => a + v, 0) / s.length;

describe('a CNN trained by nrem (modern recipe)', () => {
  it('learns MNIST: a small CNN reaches > 90 % after 2 epochs on 4,000 digits', async () => {
    expect(cnn.chain.map((l) => l.kind)).toEqual(['conv', 'maxpool', 'conv', 'avgpool', 'dense', 'dense']);
    expect((await evaluate(cnn, te)).accuracy).toBeGreaterThan(0.9);
  });

  it('trains to the same weights with 1 and 2 threads', async () => {
    const run = async (threads: number) => {
      setThreads(threads);
      try {
        const net = createNetwork('modern', ARCH, 5);
        await train(net, { ...tr, n: 600, x: tr.x.subarray(0, 600 * 784), y: tr.y.subarray(0, 600) }, { ...recipeOptions('modern', 5), epochs: 1 });
        return Buffer.concat(net.parameters().weights.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
      } finally {
        setThreads('auto');
      }
    };
    expect((await run(1)).equals(await run(2))).toBe(true);
  });

  it('every attack runs on it, and ONNX Runtime confirms the adversarial examples', async () => {
    const x = te.x.subarray(0, 60 * 784), y = te.y.subarray(0, 60);
    const sweep = await fgsmSweep(cnn, x, y, { epsilons: [0, 0.1, 0.3] });
    expect(sweep.loss).toBe('ce');
    expect(sweep.accuracy[0]).toBeGreaterThan(0.9);
    expect(sweep.accuracy[2]).toBeLessThan(sweep.accuracy[0]);
    const mse = await fgsmSweep(cnn, x, y, { epsilons: [0.3], loss: 'mse' });
    expect(mse.accuracy[0]).toBeGreaterThanOrEqual(0);
    const attacks = [
      [new FGSM(), [0.3]],
      [new PGD({ steps: 10 }), [0.3]],
      [new DeepFool(), undefined],
      [new CarliniWagnerL2({ searchSteps: 2, maxIterations: 100, lr: 0.05, initialConst: 1 }), undefined],
      [new JSMA({ maxIterations: 60 }), undefined],
      [new SquareAttack({ maxQueries: 200 }), [0.3]],
    ] as const;
    for (const [a, eps] of attacks) {
      const r = await a.run(cnn, x, y, { epsilons: eps ? [...eps] : undefined, seed: 1 });
      const rc = await recheckWithOrt(cnn, r, y);
      expect(rate(r.success[0]), a.name).toBeGreaterThan(a.name === 'jsma' ? 0.2 : 0.5);
      expect(rc.rejected.reduce((s, v) => s + v, 0), `${a.name}: examples ONNX Runtime classifies otherwise`).toBeLessThanOrEqual(1);
    }
    const other = cnn.clone();
    await train(other, { ...tr, n: 500, x: tr.x.subarray(0, 500 * 784), y: tr.y.subarray(0, 500) }, { ...recipeOptions('modern', 9), epochs: 1 });
    const t = await transferAttack(cnn, other, x, y, new PGD({ steps: 10 }), { epsilons: [0.3], seed: 1 });
    expect(rate(t.sourceSuccess[0])).toBeGreaterThan(0.5);
  }, 120_000);

  it('distortions (noise, blur) lower its accuracy with the level', async () => {
    const c = await evaluateDistortions(cnn, te.x, te.y, { noise: [0, 0.5], blur: [0, 2] }, { seed: 1, shape: [28, 28] });
    for (const curve of c) expect(curve.accuracy[1], curve.kind).toBeLessThan(curve.accuracy[0]);
  });

  it('distillation, fine-tuning and PGD training give CNNs of the same architecture', async () => {
    const small = { ...tr, n: 1000, x: tr.x.subarray(0, 1000 * 784), y: tr.y.subarray(0, 1000) };
    const { student } = await distill('modern', architectureOf(cnn), small, { temperature: 20, epochs: 1, seed: 4 });
    expect(student.chain.map((l) => l.kind)).toEqual(cnn.chain.map((l) => l.kind));
    expect(student.output).toBe('softmax');
    const ft = await finetune(cnn, small, { kind: 'fgsm', seed: 4, replace: 300, epochs: 1, recipe: 'modern' });
    expect(ft.network.chain.map((l) => l.out)).toEqual(cnn.chain.map((l) => l.out));
    expect((await evaluate(ft.network, te)).accuracy).toBeGreaterThan(0.9);
    const adv = await pgdTrain('modern', architectureOf(cnn), small, { seed: 4, epochs: 1, steps: 3, eps: 0.1, init: cnn });
    expect((await evaluate(adv.network, te)).accuracy).toBeGreaterThan(0.8);
  }, 120_000);
});

describe('the built-in LeNet', () => {
  it('is --arch lenet: conv 16 and 32 channels of 5×5, max-pooled, 128 and 10 units (the PyTorch fixture lenet_max)', async () => {
    expect(parseArch('lenet')).toEqual(parseArch(LENET_ARCH));
    const net = createNetwork('modern', { input: [1, 28, 28], layers: (parseArch('lenet') as Architecture).layers }, 1);
    const torch = await loadOnnx(join(__dirname, 'fixtures/onnx/lenet_max.onnx'));
    expect(net.chain.map((l) => [l.kind, l.out])).toEqual(torch.chain.map((l) => [l.kind, l.out]));
  });
});

describe('an MLP with biases exported by PyTorch', () => {
  it('every attack and distortion runs on it, confirmed by ONNX Runtime', async () => {
    const net = await loadOnnx(join(import.meta.dirname, 'fixtures', 'onnx', 'mlp_bias.onnx'));
    expect(net.hasBiases).toBe(true);
    const x = te.x.subarray(0, 60 * 784), y = te.y.subarray(0, 60);
    for (const a of [new FGSM(), new PGD({ steps: 10 }), new DeepFool(), new SquareAttack({ maxQueries: 200 })]) {
      const r = await a.run(net, x, y, { epsilons: a.name === 'deepfool' ? undefined : [0.3], seed: 2 });
      const rc = await recheckWithOrt(net, r, y);
      expect(rate(r.success[0]), a.name).toBeGreaterThan(0.5);
      expect(rc.rejected.reduce((s, v) => s + v, 0)).toBeLessThanOrEqual(1);
    }
    const c = await evaluateDistortions(net, te.x, te.y, { noise: [0, 0.3] }, { seed: 1 });
    expect(c[0].accuracy[0]).toBeGreaterThan(0.9);
  }, 120_000);
});
