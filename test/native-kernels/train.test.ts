/**
 * Training determinism: the same seed gives bit-identical weights for 1 and 2 threads
 * (dropout masks, shuffles and GEMM sums do not depend on the thread count), with the
 * GEMM backend the run selects (CI runs this file with OpenBLAS and NREM_GEMM=native).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNetwork, recipeOptions, setThreads, train, type Network } from '../../src/index.js';
import { loadMnist } from '../../src/data/mnist.js';
import { head } from '../../src/data/dataset.js';

const data = head(loadMnist().train, 2000);

function bytes(net: Network): Buffer {
  const p = net.parameters();
  return Buffer.concat([...p.weights, ...p.biases.filter((b): b is Float32Array => b !== null)].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

async function trained(recipe: 'paper' | 'modern', seed: number, threads: number): Promise<Network> {
  setThreads(threads);
  const net = createNetwork(recipe, [784, 64, 48, 10], seed);
  await train(net, data, { ...recipeOptions(recipe, seed), epochs: 1, batchSize: 50 });
  return net;
}

afterAll(() => setThreads('auto'));

describe('training is deterministic', () => {
  for (const recipe of ['paper', 'modern'] as const)
    it(`${recipe} recipe: same seed ⇒ identical weights with 1 and 2 threads; another seed differs`, async () => {
      const one = await trained(recipe, 1, 1);
      const two = await trained(recipe, 1, 2);
      expect(bytes(one).equals(bytes(two))).toBe(true);
      const other = await trained(recipe, 2, 2);
      expect(bytes(one).equals(bytes(other))).toBe(false);
      // training moved the weights away from their initialisation
      expect(bytes(one).equals(bytes(createNetwork(recipe, [784, 64, 48, 10], 1)))).toBe(false);
    });
});
