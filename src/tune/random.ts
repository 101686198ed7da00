/**
 * Seeded draws for the search algorithms, from the counter-based RNG (src/util/rng.ts):
 * draw i of generation g is a pure function of (seed, TUNE_STREAM, g, i), so a search
 * restored from a checkpoint at generation g draws exactly what the uninterrupted one would.
 *
 *   uniform: 24-bit u in [0, 1)
 *   normal:  Box–Muller, z = sqrt(-2 ln(u1')) · cos(2π u2), u1' = u1 + 2^-25 in (0, 1)
 */
import { rngUniform } from '../util/rng.js';

/** Stream number of the tuner's draws (not one of rng.h's streams: TypeScript only). */
export const TUNE_STREAM = 0x74756e65;

export class Draws {
  private i = 0;
  constructor(
    readonly seed: number,
    readonly generation: number,
  ) {}

  uniform(): number {
    return rngUniform(this.seed, TUNE_STREAM, this.generation, this.i++);
  }

  normal(): number {
    const u1 = this.uniform() + 2 ** -25;
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }
}
