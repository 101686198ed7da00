/**
 * The baselines on real digits (a 3,000 / 1,000 stratified MNIST subset, a 784-64-10
 * network of the paper's recipe, a few epochs): each does what it is for.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { createNetwork, evaluate, recipeOptions, train } from '../src/train/train.js';
import { distill, finetune, perturbedRows, pgdTrain } from '../src/defenses/index.js';
import { PGD } from '../src/attacks/pgd.js';
import { inputGradient } from '../src/attacks/gradients.js';
import type { Network } from '../src/model/network.js';

let tr: Dataset;
let te: Dataset;
let control: Network;
const sizes = [784, 64, 10];

beforeAll(async () => {
  const s = await loadDataset('mnist', { quick: true, quickTrain: 3000, quickTest: 1000, seed: 3 });
  tr = s.train;
  te = s.test;
  control = createNetwork('paper', sizes, 3);
  await train(control, tr, { ...recipeOptions('paper', 3), epochs: 10 });
});

async function pgdAccuracy(net: Network, eps: number): Promise<number> {
  const r = await new PGD({ steps: 10, relStep: 0.25 }).run(net, te.x.subarray(0, 300 * 784), te.y.subarray(0, 300), { epsilons: [eps], seed: 1 });
  let ok = 0;
  r.predictions[0].forEach((p, i) => (ok += +(p === te.y[i])));
  return ok / 300;
}

describe('defensive distillation', () => {
  it('deploys a student at T = 1 that is accurate, saturated and has vanishing input gradients', async () => {
    const { student, teacher, temperature } = await distill('paper', sizes, tr, { temperature: 50, epochs: 10, seed: 3 });
    expect(temperature).toBe(50);
    expect(student.output).toBe('softmax');
    expect(student.temperature).toBe(1);
    const acc = (await evaluate(student, te)).accuracy;
    expect(acc).toBeGreaterThan(0.8);
    expect((await evaluate(teacher, te)).accuracy).toBeGreaterThan(0.8);
    // At T = 1 the student's softmax is saturated: the winning probability is ~1 on most rows.
    const y = await student.forward(te.x.subarray(0, 200 * 784));
    let saturated = 0;
    for (let r = 0; r < 200; r++) saturated += +(Math.max(...y.subarray(r * 10, r * 10 + 10)) > 0.999);
    expect(saturated / 200).toBeGreaterThan(0.8);
    // …which is why the squared-error gradient of its output vanishes (the masking distillation is known for).
    const gS = (await inputGradient(student, te.x.subarray(0, 200 * 784), te.y.subarray(0, 200), 'mse')).grad;
    const gC = (await inputGradient(control, te.x.subarray(0, 200 * 784), te.y.subarray(0, 200), 'mse')).grad;
    // Median over rows of ‖∇x‖: saturated rows have (numerically) no gradient at all.
    const rowNorms = (g: Float32Array) =>
      Array.from({ length: 200 }, (_, r) => Math.sqrt(g.subarray(r * 784, (r + 1) * 784).reduce((a, v) => a + v * v, 0))).sort((a, b) => a - b);
    const med = (v: number[]) => v[v.length >> 1];
    expect(med(rowNorms(gS))).toBeLessThan(1e-3 * med(rowNorms(gC)));
  });
});

describe('fine-tuning', () => {
  it('FGSM-perturbs exactly the leading rows within u·sign(grad), u ≤ uMax, and keeps accuracy', async () => {
    const rows = await perturbedRows(control, tr, { kind: 'fgsm', seed: 3, replace: 500, uMax: 0.1 });
    expect(rows.length).toBe(500 * 784);
    let changed = 0;
    let maxDelta = 0;
    for (let j = 0; j < rows.length; j++) {
      const d = Math.abs(rows[j] - tr.x[j]);
      maxDelta = Math.max(maxDelta, d);
      if (d > 0) changed++;
      expect(rows[j] >= 0 && rows[j] <= 1).toBe(true);
    }
    expect(maxDelta).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(changed).toBeGreaterThan(rows.length * 0.2);
    const { network, replaced } = await finetune(control, tr, { kind: 'fgsm', seed: 3, replace: 500 });
    expect(replaced).toBe(500);
    expect(network).not.toBe(control);
    expect((await evaluate(network, te)).accuracy).toBeGreaterThan((await evaluate(control, te)).accuracy - 0.05);
  });
});

describe('PGD adversarial training', () => {
  it('raises accuracy under PGD at eps 0.1 above the control', async () => {
    const { network } = await pgdTrain('paper', sizes, tr, { seed: 3, eps: 0.1, steps: 3, epochs: 3, init: control });
    const [a0, a1] = [await pgdAccuracy(control, 0.1), await pgdAccuracy(network, 0.1)];
    expect(a1).toBeGreaterThan(a0 + 0.05);
  });
});
