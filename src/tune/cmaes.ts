/**
 * CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016) over [0, 1]^dim.
 *
 *   sample   z_k ~ N(0, I),  y_k = B·D·z_k,  x_k = m + σ·y_k         (k = 1..λ)
 *   evaluate the clipped point clip(x_k) and penalise the excursion:
 *            loss'_k = loss_k + boundPenalty · ‖x_k − clip(x_k)‖²
 *   sort by loss', y_(i) the i-th best;  weights w_i ∝ ln(μ + ½) − ln i, Σ w = 1
 *   m'   = m + σ Σ w_i y_(i)
 *   p_σ  = (1 − c_σ) p_σ + √(c_σ(2 − c_σ) μ_eff) · C^(-½) (m' − m)/σ
 *   h_σ  = [ ‖p_σ‖ / √(1 − (1 − c_σ)^(2(g+1))) < (1.4 + 2/(n+1)) · E‖N(0,I)‖ ]
 *   p_c  = (1 − c_c) p_c + h_σ √(c_c(2 − c_c) μ_eff) · (m' − m)/σ
 *   C    = (1 − c_1 − c_μ) C + c_1 (p_c p_cᵀ + (1 − h_σ) c_c(2 − c_c) C) + c_μ Σ w_i y_(i) y_(i)ᵀ
 *   σ    = σ · exp((c_σ/d_σ)(‖p_σ‖/E‖N(0,I)‖ − 1))
 *
 * with the tutorial's default constants (c_c, c_σ, c_1, c_μ, d_σ from n and μ_eff). C is
 * decomposed as B·diag(D²)·Bᵀ every generation by Jacobi rotations (src/tune/eigen.ts).
 * Draws come from (seed, generation, i): seeded and resumable.
 */
import { ValueError } from '../errors.js';
import { expectInt, expectNumber, expectSeed } from '../util/validate.js';
import { symmetricEigen } from './eigen.js';
import { Draws } from './random.js';
import { clip01, finiteOrWorst, type Optimizer, type OptimizerState } from './optimizer.js';

export interface CmaesOptions {
  seed?: number;
  /** λ, candidates per generation (default 4 + ⌊3 ln dim⌋). */
  popSize?: number;
  /** Initial step size in cube units (default 0.3). */
  sigma?: number;
  /** Initial mean (default: a uniform random point of the cube drawn from the seed). */
  mean?: number[];
  /** Weight of the squared distance to the cube of an out-of-bounds sample (default 1). */
  boundPenalty?: number;
}

export interface CmaesState extends OptimizerState {
  algorithm: 'cmaes';
  dim: number;
  seed: number;
  lambda: number;
  boundPenalty: number;
  generation: number;
  mean: number[];
  sigma: number;
  C: number[][];
  pc: number[];
  ps: number[];
}

/** Draws of the default initial mean use this generation number (never a real one). */
const MEAN_DRAWS = 0x7fffffff;

export class CmaEs implements Optimizer {
  readonly algorithm = 'cmaes' as const;
  private s: CmaesState;
  private B: number[][] = [];
  private D: number[] = [];
  private pending: { raw: number[][]; y: number[][] } | null = null;

  constructor(dim: number, opts: CmaesOptions = {}) {
    const n = expectInt(dim, 'dim', 1);
    const seed = expectSeed(opts.seed ?? 0);
    const lambda = expectInt(opts.popSize ?? 4 + Math.floor(3 * Math.log(n)), 'popSize', 2);
    const sigma = expectNumber(opts.sigma ?? 0.3, 'sigma', Number.MIN_VALUE);
    let mean: number[];
    if (opts.mean) {
      if (!Array.isArray(opts.mean) || opts.mean.length !== n) throw new ValueError(`Expected ${n} values for mean`);
      mean = opts.mean.map((v, i) => clip01(expectNumber(v, `mean[${i}]`)));
    } else {
      const r = new Draws(seed, MEAN_DRAWS);
      mean = Array.from({ length: n }, () => r.uniform());
    }
    const I = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
    this.s = {
      algorithm: 'cmaes',
      dim: n,
      seed,
      lambda,
      boundPenalty: expectNumber(opts.boundPenalty ?? 1, 'boundPenalty', 0),
      generation: 0,
      mean,
      sigma,
      C: I,
      pc: new Array(n).fill(0),
      ps: new Array(n).fill(0),
    };
    this.decompose();
  }

  static restore(s: CmaesState): CmaEs {
    if (s?.algorithm !== 'cmaes') throw new ValueError('Expected a CMA-ES state (algorithm "cmaes")');
    const c = new CmaEs(s.dim, { seed: s.seed, popSize: s.lambda, sigma: s.sigma, mean: s.mean, boundPenalty: s.boundPenalty });
    c.s = structuredClone(s);
    c.decompose();
    return c;
  }

