import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerAttack } from '../src/cli/commands/attack.js';
import {
  Network, DeepFool, FGSM, PGD, JSMA, SquareAttack, fgsmSweep, epsRange, distort, evaluateDistortions,
  inputGradient, AbortError, ValueError, ShapeError, attack, summarize, saveOnnx,
} from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { controlNetwork } from './helpers/control-net.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('DeepFool', () => {
  it('finds the analytic minimal L2 perturbation of a linear classifier (within 1%)', async () => {
    const d = 20, K = 4, n = 8;
    const r = lcg(3);
    const net = new Network({ sizes: [d, K], output: 'linear', biases: true });
    net.setWeights(0, Float32Array.from({ length: K * d }, () => (r() - 0.5) * 2));
    net.setBias(0, Float32Array.from({ length: K }, () => (r() - 0.5) * 0.5));
    const x = Float32Array.from({ length: n * d }, () => 0.4 + 0.2 * r());
    const y = await net.predict(x);
    const df = new DeepFool({ overshoot: 0.001 });
    const res = await df.run(net, x, y);
    const W = net.getWeights(0), b = net.getBias(0)!;
    for (let i = 0; i < n; i++) {
      // distance to the nearest boundary: min_k |f_k| / ‖w_k − w_y‖
      const xi = x.subarray(i * d, (i + 1) * d);
      const z = Array.from({ length: K }, (_, k) => b[k] + xi.reduce((s, v, j) => s + W[k * d + j] * v, 0));
      let best = Infinity;
      for (let k = 0; k < K; k++) {
        if (k === y[i]) continue;
        let w2 = 0;
        for (let j = 0; j < d; j++) w2 += (W[k * d + j] - W[y[i] * d + j]) ** 2;
        best = Math.min(best, Math.abs(z[k] - z[y[i]]) / Math.sqrt(w2));
      }
      expect(res.success[0][i]).toBe(1);
      expect(res.l2[0][i] / best).toBeGreaterThanOrEqual(0.999);
      expect(res.l2[0][i] / best).toBeLessThan(1.01);
    }
    expect(Array.from(df.lastIterations!)).toEqual(new Array(n).fill(1));
  });
});

