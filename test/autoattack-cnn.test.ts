/**
 * AutoAttack on convolutional networks: the same implementation over the model handle, on a
 * real PyTorch-trained LeNet (test/fixtures/onnx/lenet_max.onnx, 98.7 % on MNIST test) with
 * every adversarial example confirmed by ONNX Runtime, and Square's windows in the model's
 * C × H × W layout on multi-channel inputs.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Network, PGD, ShapeError, SquareAttack, autoAttack, autoAttackSweep, loadOnnx, perturbationNorms } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';

const LENET = join(import.meta.dirname, 'fixtures', 'onnx', 'lenet_max.onnx');

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("Square's windows follow the model's C × H × W layout", () => {
  // A network that outputs zeros: every row is class 0, no proposal ever lowers the margin, so
  // Square returns its start point — on L∞, a vertical stripe of ±eps per (channel, column).
  const C = 3, H = 4, W = 6, d = C * H * W;
  const zero = new Network({ input: [C, H, W], layers: [{ type: 'dense', units: 10 }], output: 'linear' });
  zero.setWeights(0, new Float32Array(10 * d));
  const n = 4;
  const x = new Float32Array(n * d).fill(0.5);
  const y = new Int32Array(n);

  it('L∞ start: constant down each column of each channel plane, the channels drawn apart', async () => {
    const r = await new SquareAttack({ maxQueries: 5 }).run(zero, x, y, { epsilons: [0.1], seed: 1 });
    const adv = r.raw[0];
    let channelsDiffer = false;
    for (let i = 0; i < n; i++)
      for (let c = 0; c < C; c++)
        for (let col = 0; col < W; col++) {
          const at = (row: number, ch = c) => adv[i * d + (ch * H + row) * W + col];
          expect([0.4, 0.6].some((v) => Math.abs(at(0) - v) < 1e-6)).toBe(true);
          for (let row = 1; row < H; row++) expect(at(row)).toBe(at(0));
          if (c > 0 && at(0) !== at(0, 0)) channelsDiffer = true;
        }
    expect(channelsDiffer).toBe(true);
  });

  it('the network\'s shape by default, a shape that does not fit is a ShapeError naming it', async () => {
    const given = await new SquareAttack({ maxQueries: 5, shape: [C, H, W] }).run(zero, x, y, { epsilons: [0.1], seed: 1 });
    const byNet = await new SquareAttack({ maxQueries: 5 }).run(zero, x, y, { epsilons: [0.1], seed: 1 });
    expect(Buffer.from(given.raw[0].buffer).equals(Buffer.from(byNet.raw[0].buffer))).toBe(true);
    await expect(new SquareAttack({ shape: [5, 5] }).run(zero, x, y, { epsilons: [0.1] })).rejects.toBeInstanceOf(ShapeError);
    await expect(new SquareAttack({ shape: [2, 0, 36] as never }).run(zero, x, y, { epsilons: [0.1] })).rejects.toThrow(/shape/);
    await expect(autoAttack(zero, x, y, { eps: 0.1, shape: [7, 7], recheck: false })).rejects.toThrow(/shape 7×7/);
  });

  it('L2 on three channels stays in the ball', async () => {
    const rnd = lcg(3);
    const xr = Float32Array.from({ length: n * d }, () => rnd());
    const r = await new SquareAttack({ norm: 'l2', maxQueries: 20 }).run(zero, xr, y, { epsilons: [0.8], seed: 2 });
    for (const v of r.l2[0]) expect(v).toBeLessThanOrEqual(0.8 * (1 + 1e-5));
  });
});

describe('AutoAttack on a CNN', () => {
  it('on the PyTorch LeNet: worst case at most PGD\'s, falls with eps, each stage confirmed by ONNX Runtime', async () => {
    const net = await loadOnnx(LENET);
    expect(net.chain.map((l) => l.kind)).toContain('conv');
    const t = head(loadMnist().test, 24);
    // Reduced budgets (the test's cost, not the method): 20 APGD/FAB iterations, 3 targets, 300 queries.
    const o = { iterations: 20, targetClasses: 3, squareQueries: 300, seed: 1 };
    const rs = await autoAttackSweep(net, t.x, t.y, { ...o, epsilons: [0.1, 0.3] });
    expect(rs[0].recheck).toBe(true);
    expect(rs[0].cleanAccuracy).toBeGreaterThan(0.9);
    const pgd = await new PGD({ steps: 10 }).run(net, t.x, t.y, { epsilons: [0.1, 0.3], seed: 1 });
    for (const [e, r] of rs.entries()) {
      expect(r.stages.map((s) => s.attack)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
      expect(r.maxPerturbation).toBeLessThanOrEqual(r.eps + 1e-6);
      for (let s = 1; s < 4; s++) expect(r.stages[s].robustAccuracy).toBeLessThanOrEqual(r.stages[s - 1].robustAccuracy);
      // Each example counted as fooled is misclassified by ONNX Runtime at its adversarial point.
      r.fooledBy.forEach((f, i) => f >= 0 && expect(r.predictions[i]).not.toBe(t.y[i]));
      const pgdRobust = 1 - pgd.success[e].reduce((a, b) => a + b, 0) / t.n;
      expect(r.robustAccuracy).toBeLessThanOrEqual(pgdRobust + 1e-9);
      expect(r.warnings).toEqual([]);
    }
    expect(rs[0].robustAccuracy).toBeGreaterThan(0.3); // a LeNet keeps most digits at 0.1 (PyTorch PGD-10: 77 % on 10k)
    expect(rs[1].robustAccuracy).toBeLessThan(rs[0].robustAccuracy);
  }, 600_000);

  it('on a three-channel CNN: runs in L∞ and L2 within the budget, the same for the same seed', async () => {
    const net = new Network({ input: [3, 10, 10], layers: [{ type: 'conv', filters: 4, kernel: 3 }, { type: 'relu' }, { type: 'maxpool', kernel: 2 }, { type: 'dense', units: 5 }], output: 'linear', biases: true });
    const rnd = lcg(7);
    const p = net.parameters();
    net.setParameters({ weights: p.weights.map((w) => Float32Array.from(w, () => rnd() - 0.5)), biases: p.biases.map((b) => b && Float32Array.from(b, () => 0.1 * (rnd() - 0.5))) });
    const n = 12, d = 300;
    const x = Float32Array.from({ length: n * d }, () => rnd());
    const y = await net.predict(x);
    const o = { iterations: 10, targetClasses: 2, squareQueries: 50, seed: 4 };
    for (const [norm, eps] of [['linf', 0.05], ['l2', 0.5]] as const) {
      const a = await autoAttack(net, x, y, { ...o, norm, eps });
      const b = await autoAttack(net, x, y, { ...o, norm, eps });
      expect(a.cleanAccuracy).toBe(1);
      expect(Buffer.from(a.adversarial.buffer).equals(Buffer.from(b.adversarial.buffer))).toBe(true);
      const norms = perturbationNorms(x, a.adversarial, d);
      for (const v of norm === 'linf' ? norms.linf : norms.l2) expect(v).toBeLessThanOrEqual(eps * (1 + 1e-5));
      expect(a.robustAccuracy).toBeLessThan(1);
    }
  });
});