  get dim(): number {
    return this.s.dim;
  }
  get generation(): number {
    return this.s.generation;
  }
  get sigma(): number {
    return this.s.sigma;
  }
  get mean(): number[] {
    return [...this.s.mean];
  }

  private decompose(): void {
    const n = this.s.dim;
    // Enforce symmetry against round-off before decomposing.
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) this.s.C[i][j] = this.s.C[j][i] = (this.s.C[i][j] + this.s.C[j][i]) / 2;
    const e = symmetricEigen(this.s.C);
    this.B = e.vectors;
    this.D = e.values.map((v) => Math.sqrt(Math.max(v, 1e-20)));
  }

  ask(): number[][] {
    if (!this.pending) {
      const { dim: n, lambda, seed, generation, mean, sigma } = this.s;
      const r = new Draws(seed, generation);
      const raw: number[][] = [];
      const ys: number[][] = [];
      for (let k = 0; k < lambda; k++) {
        const z = Array.from({ length: n }, () => r.normal());
        const y = new Array(n).fill(0);
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += this.B[i][j] * this.D[j] * z[j];
          y[i] = acc;
        }
        ys.push(y);
        raw.push(mean.map((m, i) => m + sigma * y[i]));
      }
      this.pending = { raw, y: ys };
    }
    return this.pending.raw.map((x) => x.map(clip01));
  }

  tell(losses: number[]): void {
    const p = this.pending;
    if (!p) throw new ValueError('tell() without a pending ask()');
    const { dim: n, lambda } = this.s;
    if (!Array.isArray(losses) || losses.length !== lambda)
      throw new ValueError(`Expected ${lambda} losses (one per asked point) but received ${losses?.length}`);
    const penalised = losses.map((l, k) => {
      let d2 = 0;
      for (const v of p.raw[k]) d2 += (v - clip01(v)) ** 2;
      return finiteOrWorst(l) + this.s.boundPenalty * d2;
    });
    const order = penalised.map((_, k) => k).sort((a, b) => penalised[a] - penalised[b] || a - b);
    const mu = Math.floor(lambda / 2);
    const w0 = Array.from({ length: mu }, (_, i) => Math.log(mu + 0.5) - Math.log(i + 1));
    const wsum = w0.reduce((a, b) => a + b, 0);
    const w = w0.map((v) => v / wsum);
    const mueff = 1 / w.reduce((a, b) => a + b * b, 0);
    const cc = (4 + mueff / n) / (n + 4 + (2 * mueff) / n);
    const cs = (mueff + 2) / (n + mueff + 5);
    const c1 = 2 / ((n + 1.3) ** 2 + mueff);
    const cmu = Math.min(1 - c1, (2 * (mueff - 2 + 1 / mueff)) / ((n + 2) ** 2 + mueff));
    const damps = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + cs;
    const chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));

    const s = this.s;
    const yw = new Array(n).fill(0);
    for (let i = 0; i < mu; i++) for (let j = 0; j < n; j++) yw[j] += w[i] * p.y[order[i]][j];
    s.mean = s.mean.map((m, j) => m + s.sigma * yw[j]);
    // C^(-1/2) yw = B diag(1/D) Bᵀ yw
    const bty = Array.from({ length: n }, (_, k) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += this.B[i][k] * yw[i];
      return acc / this.D[k];
    });
    const cInvHalfY = Array.from({ length: n }, (_, i) => {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += this.B[i][k] * bty[k];
      return acc;
    });
    const fs = Math.sqrt(cs * (2 - cs) * mueff);
    s.ps = s.ps.map((v, i) => (1 - cs) * v + fs * cInvHalfY[i]);
    const psNorm = Math.sqrt(s.ps.reduce((a, b) => a + b * b, 0));
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * (s.generation + 1))) / chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const fc = Math.sqrt(cc * (2 - cc) * mueff);
    s.pc = s.pc.map((v, i) => (1 - cc) * v + hsig * fc * yw[i]);
    const keep = 1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < mu; k++) rankMu += w[k] * p.y[order[k]][i] * p.y[order[k]][j];
        const v = keep * s.C[i][j] + c1 * s.pc[i] * s.pc[j] + cmu * rankMu;
        s.C[i][j] = v;
        s.C[j][i] = v;
      }
    }
    s.sigma *= Math.exp((cs / damps) * (psNorm / chiN - 1));
    s.generation++;
    this.pending = null;
    this.decompose();
  }

  toJSON(): CmaesState {
    return structuredClone(this.s);
  }
}