describe('FGSM and PGD', () => {
  // 3-2-2 network, ReLU hidden (scale 1), linear output: gradients by hand.
  const net = new Network({ sizes: [3, 2, 2], output: 'linear' });
  net.setWeights(0, Float32Array.from([1, -2, 0.5, -1, 1, 1]));
  net.setWeights(1, Float32Array.from([2, -1, -1, 3]));
  const x = new Float32Array([0.5, 0.1, 0.4]);

  it('matches a hand-computed sign gradient (cross-entropy on the logits)', async () => {
    // h = relu([0.5 − 0.2 + 0.2, −0.5 + 0.1 + 0.4]) = [0.5, 0]; z = [1, −0.5]
    const z = [1, -0.5];
    const p0 = Math.exp(z[0]) / (Math.exp(z[0]) + Math.exp(z[1]));
    const g = [p0 - 1, 1 - p0]; // ∂CE/∂z for y = 0
    // ∂/∂h = g·W2 ; only hidden unit 0 active ; ∂/∂x = (∂/∂h0)·W1[0]
    const dh0 = g[0] * 2 + g[1] * -1;
    const gx = [1, -2, 0.5].map((w) => dh0 * w);
    const { grad } = await inputGradient(net, x, [0], 'ce');
    gx.forEach((v, j) => expect(grad[j]).toBeCloseTo(v, 6));
    const eps = 0.05;
    const res = await new FGSM().run(net, x, [0], { epsilons: [eps] });
    const expected = Array.from(x).map((v, j) => Math.min(1, Math.max(0, v + eps * Math.sign(gx[j]))));
    Array.from(res.clipped[0]).forEach((v, j) => expect(v).toBeCloseTo(expected[j], 6));
  });

  it('PGD with 1 iteration, no random start and step = eps equals FGSM (MNIST, both losses)', async () => {
    const control = controlNetwork();
    const t = head(loadMnist().test, 64);
    for (const loss of ['mse', 'ce'] as const) {
      const eps = [0.05, 0.2];
      const f = await new FGSM({ loss }).run(control, t.x, t.y, { epsilons: eps });
      for (let e = 0; e < eps.length; e++) {
        const p = await new PGD({ loss, steps: 1, randomStart: false, step: eps[e] }).run(control, t.x, t.y, { epsilons: [eps[e]] });
        expect(p.clipped[0]).toEqual(f.clipped[e]);
        expect(p.success[0]).toEqual(f.success[e]);
      }
      // The native sweep gives the same verdicts as the FGSM attack.
      const sw = await fgsmSweep(control, t.x, t.y, { epsilons: eps, loss });
      for (let e = 0; e < eps.length; e++)
        for (let i = 0; i < t.n; i++) expect(sw.correct[e][i]).toBe(+(f.predictions[e][i] === t.y[i]));
    }
  });

  it('the closed-form sweep (default) gives the direct sweep\'s verdicts, every eps and row', async () => {
    const t = head(loadMnist().test, 150); // 4 networks × 2 methods × up to 31 eps: 150 rows keep it well within the timeout
    const control = controlNetwork();
    const [W1, W2, W3] = control.parameters().weights;
    const r = lcg(9);
    // The control network with small biases and a softmax output; and a one-layer linear
    // classifier (its first layer is the output: no ReLU) made from the first 10 hidden units.
    const biased = new Network({ sizes: [784, 1200, 1200, 10], output: 'softmax', biases: true }, [W1, W2, W3],
      [1200, 1200, 10].map((m) => Float32Array.from({ length: m }, () => (r() - 0.5) * 0.1)));
    const linear = new Network({ sizes: [784, 10], output: 'linear' }, [W1.slice(0, 7840)]);
    const shuffled = [0.3, 0, 0.05, 0.4, 0.005, 0.05, 0.2, 0.1, 0.15, 0.25];
    const cases: [string, Network, number[], 'mse' | 'ce'][] = [
      ['control, paper sweep, mse', control, epsRange(), 'mse'],
      ['control, paper sweep, ce', control, epsRange(), 'ce'],
      ['biases + softmax, unsorted eps with a repeat', biased, shuffled, 'ce'],
      ['one linear layer', linear, shuffled, 'ce'],
    ];
    for (const [name, net, eps, loss] of cases) {
      const cf = await fgsmSweep(net, t.x, t.y, { epsilons: eps, loss });
      const di = await fgsmSweep(net, t.x, t.y, { epsilons: eps, loss, method: 'direct' });
      let differ = 0;
      for (let e = 0; e < eps.length; e++) for (let i = 0; i < t.n; i++) differ += +(cf.correct[e][i] !== di.correct[e][i]);
      expect(differ, name).toBe(0);
      expect(cf.accuracy[eps.indexOf(0)], name).toBeGreaterThan(cf.accuracy[eps.indexOf(0.3)]); // the attack bites
    }
    await expect(fgsmSweep(control, t.x, t.y, { method: 'exact' as never })).rejects.toThrow(ValueError);
  });

  it('PGD stays in the eps-ball and [0, 1]; L2 PGD in the L2 ball; seeded and reproducible', async () => {
    const control = controlNetwork();
    const t = head(loadMnist().test, 32);
    const a = await new PGD({ steps: 5, restarts: 2 }).run(control, t.x, t.y, { epsilons: [0.1], seed: 5 });
    const b = await new PGD({ steps: 5, restarts: 2 }).run(control, t.x, t.y, { epsilons: [0.1], seed: 5 });
    expect(a.clipped[0]).toEqual(b.clipped[0]);
    for (const v of a.linf[0]) expect(v).toBeLessThanOrEqual(0.1 + 1e-6);
    for (const v of a.clipped[0]) expect(v >= 0 && v <= 1).toBe(true);
    const l2 = await new PGD({ norm: 'l2', steps: 5 }).run(control, t.x, t.y, { epsilons: [1.5], seed: 1 });
    for (const v of l2.l2[0]) expect(v).toBeLessThanOrEqual(1.5 + 1e-4);
  });

  it('epsRange gives the paper sweep', () => {
    const e = epsRange();
    expect(e.length).toBe(81);
    expect(e[1]).toBe(0.005);
    expect(e[80]).toBe(0.4);
  });
});

describe('JSMA', () => {
  it('never changes more pixels than its budget allows and reaches the target class', async () => {
    const control = controlNetwork();
    const t = head(loadMnist().test, 24);
    for (const pairs of [true, false]) {
      const maxIterations = 15;
      const j = new JSMA({ maxIterations, pairs, maxChanges: 2 });
      const r = await j.run(control, t.x, t.y);
      for (let i = 0; i < t.n; i++) {
        expect(r.l0[0][i]).toBeLessThanOrEqual((pairs ? 2 : 1) * maxIterations);
        expect(r.linf[0][i]).toBeLessThanOrEqual(2 * 0.1 + 1e-6);
        if (r.success[0][i]) expect(r.predictions[0][i]).toBe(r.targets![i]);
        expect(r.targets![i]).not.toBe(r.clean[i]); // default target: the second most likely class
      }
    }
  });
});

