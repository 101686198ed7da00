/**
 * Seeded, stratified choices of rows: quick subsets and train/test splits.
 *
 * Class c with n_c rows gets k_c = floor(k·n_c/n) rows, and the k - Σk_c rows left over go
 * one each to the classes with the largest remainders k·n_c/n - k_c (ties: lower class first).
 * Within a class, rows are taken in the order of a seeded permutation drawn with the
 * counter-based RNG (stream "data", a = purpose·2^20 + class), so the choice depends only on
 * (seed, purpose, data) and never on the thread count or call order. Chosen rows keep
 * their original order.
 */
import { ValueError } from '../errors.js';
import { permutation, RngStream } from '../util/rng.js';
import { subset, type Dataset, type Split } from './dataset.js';

/** Purposes (the RNG's `a` counter, high part) of the seeded choices of src/data. */
export const Purpose = { quickTrain: 1, quickTest: 2, split: 3, patches: 4 } as const;

function byClass(y: ArrayLike<number>, classes: number): number[][] {
  const rows: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < y.length; i++) rows[y[i]].push(i);
  return rows;
}

/** How many of each class a stratified choice of k rows takes (largest remainder). */
export function stratifiedCounts(sizes: number[], k: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (n ? (k * s) / n : 0));
  const counts = exact.map(Math.floor);
  let left = k - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => [e - counts[c], c]).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
  for (const [, c] of order) {
    if (left <= 0) break;
    if (counts[c] < sizes[c]) counts[c]++, left--;
  }
  return counts;
}

/**
 * Row indices of a stratified choice of k rows, split into [chosen, rest], each ascending.
 */
export function stratifiedChoice(y: ArrayLike<number>, classes: number, k: number, seed: number, purpose: number): [Int32Array, Int32Array] {
  if (k > y.length) throw new ValueError(`Expected at most ${y.length} rows for a subset but received ${k}`);
  const rows = byClass(y, classes);
  const counts = stratifiedCounts(rows.map((r) => r.length), k);
  const chosen: number[] = [];
  const rest: number[] = [];
  rows.forEach((r, c) => {
    const p = permutation(r.length, seed, RngStream.data, purpose * 2 ** 20 + c);
    for (let i = 0; i < r.length; i++) (i < counts[c] ? chosen : rest).push(r[p[i]]);
  });
  const asc = (a: number[]) => Int32Array.from(a).sort();
  return [asc(chosen), asc(rest)];
}

/** A stratified subset of k rows of d; the name says it is a subset. */
export function stratifiedSubset(d: Dataset, k: number, seed: number, purpose: number): Dataset {
  if (k >= d.n) return d;
  const [idx] = stratifiedChoice(d.y, d.classes, k, seed, purpose);
  return subset(d, idx, `${d.name} (quick subset of ${k} of ${d.n}, stratified, seed ${seed})`);
}

/** A seeded stratified train/test split of one data set (testFraction of the rows to test). */
export function stratifiedSplit(d: Dataset, testFraction: number, seed: number, name: string): Split {
  if (!(testFraction > 0 && testFraction < 1)) throw new ValueError(`Expected testFraction in (0, 1) but received ${testFraction}`);
  const k = Math.round(d.n * testFraction);
  const [test, train] = stratifiedChoice(d.y, d.classes, k, seed, Purpose.split);
  return {
    train: subset(d, train, `${name}/train (stratified split, seed ${seed})`),
    test: subset(d, test, `${name}/test (stratified split ${testFraction}, seed ${seed})`),
  };
}
