/**
 * A real-coded genetic algorithm over [0, 1]^dim (the authors' choice of search for the
 * sleep parameters). One generation:
 *
 *   population P (size popSize): the `elite` best survivors + the children of the last ask
 *   child = mutate(crossover(tournament(P), tournament(P)))
 *     tournament: the best of `tournament` members drawn uniformly with replacement
 *     crossover (prob. crossoverRate): BLX-α, gene_i ~ U[lo − α·d, hi + α·d], d = hi − lo
 *       (else a copy of the first parent)
 *     mutation: each gene with prob. mutationRate (default 1/dim, at least one gene per
 *       child on average): gene += N(0, mutationSigma²); every gene clipped to [0, 1]
 *     a child equal to a population member or an earlier child gets one more gene mutated
 *   the elites keep their known loss and are not evaluated again (the objective is
 *   deterministic: the tuner fixes the sleep seed and the validation noise).
 *
 * Generation 0 is popSize uniform random points (plus any `initial` points given). All
 * draws come from (seed, generation, i): seeded and resumable.
 */
import { ValueError } from '../errors.js';
import { expectInt, expectNumber, expectSeed } from '../util/validate.js';
import { Draws } from './random.js';
import { clip01, finiteOrWorst, type Optimizer, type OptimizerState } from './optimizer.js';

export interface GaOptions {
  seed?: number;
  /** Population size (default 16). */
  popSize?: number;
  /** Survivors carried unchanged into the next generation (default 2). */
  elite?: number;
  tournament?: number;
  crossoverRate?: number;
  /** α of BLX-α crossover (default 0.3). */
  blendAlpha?: number;
  /** Per-gene mutation probability (default 1/dim). */
  mutationRate?: number;
  /** Standard deviation of the Gaussian mutation in cube units (default 0.1). */
  mutationSigma?: number;
  /** Points of the cube to put into generation 0 (e.g. a preset). */
  initial?: number[][];
}

interface Member {
  x: number[];
  loss: number;
}

export interface GaState extends OptimizerState {
  algorithm: 'ga';
  dim: number;
  options: Required<Omit<GaOptions, 'initial'>> & { initial: number[][] };
  generation: number;
  population: Member[];
}

function same(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class GeneticAlgorithm implements Optimizer {
  readonly algorithm = 'ga' as const;
  private state: GaState;
  private pending: number[][] | null = null;

  constructor(dim: number, opts: GaOptions = {}) {
    expectInt(dim, 'dim', 1);
    const popSize = expectInt(opts.popSize ?? 16, 'popSize', 2);
    const o = {
      seed: expectSeed(opts.seed ?? 0),
      popSize,
      elite: expectInt(opts.elite ?? 2, 'elite', 0, popSize - 1),
      tournament: expectInt(opts.tournament ?? 3, 'tournament', 1),
      crossoverRate: expectNumber(opts.crossoverRate ?? 0.9, 'crossoverRate', 0, 1),
      blendAlpha: expectNumber(opts.blendAlpha ?? 0.3, 'blendAlpha', 0),
      mutationRate: expectNumber(opts.mutationRate ?? 1 / dim, 'mutationRate', 0, 1),
      mutationSigma: expectNumber(opts.mutationSigma ?? 0.1, 'mutationSigma', 0),
      initial: (opts.initial ?? []).map((x, i) => {
        if (!Array.isArray(x) || x.length !== dim) throw new ValueError(`Expected ${dim} values for initial[${i}]`);
        return x.map(clip01);
      }),
    };
    this.state = { algorithm: 'ga', dim, options: o, generation: 0, population: [] };
  }

  static restore(s: GaState): GeneticAlgorithm {
    if (s?.algorithm !== 'ga') throw new ValueError('Expected a GA state (algorithm "ga")');
    const ga = new GeneticAlgorithm(s.dim, s.options);
    ga.state = structuredClone(s);
    // JSON writes Infinity as null: a worst loss comes back as null.
    ga.state.population = ga.state.population.map((m) => ({ x: [...m.x], loss: m.loss === null ? Infinity : m.loss }));
    return ga;
  }

  get dim(): number {
    return this.state.dim;
  }
  get generation(): number {
    return this.state.generation;
  }
  /** The current population, best first. */
  get population(): readonly Member[] {
    return this.state.population;
  }

  ask(): number[][] {
    if (this.pending) return this.pending.map((x) => [...x]);
    const { dim, options: o, generation } = this.state;
    const r = new Draws(o.seed, generation);
    let xs: number[][];
    if (generation === 0) {
      xs = o.initial.slice(0, o.popSize).map((x) => [...x]);
      while (xs.length < o.popSize) xs.push(Array.from({ length: dim }, () => r.uniform()));
    } else {
      const pop = this.state.population;
      const keep = Math.min(o.elite, pop.length);
      xs = [];
      for (let c = keep; c < o.popSize; c++) {
        const a = this.select(r).x;
        const b = this.select(r).x;
        let child: number[];
        if (r.uniform() < o.crossoverRate) {
          child = a.map((ai, i) => {
            const lo = Math.min(ai, b[i]);
            const hi = Math.max(ai, b[i]);
            const d = hi - lo;
            return lo - o.blendAlpha * d + r.uniform() * (1 + 2 * o.blendAlpha) * d;
          });
        } else child = [...a];
        for (let i = 0; i < dim; i++) if (r.uniform() < o.mutationRate) child[i] += o.mutationSigma * r.normal();
        child = child.map(clip01);
        // A copy of a known point would only repeat its evaluation: mutate one more gene.
        for (let tries = 0; tries < 10 && (pop.some((m) => same(m.x, child)) || xs.some((x) => same(x, child))); tries++) {
          const i = r.int(dim);
          child[i] = clip01(child[i] + o.mutationSigma * r.normal());
        }
        xs.push(child);
      }
    }
    this.pending = xs;
    return xs.map((x) => [...x]);
  }

  private select(r: Draws): Member {
    const pop = this.state.population;
    let best = pop[r.int(pop.length)];
    for (let k = 1; k < this.state.options.tournament; k++) {
      const m = pop[r.int(pop.length)];
      if (m.loss < best.loss) best = m;
    }
    return best;
  }

  tell(losses: number[]): void {
    const xs = this.pending;
    if (!xs) throw new ValueError('tell() without a pending ask()');
    if (!Array.isArray(losses) || losses.length !== xs.length)
      throw new ValueError(`Expected ${xs.length} losses (one per asked point) but received ${losses?.length}`);
    const o = this.state.options;
    const elites = this.state.population.slice(0, Math.min(o.elite, this.state.population.length));
    const children = xs.map((x, i) => ({ x, loss: finiteOrWorst(losses[i]) }));
    // Stable sort: ties keep elites first, then children in ask order.
    this.state.population = [...elites, ...children].sort((p, q) => p.loss - q.loss).slice(0, o.popSize);
    this.state.generation++;
    this.pending = null;
  }

  toJSON(): GaState {
    return structuredClone(this.state);
  }
}
