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
 * Training at temperature T is done in the equivalent parametrisation u = z/T: a network
 * whose last layer is W_L/T is trained with a plain softmax (T = 1), then its last layer
 * (weights and bias) is multiplied by T. The function is exactly softmax(z/T) throughout;
 * the hidden layers receive exactly the gradients of training at T; only the last layer's
 * learning rate differs (T² larger than a literal run at T, which with the paper's
 * U(−0.01, 0.01) start and a few epochs at T = 50 would barely move the last layer).
 *
 * (The authors' release never uses its temperature and takes soft labels with dropout on;
 * nrem does not copy that.)
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import type { Architecture } from '../model/arch.js';
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

/** `arch`: layer sizes of a fully connected chain, or an architecture (src/model/arch.ts; architectureOf(net) for a given network's). */
export async function distill(recipe: RecipeLike, arch: number[] | Architecture, data: Dataset, opts: DistillationOptions): Promise<DistillationResult> {
  const t0 = performance.now();
  const T = expectNumber(opts.temperature ?? 50, 'temperature', Number.MIN_VALUE);
  const seed = expectSeed(opts.seed);
  const r = getRecipe(recipe);
  const epochs = expectInt(opts.epochs ?? r.epochs, 'epochs', 1);
  const ro = { signal: opts.signal, onProgress: opts.onProgress };
  const base = trainOptions(recipe, seed, { epochs, loss: 'cross-entropy', ...(opts.lr ? { lr: opts.lr } : {}), ...ro });

  // Teacher: softmax(u), u = z/T, on the hard labels; then z = T·u.
  const teacher = createNetwork(recipe, arch, seed);
  teacher.output = 'softmax';
  teacher.temperature = 1;
  await train(teacher, data, { ...base, onProgress: ro.onProgress && ((p) => ro.onProgress!({ ...p, phase: 'teacher' })) });
  scaleLastLayer(teacher, T);
  teacher.temperature = T;
  // Soft labels: softmax(z/T) of the teacher in test mode (no dropout).
  const soft = await teacher.forward(data.x, ro);

  // Student: same architecture, fresh weights, on the soft labels at T; deployed at T = 1.
  const student = createNetwork(recipe, arch, seed + 0x5eed);
  student.output = 'softmax';
  student.temperature = 1;
  await train(student, data, { ...base, seed: seed + 1, targets: soft, onProgress: ro.onProgress && ((p) => ro.onProgress!({ ...p, phase: 'student' })) });
  scaleLastLayer(student, T);
  student.temperature = 1;
  teacher.temperature = 1;
  return { student, teacher, temperature: T, seconds: (performance.now() - t0) / 1000 };
}

/** z ← T·z: multiplies the last layer's weights and bias by T. */
function scaleLastLayer(net: Network, T: number): void {
  const L = net.weightLayers - 1;
  const w = net.getWeights(L);
  for (let i = 0; i < w.length; i++) w[i] *= T;
  net.setWeights(L, w);
  const b = net.getBias(L);
  if (b) {
    for (let i = 0; i < b.length; i++) b[i] *= T;
    net.setBias(L, b);
  }
}