describe('Square attack', () => {
  it('lowers accuracy with forward passes only, within the eps-ball, reproducibly', async () => {
    const control = controlNetwork();
    const t = head(loadMnist().test, 48);
    const sq = new SquareAttack({ maxQueries: 150 });
    const r = await attack(control, t.x, t.y, sq, { epsilons: [0.3], seed: 2 });
    const r2 = await attack(control, t.x, t.y, new SquareAttack({ maxQueries: 150 }), { epsilons: [0.3], seed: 2 });
    expect(r.clipped[0]).toEqual(r2.clipped[0]);
    const s = summarize(r, t.x, t.y);
    expect(s.perEpsilon[0].successRate).toBeGreaterThan(0.7);
    for (const v of r.linf[0]) expect(v).toBeLessThanOrEqual(0.3 + 1e-6);
  });

  it("L∞ on a dense first layer: the first layer's sums updated from the window give the whole pass's verdicts", async () => {
    const control = controlNetwork();
    const t = head(loadMnist().test, 40);
    const runs = [];
    for (const incremental of [false, true]) {
      const sq = new SquareAttack({ maxQueries: 600, rescaleSchedule: false, incremental });
      const r = await attack(control, t.x, t.y, sq, { epsilons: [0.08, 0.15], seed: 3 });
      runs.push({ r, queries: Array.from(sq.lastQueries!) });
    }
    const [whole, inc] = runs;
    for (let e = 0; e < 2; e++) {
      const fooled = inc.r.success[e].reduce((a, b) => a + b, 0);
      // some rows fall during the 600 queries, others survive them: the search's path matters
      expect(fooled).toBeGreaterThan(0);
      expect(fooled).toBeLessThan(t.n);
      expect(Array.from(inc.r.success[e])).toEqual(Array.from(whole.r.success[e]));
      // every verdict is the deployed network's on the returned example
      const pred = await control.predict(inc.r.clipped[e]);
      for (let i = 0; i < t.n; i++) expect(pred[i] !== t.y[i]).toBe(inc.r.success[e][i] === 1);
    }
    // the same search: each row stopped at the same query
    expect(inc.queries).toEqual(whole.queries);
  });
});

