/**
 * Shared pieces of the baselines: the training options a defence derives from a recipe,
 * data-set surgery (replace the leading rows), and a fast seeded uniform stream.
 */
import type { Dataset } from '../data/dataset.js';
import { getRecipe, recipeOptions, type Recipe, type RecipeName, type TrainOptions } from '../train/train.js';
import { rngBits, RngStream } from '../util/rng.js';
import { ShapeError } from '../errors.js';

export type RecipeLike = Recipe | RecipeName;

export function trainOptions(recipe: RecipeLike, seed: number, over: Partial<TrainOptions> = {}): TrainOptions {
  getRecipe(recipe);
  return { ...recipeOptions(recipe, seed), ...over };
}

/** A copy of d whose first rows are replaced by `rows` (k × dims). */
export function replaceLeading(d: Dataset, rows: Float32Array, name: string): Dataset {
  if (rows.length % d.dims !== 0 || rows.length / d.dims > d.n)
    throw new ShapeError(`Expected at most ${d.n} replacement rows of ${d.dims} values but received ${rows.length} values`);
  const x = d.x.slice();
  x.set(rows, 0);
  return { ...d, name, x, y: d.y.slice() };
}

/**
 * Uniform [0,1) numbers for row `row` of a purpose `a`: a mulberry32 stream seeded from the
 * counter RNG (rng.h counters: seed, stream attack, a, row), so every row is reproducible
 * on its own and the hot loop stays in 32-bit integer arithmetic.
 */
export function rowUniform(seed: number, a: number, row: number): () => number {
  let s = Number(rngBits(seed, RngStream.attack, a, row) & 0xffffffffn) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
