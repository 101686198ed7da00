/**
 * The pieces of AutoAttack checked against hand computations (native/core/apgd.h, fab.h,
 * square.h): APGD's checkpoint schedule and step-size test, the DLR losses and their
 * gradients, FAB's projections and its minimal L∞ perturbation of a linear two-class model
 * (closed form), Square's window schedule; then seeding, progress, cancellation and bad input.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerAttack } from '../src/cli/commands/attack.js';
import { addon } from '../src/native/binding.js';
import { APGD, FAB, Network, SquareAttack, AbortError, ArgumentError, ValueError, attack, autoAttack, autoAttackSweep, perturbationNorms, runtimeInfo, saveOnnx, setGemm, setThreads } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { controlNetwork } from './helpers/control-net.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('APGD step-size schedule', () => {
  it('has the original checkpoints: h = 22, then h − 3 down to 6, for 100 iterations', () => {
    const s = addon().apgdSchedule(100);
    expect([s.h0, s.hMin, s.hDecr]).toEqual([22, 6, 3]);
    // 22 iterations after the start, then 19, 16, 13, 10, 7, 6, 6 (0-based iteration of each test)
    expect(s.lengths).toEqual([22, 19, 16, 13, 10, 7, 6, 6]);
    expect(s.checkpoints).toEqual([21, 40, 56, 69, 79, 86, 92, 98]);
  });

  it('scales with the iteration count (int(0.22 N), int(0.06 N), int(0.03 N), at least 1)', () => {
    const s = addon().apgdSchedule(10);
    expect([s.h0, s.hMin, s.hDecr]).toEqual([2, 1, 1]);
    expect(s.checkpoints).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(addon().apgdSchedule(1).checkpoints).toEqual([0]);
    const s50 = addon().apgdSchedule(50); // h0 11, hMin 3, decr 1
    expect(s50.checkpoints.slice(0, 4)).toEqual([10, 20, 29, 37]);
  });

  it('halves when at most ρ·h of the last h steps raised the loss, or when the best loss stalled', () => {
    const N = 100, k = 21, h = 22;
    const steps = new Float32Array(N);
    // Every step raises the loss (steps[0] > the original's unwritten slot −1 = 0 counts too): 22 > 16.5.
    for (let j = 0; j <= k; j++) steps[j] = j + 1;
    expect(addon().apgdShouldHalve(steps, k, h, 0.75, true, 0, 22)).toBe(false);
    // 16 increases (≤ 0.75·22 = 16.5): halve; 17: keep.
    const withIncreases = (m: number) => {
      const v = new Float32Array(N);
      for (let j = 0; j <= k; j++) v[j] = j < m ? j + 1 : m - (j - m) * 0.01; // m rises (the first against 0), then falls
      return v;
    };
    expect(addon().apgdShouldHalve(withIncreases(16), k, h, 0.75, true, 0, 100)).toBe(true);
    expect(addon().apgdShouldHalve(withIncreases(17), k, h, 0.75, true, 0, 100)).toBe(false);
    // Negative losses (DLR): the first step does not count as a rise against the slot at 0.
    const neg = new Float32Array(N);
    for (let j = 0; j <= k; j++) neg[j] = -1 + j * 0.01; // 21 rises, the first (−1 vs 0) not
    expect(addon().apgdShouldHalve(neg, k, h, 0.75, true, -2, -0.79)).toBe(false);
    neg[0] = 0.5; // now the first is a rise too — still 22 > 16.5, but the second is not
    expect(addon().apgdShouldHalve(neg, k, h, 0.75, true, -2, -0.79)).toBe(false);
    // Condition 2: the step size was not reduced at the last checkpoint and the best loss has not grown.
    expect(addon().apgdShouldHalve(steps, k, h, 0.75, false, 22, 22)).toBe(true);
    expect(addon().apgdShouldHalve(steps, k, h, 0.75, false, 21, 22)).toBe(false);
    expect(addon().apgdShouldHalve(steps, k, h, 0.75, true, 22, 22)).toBe(false);
  });
});

describe('APGD losses on hand-computed logits', () => {
  const z = Float32Array.from([1, 4, 2, 3]); // sorted: 4 (class 1), 3 (class 3), 2 (class 2), 1 (class 0)
  const run = (kind: 'ce' | 'dlr' | 'dlr-targeted', zz: Float32Array, y: number[], t: number[] | null) => {
    const n = y.length, K = zz.length / n;
    const loss = new Float32Array(n), G = new Float32Array(n * K);
    addon().apgdLoss(kind, zz, n, K, Int32Array.from(y), t ? Int32Array.from(t) : null, loss, G);
    return { loss: [...loss], G: [...G] };
  };

  it('DLR: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3) and its gradient through the sort', () => {
    // y = 1 (the top class): −(4 − 3)/(4 − 2) = −0.5; ∂/∂z: y −1/2 + 1/4, class 3 +1/2, π3 (class 2) −1/4.
    let r = run('dlr', z, [1], null);
    expect(r.loss[0]).toBeCloseTo(-0.5, 6);
    [0, -0.25, -0.25, 0.5].forEach((g, k) => expect(r.G[k]).toBeCloseTo(g, 6));
    // y = 0 (the last): −(1 − 4)/2 = 1.5; num = −3, q = num/den² = −0.75: y −1/2, π1 (class 1) +1/2 − 0.75, π3 +0.75.
    r = run('dlr', z, [0], null);
    expect(r.loss[0]).toBeCloseTo(1.5, 6);
    [-0.5, -0.25, 0.75, 0].forEach((g, k) => expect(r.G[k]).toBeCloseTo(g, 6));
  });

  it('targeted DLR: −(z_y − z_t) / (z_π1 − ½(z_π3 + z_π4))', () => {
    // y = 1, t = 3: −(4 − 3)/(4 − 1.5) = −0.4; q = 1/6.25 = 0.16.
    const r = run('dlr-targeted', z, [1], [3]);
    expect(r.loss[0]).toBeCloseTo(-0.4, 6);
    [-0.08, -0.4 + 0.16, -0.08, 0.4].forEach((g, k) => expect(r.G[k]).toBeCloseTo(g, 6));
  });

  it('CE is logsumexp(z) − z_y with gradient softmax − e_y; DLR is invariant to shifts and scales', () => {
    const r = run('ce', z, [2], null);
    const e = [...z].map(Math.exp), s = e.reduce((a, b) => a + b, 0);
    expect(r.loss[0]).toBeCloseTo(Math.log(s) - 2, 5);
    e.forEach((v, k) => expect(r.G[k]).toBeCloseTo(v / s - (k === 2 ? 1 : 0), 6));
    const rnd = lcg(7);
    for (let trial = 0; trial < 20; trial++) {
      const zz = Float32Array.from({ length: 10 }, () => rnd() * 6 - 3);
      const y = Math.floor(rnd() * 10);
      const base = run('dlr', zz, [y], null).loss[0];
      const shifted = run('dlr', zz.map((v) => 2.5 * v + 7), [y], null).loss[0];
      expect(shifted).toBeCloseTo(base, 4);
      // The gradient matches central differences of the loss (away from the kinks where the order changes).
      const sorted = [...zz].sort((a, b) => a - b);
      if (sorted.some((v, i) => i > 0 && v - sorted[i - 1] < 0.05)) continue;
      const g = run('dlr', zz, [y], null).G;
      for (let k = 0; k < 10; k++) {
        const h = 1e-3;
        const up = zz.slice(), dn = zz.slice();
        up[k] += h;
        dn[k] -= h;
        const fd = (run('dlr', up, [y], null).loss[0] - run('dlr', dn, [y], null).loss[0]) / (2 * h);
        expect(Math.abs(g[k] - fd)).toBeLessThan(0.01 + 0.01 * Math.abs(fd));
      }
    }
  });
});

describe("FAB's projections onto a hyperplane within the box", () => {
  const project = (norm: 'linf' | 'l2', t: number[], w: number[], b: number) => {
    const delta = new Float32Array(t.length);
    addon().fabProject(norm, Float32Array.from(t), Float32Array.from(w), b, delta);
    return [...delta];
  };

  it('L∞: the smallest step, with pixels that run out of room saturating (hand-computed)', () => {
    // w·t = 1.9, b = 2.4: each pixel must move by λ = 0.5/3 — but pixel 0 has only 0.1 of room,
    // so it stops at 1 and the others take 0.2: δ = (0.1, 0.2, 0.2), ‖δ‖∞ = 0.2.
    project('linf', [0.9, 0.5, 0.5], [1, 1, 1], 2.4).forEach((v, j) => expect(v).toBeCloseTo([0.1, 0.2, 0.2][j], 6));
    // From the other side, negative weights move up, positive down: w·t = 0.4 − 0.8 = −0.4 → b = −1.
    // Pixel 1 can rise by 0.2 only, so pixel 0 falls by 0.4 (its whole room): λ = 0.4.
    project('linf', [0.4, 0.8], [1, -1], -1).forEach((v, j) => expect(v).toBeCloseTo([-0.4, 0.2][j], 6));
    // Out of reach: every pixel moves by its whole room.
    project('linf', [0.5, 0.5], [1, 1], 3).forEach((v) => expect(v).toBeCloseTo(0.5, 6));
    // A zero weight never moves.
    expect(project('linf', [0.5, 0.5], [0, 1], 0.7)[0]).toBe(0);
  });

  it('L2: δ = −λw clipped to the box (hand-computed)', () => {
    // w·t = 1.4, b = 1.8: δ = (0.2, 0.2) would take pixel 0 to 1.1; it stops at 1 (0.1), pixel 1 takes 0.3.
    project('l2', [0.9, 0.5], [1, 1], 1.8).forEach((v, j) => expect(v).toBeCloseTo([0.1, 0.3][j], 6));
    project('l2', [0.5, 0.5], [1, 2], 2).forEach((v, j) => expect(v).toBeCloseTo([0.1, 0.2][j], 6)); // unclipped: 0.5/5·w
  });

  it('agrees with a bisection on random hyperplanes (on the plane, in the box, minimal)', () => {
    const rnd = lcg(11);
    for (let trial = 0; trial < 200; trial++) {
      const d = 1 + Math.floor(rnd() * 40);
      const t = Array.from({ length: d }, () => (rnd() < 0.3 ? Math.round(rnd()) : rnd()));
      const w = Array.from({ length: d }, () => (rnd() < 0.1 ? 0 : rnd() * 2 - 1));
      const wt = t.reduce((a, v, j) => a + v * w[j], 0);
      const b = wt + (rnd() * 2 - 1) * 0.5 * d * 0.3;
      for (const norm of ['linf', 'l2'] as const) {
        const delta = project(norm, t, w, b);
        // The step as a function of λ, pixel by pixel (0 where w = 0), and its change of w·v.
        const step = (lam: number) =>
          t.map((v, j) => {
            if (w[j] === 0) return 0;
            const dir = Math.sign(b - wt) * Math.sign(w[j]);
            const room = dir > 0 ? 1 - v : v;
            return dir * Math.min(room, norm === 'linf' ? lam : lam * Math.abs(w[j]));
          });
        const change = (lam: number) => step(lam).reduce((a, v, j) => a + v * w[j], 0);
        const need = b - wt;
        let lo = 0, hi = 1e6;
        for (let i = 0; i < 200; i++) {
          const mid = (lo + hi) / 2;
          if (Math.abs(change(mid)) < Math.abs(need)) lo = mid;
          else hi = mid;
        }
        const ref = step(hi);
        delta.forEach((v, j) => expect(v).toBeCloseTo(ref[j], 4));
        delta.forEach((v, j) => {
          expect(t[j] + v).toBeGreaterThanOrEqual(-1e-6);
          expect(t[j] + v).toBeLessThanOrEqual(1 + 1e-6);
        });
      }
    }
  });
});

describe('FAB on a linear two-class model', () => {
  // For a linear model every iterate stays on the segment from x to its exact projection x + δ*
  // (δ* = |f(x)| / ‖w₁ − w₀‖₁ in every pixel, towards the other class), at s·δ*: FAB's step gives
  // s ← (s + η(1 − s))(1 − α) + ηα with α = min((1 − s)/(2 − s), α_max), and an adversarial
  // s > 1 is recorded and shrunk to βs. The smallest recorded s is FAB's answer in closed form:
  // the optimum times a factor its 5 % overshoot leaves (1.00521 for η 1.05, β 0.9, α_max 0.1).
  const fabFactor = (iterations: number) => {
    let s = 0, best = Infinity;
    for (let i = 0; i < iterations; i++) {
      const al = Math.min(Math.max(1 - s, 1e-8) / (Math.max(1 - s, 1e-8) + 1), 0.1);
      s = (s + 1.05 * (1 - s)) * (1 - al) + 1.05 * al;
      if (s > 1) {
        best = Math.min(best, s);
        s *= 0.9;
      }
    }
    return best;
  };

  it('finds the minimal L∞ perturbation |f(x)| / ‖w₁ − w₀‖₁ (closed form), up to its overshoot', async () => {
    expect(fabFactor(100)).toBeCloseTo(1.005213, 5);
    const d = 30, n = 12;
    const rnd = lcg(5);
    const net = new Network({ sizes: [d, 2], output: 'linear', biases: true });
    net.setWeights(0, Float32Array.from({ length: 2 * d }, () => rnd() * 2 - 1));
    net.setBias(0, Float32Array.from([0.3, 0]));
    // Points in the middle of the box, so that the nearest boundary point is inside it.
    const x = Float32Array.from({ length: n * d }, () => 0.45 + 0.1 * rnd());
    const y = await net.predict(x);
    const W = net.getWeights(0), bias = net.getBias(0)!;
    for (const targeted of [true, false]) {
      const fab = new FAB({ targeted, stopAtEps: false, iterations: 100 });
      const r = await attack(net, x, y, fab, { epsilons: [1] });
      for (let i = 0; i < n; i++) {
        const xi = x.subarray(i * d, (i + 1) * d);
        const o = 1 - y[i];
        let f = bias[o] - bias[y[i]], u1 = 0, room = Infinity;
        for (let j = 0; j < d; j++) {
          const u = W[o * d + j] - W[y[i] * d + j];
          f += u * xi[j];
          u1 += Math.abs(u);
          room = Math.min(room, xi[j], 1 - xi[j]);
        }
        const exact = Math.abs(f) / u1;
        expect(1.05 * exact).toBeLessThan(room); // the box never binds: the closed form applies
        expect(r.success[0][i]).toBe(1);
        expect(r.linf[0][i]).toBeGreaterThan(exact); // nothing beats the optimum
        expect(r.linf[0][i] / exact).toBeCloseTo(fabFactor(100), 4); // and FAB ends where its iteration says
      }
    }
  });
});

describe("Square's window schedule (the original's p_selection)", () => {
  it('halves p at iterations 10, 50, 200, 500, 1000, 2000, 4000 when unscaled (AutoAttack)', () => {
    const s = addon().squareSides(0.8, 5000, false, 28, 28);
    // side = round(√(p·784)): 25, 18, 13, 9, 6, 4, 3, 2
    const at = (i: number) => s[i];
    expect([at(0), at(10), at(11), at(50), at(51), at(200), at(201), at(500), at(501)]).toEqual([25, 25, 18, 18, 13, 13, 9, 9, 6]);
    expect([at(1000), at(1001), at(2000), at(2001), at(4000), at(4001), at(4999)]).toEqual([6, 4, 4, 3, 3, 2, 2]);
  });

  it('spreads the schedule over Q when rescaled (the class default), and never exceeds the image', () => {
    const s = addon().squareSides(0.8, 5000, true, 28, 28); // it = ⌊i·10000/5000⌋ = 2i
    expect([s[5], s[6], s[25], s[26]]).toEqual([25, 18, 18, 13]);
    expect(Math.max(...addon().squareSides(1, 10, false, 3, 8))).toBe(3);
    // L2: at least 3 and odd — 25, 19, 13, 9, 7, 5, 3, 3.
    const l2 = addon().squareSides(0.8, 5000, false, 28, 28, true);
    expect([l2[0], l2[11], l2[51], l2[201], l2[501], l2[1001], l2[2001], l2[4001]]).toEqual([25, 19, 13, 9, 7, 5, 3, 3]);
  });
});

describe('APGD and AutoAttack: seeding, threads, progress, cancellation', () => {
  const threads = runtimeInfo().threads;
  afterAll(() => setThreads(threads));
  const t = head(loadMnist().test, 40);

  it('is reproducible for a seed, whatever the thread count, and the seed matters', async () => {
    const net = controlNetwork();
    const a = new APGD({ iterations: 20 });
    setThreads(1);
    const one = await a.run(net, t.x, t.y, { epsilons: [0.05], seed: 3 });
    setThreads(2);
    const two = await a.run(net, t.x, t.y, { epsilons: [0.05], seed: 3 });
    const other = await a.run(net, t.x, t.y, { epsilons: [0.05], seed: 4 });
    expect(Buffer.from(one.raw[0].buffer).equals(Buffer.from(two.raw[0].buffer))).toBe(true);
    expect(Buffer.from(one.raw[0].buffer).equals(Buffer.from(other.raw[0].buffer))).toBe(false);
    for (const v of one.linf[0]) expect(v).toBeLessThanOrEqual(0.05 + 1e-6);
    expect(a.lastStats[0].halvings).toBeGreaterThan(0);
  });

  it("APGD's runs side by side give what they give one after another: with the own GEMM the same bits and halvings", async () => {
    const net = controlNetwork();
    const gemm = runtimeInfo().gemm;
    setGemm('native'); // each row the same bits whatever the batch (OpenBLAS may round a row differently in another batch size)
    const few = head(t, 24);
    try {
      const configs: [Record<string, unknown>, number][] = [
        [{ loss: 'dlr-targeted' }, 0.05],
        [{ loss: 'dlr-targeted', earlyStop: false }, 0.05],
        [{ loss: 'ce', restarts: 3 }, 0.04],
        [{ loss: 'dlr-targeted', norm: 'l2', restarts: 2, targetClasses: 3 }, 1.0],
      ];
      for (const [o, eps] of configs) {
        const runs: { raw: Buffer; halvings: number; zero: number; fooled: number }[] = [];
        for (const runsPerPass of [1, 4, 0]) {
          const a = new APGD({ iterations: 20, batch: 15, ...o, runsPerPass });
          const r = await a.run(net, few.x, few.y, { epsilons: [eps], seed: 5 });
          const fooled = r.success[0].reduce((a, b) => a + b, 0);
          runs.push({ raw: Buffer.from(r.raw[0].buffer), halvings: a.lastStats[0].halvings, zero: a.lastStats[0].zeroGradient, fooled });
          // some rows fall and others survive every run: which run's example counts decides the bits
          expect(fooled).toBeGreaterThan(0);
          expect(fooled).toBeLessThan(few.n);
        }
        for (const r of runs.slice(1)) {
          expect(r.raw.equals(runs[0].raw), JSON.stringify(o)).toBe(true);
          expect(r.halvings, JSON.stringify(o)).toBe(runs[0].halvings);
          expect(r.zero).toBe(runs[0].zero);
          expect(r.fooled).toBe(runs[0].fooled);
        }
      }
    } finally {
      setGemm(gemm as 'native' | 'openblas');
    }
  });

  it("FAB's runs side by side give what they give one after another: with the own GEMM the same bits", async () => {
    const net = controlNetwork();
    const gemm = runtimeInfo().gemm;
    setGemm('native'); // each row the same bits whatever the batch
    const few = head(t, 24);
    try {
      const configs: [Record<string, unknown>, number][] = [
        [{ targeted: true, targetClasses: 4 }, 0.05],
        [{ targeted: true, targetClasses: 4, stopAtEps: false }, 0.05],
        [{ targeted: false, restarts: 3 }, 0.05],
        [{ targeted: true, norm: 'l2', restarts: 2, targetClasses: 3 }, 0.8],
      ];
      for (const [o, eps] of configs) {
        const runs: { raw: Buffer; fooled: number }[] = [];
        for (const runsPerPass of [1, 3, 0]) {
          const r = await attack(net, few.x, few.y, new FAB({ iterations: 20, batch: 15, ...o, runsPerPass }), { epsilons: [eps], seed: 5 });
          const fooled = r.success[0].reduce((a, b) => a + b, 0);
          runs.push({ raw: Buffer.from(r.raw[0].buffer), fooled });
          // some rows fall and others survive every run: which run's example counts decides the bits
          expect(fooled, JSON.stringify(o)).toBeGreaterThan(0);
          expect(fooled, JSON.stringify(o)).toBeLessThan(few.n);
        }
        for (const r of runs.slice(1)) {
          expect(r.raw.equals(runs[0].raw), JSON.stringify(o)).toBe(true);
          expect(r.fooled).toBe(runs[0].fooled);
        }
      }
    } finally {
      setGemm(gemm as 'native' | 'openblas');
    }
  });

  it('a sweep over eps gives at each eps exactly what autoAttack gives at that eps alone', async () => {
    const net = controlNetwork();
    const few = head(t, 16);
    const o = { iterations: 10, squareQueries: 40, targetClasses: 2, seed: 2 };
    const both = await autoAttackSweep(net, few.x, few.y, { ...o, epsilons: [0.03, 0.06] });
    for (const [e, eps] of [0.03, 0.06].entries()) {
      const alone = await autoAttack(net, few.x, few.y, { ...o, eps });
      expect(both[e].eps).toBe(eps);
      expect([...both[e].robust]).toEqual([...alone.robust]);
      expect([...both[e].fooledBy]).toEqual([...alone.fooledBy]);
      expect(Buffer.from(both[e].adversarial.buffer).equals(Buffer.from(alone.adversarial.buffer))).toBe(true);
      expect(both[e].stages.map((s) => s.robustAccuracy)).toEqual(alone.stages.map((s) => s.robustAccuracy));
      expect(both[e].maxPerturbation).toBeLessThanOrEqual(eps + 1e-6);
    }
    expect(both[1].robustAccuracy).toBeLessThanOrEqual(both[0].robustAccuracy);
  });

  it('L2: every stage (Square L2 included) stays in the L2 ball and the robust accuracy falls with eps', async () => {
    const net = controlNetwork();
    const few = head(t, 20);
    const rs = await autoAttackSweep(net, few.x, few.y, { norm: 'l2', epsilons: [0.5, 1.5], iterations: 20, squareQueries: 100, targetClasses: 3, seed: 1 });
    for (const r of rs) {
      expect(r.norm).toBe('l2');
      expect(r.maxPerturbation).toBeLessThanOrEqual(r.eps * (1 + 1e-5));
      const norms = perturbationNorms(few.x, r.adversarial, 784);
      r.fooledBy.forEach((f, i) => f >= 0 && expect(norms.l2[i]).toBeGreaterThan(0));
    }
    expect(rs[1].robustAccuracy).toBeLessThan(rs[0].robustAccuracy);
    // Square L2 alone: within the ball, and it fools some digits at 1.5 with forward passes only.
    const sq = await attack(net, few.x, few.y, new SquareAttack({ norm: 'l2', maxQueries: 300 }), { epsilons: [1.5], seed: 1 });
    for (const v of sq.l2[0]) expect(v).toBeLessThanOrEqual(1.5 * (1 + 1e-5));
    expect(sq.success[0].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('reports progress, keeps the event loop turning, and stops on its AbortSignal', async () => {
    const net = controlNetwork();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const phases = new Set<string>();
    const r = await autoAttack(net, t.x, t.y, { eps: 0.05, iterations: 10, squareQueries: 20, onProgress: (p) => phases.add(p.phase) });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    expect([...phases]).toEqual(expect.arrayContaining(['apgd-ce']));
    expect(r.stages.map((s) => s.attack)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    const ac = new AbortController();
    const p = autoAttack(net, t.x, t.y, { eps: 0.01, signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });
});

describe('AutoAttack: bad input gets typed errors naming the parameter', () => {
  const net = controlNetwork();
  const t = head(loadMnist().test, 2);
  const bad = (o: Record<string, unknown>) => autoAttack(net, t.x, t.y, { eps: 0.1, ...o } as never);

  it('refuses budgets outside [0, 1], unknown norms and versions, too many targets, budgets of 0', async () => {
    await expect(bad({ eps: 1.5 })).rejects.toThrow(/eps/);
    await expect(bad({ eps: -0.1 })).rejects.toBeInstanceOf(ValueError);
    await expect(bad({ eps: Number.NaN })).rejects.toThrow(/eps/);
    await expect(bad({ norm: 'l1' })).rejects.toThrow(/norm/);
    await expect(bad({ version: 'rand' })).rejects.toThrow(/version/);
    await expect(bad({ targetClasses: 10 })).rejects.toThrow(/targetClasses in \[1, 9\]/);
    await expect(bad({ iterations: 0 })).rejects.toThrow(/iterations/);
    await expect(bad({ squareQueries: 0 })).rejects.toThrow(/squareQueries/);
    await expect(bad({ restarts: 0 })).rejects.toThrow(/restarts/);
    await expect(bad({ attacks: ['apgd-ce'] })).rejects.toThrow(/custom/);
    await expect(bad({ version: 'custom', attacks: ['apgd-x'] })).rejects.toThrow(/attacks\[0\]/);
    await expect(bad({ version: 'custom' })).rejects.toThrow(/attacks/);
    await expect(bad({ norm: 'l2', eps: 28.5 })).rejects.toThrow(/eps in \[0, 28\]/); // L2: up to the diameter √784
    await expect(autoAttack(net, t.x, [0, 12], { eps: 0.1 })).rejects.toThrow(/labels\[1\]/);
    await expect(autoAttack({ native: () => net.native(), inputSize: 784, outputSize: 10 }, t.x, t.y, { eps: 0.1 })).rejects.toBeInstanceOf(ArgumentError);
    expect(() => new APGD({ iterations: 0 })).toThrow(/iterations/);
    expect(() => new APGD({ loss: 'hinge' as never })).toThrow(/loss/);
    expect(() => new APGD({ runsPerPass: -1 })).toThrow(/runsPerPass/);
    expect(() => new FAB({ targetClasses: 0 })).toThrow(/targetClasses/);
    expect(() => new FAB({ runsPerPass: -1 })).toThrow(/runsPerPass/);
    expect(() => new SquareAttack({ incremental: 'yes' as never })).toThrow(expect.objectContaining({ name: 'ArgumentError', message: expect.stringMatching(/incremental/) }));
    const notBoolean = (name: string) => expect.objectContaining({ name: 'ArgumentError', message: expect.stringMatching(new RegExp(`true or false for ${name}`)) });
    expect(() => new APGD({ earlyStop: 'false' as never })).toThrow(notBoolean('earlyStop'));
    expect(() => new FAB({ stopAtEps: 0 as never })).toThrow(notBoolean('stopAtEps'));
    expect(() => new FAB({ targeted: 'no' as never })).toThrow(notBoolean('targeted'));
    await expect(bad({ recheck: 'no' })).rejects.toThrow(notBoolean('recheck'));
    await expect(new APGD({ loss: 'dlr-targeted', targetClasses: 10 }).run(net, t.x, t.y, { epsilons: [0.1] })).rejects.toThrow(/targetClasses/);
    await expect(new APGD().run(net, t.x, t.y, { epsilons: [2] })).rejects.toThrow(/epsilons\[0\]/);
  });

  it('is checked again in C++ before memory is touched', async () => {
    const y = Int32Array.from(t.y);
    const out = new Float32Array(2 * 784);
    const run = (kind: 'apgd' | 'fab', o: Record<string, number | boolean | string>) => addon().attackRun(kind as 'apgd', net.native(), t.x, 2, y, { eps: 0.1, seed: 0, ...o }, out, null);
    await expect(run('apgd', { iterations: 0 })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(run('apgd', { loss: 'dlr-targeted', targetClasses: 10 })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(run('fab', { eps: -1 })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(run('apgd', { runsPerPass: -1 })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    await expect(run('fab', { runsPerPass: -1 })).rejects.toMatchObject({ code: 'ERR_VALUE' });
    expect(() => run('apgd', { loss: 'nope' })).toThrow(expect.objectContaining({ code: 'ERR_VALUE' }));
    expect(() => addon().attackRun('apgd', net.native(), t.x, 2, y, { eps: 0.1, seed: 0, keys: [1] }, out, null)).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
  });
});

describe('nrem attack --attack autoattack (CLI)', () => {
  it('prints the robust accuracy after each stage and the checks, re-checked with ONNX Runtime', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'nrem-aa-cli-'));
    try {
      const model = join(tmp, 'control.onnx');
      await saveOnnx(controlNetwork(), model);
      const run = async (...extra: string[]) => {
        const lines: string[] = [];
        const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
        try {
          const program = new Command().exitOverride();
          registerAttack(program);
          await program.parseAsync(['node', 'nrem', 'attack', '--model', model, '--attack', 'autoattack', '--limit', '30', '--json', ...extra]);
        } finally {
          spy.mockRestore();
        }
        return JSON.parse(lines[lines.length - 1]) as {
          attack: string; version: string; n: number; cleanAccuracy: number; recheck: boolean;
          perEpsilon: { epsilon: number; robustAccuracy: number; stages: { attack: string; robustAccuracy: number }[]; warnings: string[]; checks: { id: string; fired: boolean }[]; maxPerturbation: number }[];
        };
      };
      const r = await run('--eps', '0.3,0.25');
      expect([r.attack, r.version, r.n, r.recheck]).toEqual(['autoattack', 'standard', 30, true]);
      expect(r.cleanAccuracy).toBeGreaterThan(0.9);
      expect(r.perEpsilon.map((p) => p.epsilon)).toEqual([0.3, 0.25]);
      for (const p of r.perEpsilon) {
        expect(p.stages.map((s) => s.attack)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
        expect(p.robustAccuracy).toBe(0); // the control has no robustness at these budgets (the reference's 0.0 % at 0.3)
        expect(p.warnings).toEqual([]);
        // Stages with nothing left to attack are skipped, and so are their checks (as the original's).
        expect(p.checks.map((c) => c.id)).toEqual(['probabilities', 'randomized', 'zero-gradient']);
        expect(p.maxPerturbation).toBeLessThanOrEqual(p.epsilon + 1e-6);
      }
      await expect(run('--version', 'rand')).rejects.toThrow(/--version/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
