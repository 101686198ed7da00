/**
 * PGD adversarial training (Madry et al. 2018), the modern reference defence: every
 * training example is replaced by an L∞ PGD example (random start, `steps` steps of
 * `stepSize`, cross-entropy on the output pre-activation) crafted against the current
 * network, then SGD trains on it.
 *
 * Crafting and training alternate per chunk of `chunkBatches` mini-batches (default 10):
 * the examples of a chunk are crafted on the weights left by the previous chunk, then the
 * engine trains one pass over the chunk. The examples are thus at most chunkBatches − 1
 * updates stale, and SGD momentum restarts at each chunk (an approximation of per-batch
 * Madry training that keeps the inner loops native).
 */
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import type { Architecture } from '../model/arch.js';
import { createNetwork, getRecipe, train } from '../train/train.js';
import type { RunOptions } from '../util/control.js';
import { expectInt, expectNumber, expectSeed } from '../util/validate.js';
import { permutation, RngStream } from '../util/rng.js';
import { PGD } from '../attacks/pgd.js';
import { trainOptions, type RecipeLike } from './common.js';

export interface PgdTrainOptions extends RunOptions {
  seed: number;
  eps?: number;
  steps?: number;
  stepSize?: number;
  epochs?: number;
  /** Mini-batches per craft/train chunk (default 10). */
  chunkBatches?: number;
  /** Start from this network instead of a fresh one (it is not modified). */
  init?: Network;
}

export interface PgdTrainResult {
  network: Network;
  seconds: number;
}

export async function pgdTrain(recipe: RecipeLike, arch: number[] | Architecture, data: Dataset, opts: PgdTrainOptions): Promise<PgdTrainResult> {
  const t0 = performance.now();
  const seed = expectSeed(opts.seed);
  const r = getRecipe(recipe);
  const eps = expectNumber(opts.eps ?? 0.1, 'eps', 0);
  const steps = expectInt(opts.steps ?? 7, 'steps', 1);
  const stepSize = expectNumber(opts.stepSize ?? (2.5 * eps) / steps, 'stepSize', 0);
  const epochs = expectInt(opts.epochs ?? r.epochs, 'epochs', 1);
  const chunkRows = expectInt(opts.chunkBatches ?? 10, 'chunkBatches', 1) * r.batchSize;
  const net = opts.init ? opts.init.clone() : createNetwork(recipe, arch, seed);
  const pgd = new PGD({ steps, step: stepSize, loss: 'ce', randomStart: true, earlyStop: false });
  const chunks = Math.ceil(data.n / chunkRows);
  const total = epochs * chunks;
  let done = 0;
  for (let e = 0; e < epochs; e++) {
    const order = permutation(data.n, seed, RngStream.shuffle, 0x9d0000 + e);
    for (let c = 0; c < chunks; c++) {
      const idx = order.subarray(c * chunkRows, Math.min(data.n, (c + 1) * chunkRows));
      const part = subset(data, idx);
      const adv = await pgd.run(net, part.x, part.y, { epsilons: [eps], seed: seed * 7919 + e * chunks + c, signal: opts.signal });
      await train(net, { ...part, x: adv.clipped[0] }, trainOptions(recipe, seed + e * chunks + c, { epochs: 1, shuffle: false, signal: opts.signal }));
      opts.onProgress?.({ phase: 'pgd-train', done: ++done, total });
    }
  }
  return { network: net, seconds: (performance.now() - t0) / 1000 };
}
