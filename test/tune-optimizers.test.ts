/** GA and CMA-ES: deterministic per seed, they minimise known functions, their state survives JSON. */
import { describe, expect, it } from 'vitest';
import { CmaEs, GeneticAlgorithm, minimize, symmetricEigen, type Optimizer } from '../src/index.js';

const center = [0.2, 0.7, 0.4, 0.9, 0.1, 0.55];
/** A shifted, badly scaled quadratic with its minimum 0 inside the cube. */
const quad = (x: number[]) => x.reduce((a, v, i) => a + (i + 1) ** 2 * (v - center[i]) ** 2, 0);
const dist = (x: number[]) => Math.sqrt(x.reduce((a, v, i) => a + (v - center[i]) ** 2, 0));

function randomSearch(evaluations: number): number {
  let s = 99;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  let best = Infinity;
  for (let i = 0; i < evaluations; i++) best = Math.min(best, quad(center.map(() => rnd())));
  return best;
}

const makers: Record<string, (seed: number) => Optimizer> = {
  ga: (seed) => new GeneticAlgorithm(6, { seed }),
  cmaes: (seed) => new CmaEs(6, { seed }),
};

describe.each(Object.keys(makers))('%s', (name) => {
  const make = makers[name];
  const gens = name === 'ga' ? 60 : 120;

  it('minimises a shifted quadratic; the same seed gives the same run, another seed another', () => {
    const a = minimize(make(7), quad, gens);
    const b = minimize(make(7), quad, gens);
    const c = minimize(make(8), quad, gens);
    expect(b).toEqual(a);
    expect(c.x).not.toEqual(a.x);
    // Far better than random search with the same number of evaluations.
    expect(a.loss).toBeLessThan(randomSearch(a.evaluations) / 20);
    expect(a.loss).toBeLessThan(name === 'ga' ? 2e-3 : 1e-6);
    expect(dist(a.x)).toBeLessThan(name === 'ga' ? 0.05 : 1e-3);
    expect(c.loss).toBeLessThan(name === 'ga' ? 2e-3 : 1e-6);
  });

  it('every asked point lies in the unit cube, also for a minimum on the boundary', () => {
    const opt = make(3);
    const edge = (x: number[]) => x.reduce((a, v) => a + (v - 1.3) ** 2, 0); // minimum outside: at x = 1
    for (let g = 0; g < 30; g++) {
      const xs = opt.ask();
      for (const x of xs) for (const v of x) expect(v >= 0 && v <= 1).toBe(true);
      opt.tell(xs.map(edge));
    }
    const r = minimize(opt, edge, 20);
    for (const v of r.x) expect(v).toBeGreaterThan(0.9);
  });

  it('a state written to JSON and restored continues exactly like the uninterrupted run', () => {
    const whole = make(11);
    const first = make(11);
    for (let g = 0; g < 5; g++) {
      first.tell(first.ask().map(quad));
      whole.tell(whole.ask().map(quad));
    }
    const state = JSON.parse(JSON.stringify(first.toJSON()));
    const resumed = name === 'ga' ? GeneticAlgorithm.restore(state) : CmaEs.restore(state);
    expect(resumed.generation).toBe(5);
    for (let g = 0; g < 5; g++) {
      const xa = whole.ask();
      const xb = resumed.ask();
      expect(xb).toEqual(xa);
      whole.tell(xa.map(quad));
      resumed.tell(xb.map(quad));
    }
  });

  it('tell() checks its input', () => {
    const opt = make(1);
    expect(() => opt.tell([1])).toThrow(/without a pending ask/);
    opt.ask();
    expect(() => opt.tell([1, 2])).toThrow(/losses/);
  });
});

describe('CMA-ES', () => {
  it('solves a 4-d Rosenbrock valley (needs the covariance, not just the step size)', () => {
    const rosen = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < x.length - 1; i++) {
        const a = 4 * x[i] - 2;
        const b = 4 * x[i + 1] - 2;
        s += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
      }
      return s;
    };
    const r = minimize(new CmaEs(4, { seed: 1 }), rosen, 300);
    expect(r.loss).toBeLessThan(1e-4);
    for (const v of r.x) expect(v).toBeCloseTo(0.75, 2);
  });
});

describe('symmetricEigen (Jacobi)', () => {
  it('A = V diag(λ) Vᵀ with orthonormal V, eigenvalues ascending', () => {
    const n = 8;
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const a = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i][j] = a[j][i] = rnd();
    const { values, vectors: V } = symmetricEigen(a);
    for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let r = 0;
        let o = 0;
        for (let k = 0; k < n; k++) {
          r += V[i][k] * values[k] * V[j][k];
          o += V[k][i] * V[k][j];
        }
        expect(r).toBeCloseTo(a[i][j], 10);
        expect(o).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    // Trace is the sum of the eigenvalues.
    expect(values.reduce((x, y) => x + y, 0)).toBeCloseTo(a.reduce((t, r, i) => t + r[i], 0), 10);
  });
});
