/**
 * Defensive distillation (Papernot et al. 2016), done properly (experiments.md §4):
 *
 *   1. teacher: the recipe's network with a softmax output at temperature T, trained with
 *      cross-entropy on the hard labels, softmax(z/T);
 *   2. soft labels: the teacher's softmax(z/T) on the training set, in test mode (no dropout);
 *   3. student: same architecture, fresh weights, trained with cross-entropy on the soft
 *      labels at the same T;
 *   4. deployment: the student at T = 1 (its logits are ~T times larger than a normal
 *      network's, which is what flattens the gradients at T = 1).
 *
 * (The authors' release never uses its temperature and takes soft labels with dropout on;
 * nrem does not copy that.)
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import { createNetwork, getRecipe, train } from '../train/train.js';
import type { RunOptions } from '../util/control.js';
import { expectInt, expectNumber, expectSeed } from '../util/validate.js';
import { trainOptions, type RecipeLike } from './common.js';

export interface DistillationOptions extends RunOptions {
  /** Temperature T (default 50, the release's). */
  temperature?: number;
  /** Epochs of the teacher and of the student (default: the recipe's). */
  epochs?: number;
  /** Learning rate (default: the recipe's). */
  lr?: number;
  seed: number;
}

export interface DistillationResult {
  student: Network;
  teacher: Network;
  temperature: number;
  seconds: number;
}

export async function distill(recipe: RecipeLike, sizes: number[], data: Dataset, opts: DistillationOptions): Promise<DistillationResult> {
  const t0 = performance.now();
  const T = expectNumber(opts.temperature ?? 50, 'temperature', Number.MIN_VALUE);
  const seed = expectSeed(opts.seed);
  const r = getRecipe(recipe);
  const epochs = expectInt(opts.epochs ?? r.epochs, 'epochs', 1);
  const ro = { signal: opts.signal, onProgress: opts.onProgress };
  const base = trainOptions(recipe, seed, { epochs, loss: 'cross-entropy', temperature: T, ...(opts.lr ? { lr: opts.lr } : {}), ...ro });

  const teacher = createNetwork(recipe, sizes, seed);
  teacher.output = 'softmax';
  teacher.temperature = T;
  await train(teacher, data, { ...base, onProgress: ro.onProgress && ((p) => ro.onProgress!({ ...p, phase: 'teacher' })) });
  // Soft labels: softmax(z/T) of the teacher in test mode.
  const soft = await teacher.forward(data.x, ro);

  const student = createNetwork(recipe, sizes, seed + 0x5eed);
  student.output = 'softmax';
  student.temperature = T;
  await train(student, data, { ...base, seed: seed + 1, targets: soft, onProgress: ro.onProgress && ((p) => ro.onProgress!({ ...p, phase: 'student' })) });
  student.temperature = 1;
  teacher.temperature = 1;
  return { student, teacher, temperature: T, seconds: (performance.now() - t0) / 1000 };
}
