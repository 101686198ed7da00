/**
 * A misspelt option is an error that names it and the valid ones, not silently the
 * default: train(), fgsmSweep() and sleep() (the keys each takes are listed).
 */
import { describe, expect, it } from 'vitest';
import { ValueError, createNetwork, fgsmSweep, recipeOptions, sleep, train } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';

const data = head(loadMnist().train, 50);
const net = createNetwork('paper', [784, 8, 10], 1);

describe('unknown options', () => {
  it('train: a misspelt key is a ValueError with the nearest valid key', async () => {
    const e = await train(net, data, { ...recipeOptions('paper', 1), epochs: 1, batch_size: 10 } as never).catch((x) => x);
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/Unknown option "batch_size" for train options \(did you mean "batchSize"\?\); valid options: .*lrDecay/);
  });
  it('fgsmSweep: an unknown key names the sweep', async () => {
    await expect(fgsmSweep(net, data.x, data.y, { eps: [0.1] } as never)).rejects.toThrow(/Unknown option "eps" for fgsmSweep options; valid options: backend, epsilons, loss, method, onProgress, signal/);
  });
  it('sleep: the same', async () => {
    await expect(sleep(net, data, { presets: 'mnist-fgsm' } as never)).rejects.toThrow(/Unknown option "presets" for sleep options/);
  });
});
