/**
 * The ask/tell contract shared by the search algorithms. Both minimise a loss over the
 * unit cube [0, 1]^dim (the tuner maps the cube to sleep parameters, src/tune/space.ts):
 *
 *   const xs = opt.ask();          // a generation of points in the cube, to evaluate
 *   opt.tell(losses);              // their losses, same order
 *
 * The whole state is a plain JSON object (toJSON / restore) so that a search can be
 * checkpointed after any generation and continued bit for bit.
 */
export interface Optimizer {
  readonly algorithm: 'ga' | 'cmaes';
  readonly dim: number;
  /** Generations told so far. */
  readonly generation: number;
  /** Candidates of the next generation (each in [0, 1]^dim). Calling twice gives the same points. */
  ask(): number[][];
  /** Losses of the points of the last ask(), in order (NaN or Infinity count as worst). */
  tell(losses: number[]): void;
  toJSON(): OptimizerState;
}

export interface OptimizerState {
  algorithm: 'ga' | 'cmaes';
  [key: string]: unknown;
}

export function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Non-finite losses become +Infinity so they sort last. */
export function finiteOrWorst(l: number): number {
  return Number.isFinite(l) ? l : Infinity;
}

/**
 * Minimises f over [0,1]^dim with `opt` for `generations` generations (test and demo
 * helper; the tuner drives ask/tell itself to evaluate whole generations in one batch).
 */
export function minimize(opt: Optimizer, f: (x: number[]) => number, generations: number): { x: number[]; loss: number; evaluations: number } {
  let best = { x: [] as number[], loss: Infinity };
  let evaluations = 0;
  for (let g = 0; g < generations; g++) {
    const xs = opt.ask();
    const ls = xs.map(f);
    evaluations += xs.length;
    ls.forEach((l, i) => {
      if (l < best.loss) best = { x: [...xs[i]], loss: l };
    });
    opt.tell(ls);
  }
  return { ...best, evaluations };
}