describe('distortions', () => {
  const t = head(loadMnist().test, 50);
  it('blur: 2⌈2σ⌉+1 kernel, replicate padding, against a direct implementation', async () => {
    for (const sigma of [0.5, 1, 2.5]) {
      const out = await distort(t.x.subarray(0, 784 * 3), 784, 'blur', sigma);
      const rad = Math.ceil(2 * sigma);
      const k = Array.from({ length: 2 * rad + 1 }, (_, i) => Math.exp(-((i - rad) ** 2) / (2 * sigma * sigma)));
      const ks = k.reduce((a, b) => a + b, 0);
      const cl = (v: number) => Math.min(27, Math.max(0, v));
      for (let r = 0; r < 3; r++)
        for (const [u, v] of [[0, 0], [14, 14], [27, 3], [5, 26]]) {
          let s = 0;
          for (let a = -rad; a <= rad; a++)
            for (let b = -rad; b <= rad; b++) s += (k[a + rad] * k[b + rad] * t.x[r * 784 + cl(u + a) * 28 + cl(v + b)]) / (ks * ks);
          expect(out[r * 784 + u * 28 + v]).toBeCloseTo(Math.min(1, s), 5);
        }
    }
    expect(await distort(t.x, 784, 'blur', 0)).toEqual(t.x);
  });

  it('noise has the requested variance, is seeded and clipped; salt-and-pepper and contrast', async () => {
    const grey = new Float32Array(784 * 20).fill(0.5);
    const a = await distort(grey, 784, 'noise', 0.01, { seed: 3 });
    const b = await distort(grey, 784, 'noise', 0.01, { seed: 3 });
    const c = await distort(grey, 784, 'noise', 0.01, { seed: 4 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    let m = 0, v = 0;
    for (const x of a) m += x;
    m /= a.length;
    for (const x of a) v += (x - m) ** 2;
    v /= a.length;
    expect(Math.abs(m - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(v - 0.01)).toBeLessThan(0.001);
    for (const x of await distort(t.x, 784, 'noise', 0.9)) expect(x >= 0 && x <= 1).toBe(true);
    const sp = await distort(grey, 784, 'saltpepper', 0.2, { seed: 1 });
    const changed = sp.filter((x) => x !== 0.5).length / sp.length;
    expect(Math.abs(changed - 0.2)).toBeLessThan(0.02);
    const ct = await distort(new Float32Array([0, 1, 0.5]), 3, 'contrast', 0.5);
    expect(Array.from(ct)).toEqual([0.25, 0.75, 0.5]);
  });

  it('accuracy falls with the level on the control network', async () => {
    const curves = await evaluateDistortions(controlNetwork(), t.x, t.y, { noise: [0, 0.5], blur: [0, 3] }, { seed: 1 });
    for (const c of curves) expect(c.accuracy[1]).toBeLessThan(c.accuracy[0]);
  });
});

describe('control and errors', () => {
  it('stops on an AbortSignal and reports progress', async () => {
    const control = controlNetwork();
    const t = head(loadMnist().test, 64);
    const ac = new AbortController();
    const events: number[] = [];
    const p = new PGD({ steps: 1000, earlyStop: false, batch: 16 }).run(control, t.x, t.y, {
      epsilons: [0.01],
      signal: ac.signal,
      onProgress: (e) => {
        events.push(e.done);
        ac.abort();
      },
    });
    await expect(p).rejects.toThrow(AbortError);
    expect(events.length).toBeGreaterThan(0);
  });

  it('rejects bad input with typed errors', async () => {
    const control = controlNetwork();
    const x = new Float32Array(784);
    await expect(new FGSM().run(control, x, [0])).rejects.toThrow(ValueError); // no epsilons
    await expect(new FGSM().run(control, x, [10], { epsilons: [0.1] })).rejects.toThrow(ValueError);
    await expect(new FGSM().run(control, new Float32Array(5), [0], { epsilons: [0.1] })).rejects.toThrow(ShapeError);
    await expect(new FGSM().run(control, x.map(() => 2), [0], { epsilons: [0.1] })).rejects.toThrow(ValueError);
    await expect(new FGSM().run(control, x, [0], { epsilons: [-1] })).rejects.toThrow(ValueError);
    expect(() => new PGD({ loss: 'hinge' as never })).toThrow(ValueError);
    // Booleans are booleans: a string or number is refused by name, not read as truthy.
    for (const [make, name] of [
      [() => new PGD({ randomStart: 'false' as never }), 'randomStart'],
      [() => new PGD({ earlyStop: 0 as never }), 'earlyStop'],
      [() => new PGD({ targeted: 1 as never }), 'targeted'],
      [() => new JSMA({ pairs: 'single' as never }), 'pairs'],
      [() => new SquareAttack({ rescaleSchedule: 'yes' as never }), 'rescaleSchedule'],
    ] as const)
      expect(make, name).toThrow(expect.objectContaining({ name: 'ArgumentError', message: expect.stringMatching(new RegExp(`true or false for ${name}`)) }));
    await expect(distort(x, 784, 'blur', 1, { shape: [10, 10] })).rejects.toThrow(ShapeError);
  });
});

describe('nrem attack (CLI)', () => {
  it('fgsm --json: the sweep both ways gives the same accuracies, re-checked with ONNX Runtime', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'nrem-attack-cli-'));
    try {
      const model = join(tmp, 'control.onnx');
      await saveOnnx(controlNetwork(), model);
      const run = async (method: string) => {
        const lines: string[] = [];
        const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
        try {
          const program = new Command().exitOverride();
          registerAttack(program);
          await program.parseAsync(['node', 'nrem', 'attack', '--model', model, '--attack', 'fgsm', '--eps', '0,0.1,0.3',
            '--limit', '300', '--sweep-method', method, '--json']);
        } finally {
          spy.mockRestore();
        }
        return JSON.parse(lines[lines.length - 1]) as { method: string; accuracy: number[]; recheck: { rejected: number[]; disagreements: number[] } };
      };
      const cf = await run('closed-form');
      const di = await run('direct');
      expect(cf.method).toBe('closed-form');
      expect(di.method).toBe('direct');
      expect(cf.accuracy).toEqual(di.accuracy);
      expect(cf.accuracy[0]).toBeGreaterThan(0.9);
      expect(cf.accuracy[2]).toBeLessThan(cf.accuracy[1]);
      expect(cf.recheck.rejected).toEqual([0, 0]); // ONNX Runtime confirms every success at 0.1 and 0.3
      expect(cf.recheck.disagreements).toEqual([0, 0]);
      await expect(run('exact')).rejects.toThrow(/method/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
