/**
 * The authors' random streams (native/core/octave_rng.h, recipe 'paper-octave'): GNU
 * Octave's generator after rand('state', seed), drawn in the order of the authors' scripts.
 * Checked against numbers printed by Octave 7.3, the authors' seed-1 control network (golden
 * fixture) and a short training run of the authors' loop under Octave (fixture).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Network, ValueError, createNetwork, initWeights, recipeOptions, train } from '../src/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { head } from '../src/data/dataset.js';
import { controlNetwork } from './helpers/authors-fixture.js';

const OCTAVE_RUN = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'octave-train-seed7');
const f32 = (path: string): Float32Array => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const mnist = loadMnist();

describe('octave random streams', () => {
  it("draw Octave's rand('state', 1) numbers, column-major, after nnsetup's draws", () => {
    // Octave 7.3: rand('state', 1); rand(1, 12) → u1 … u12 (printed with %.17g)
    const u = [
      0.13436424411240122, 0.84743373693723267, 0.76377461897661403, 0.2550690257394217, 0.49543508709194095,
      0.44949106478873813, 0.65159297272276295, 0.78872335113551317, 0.093859586774234893, 0.02834747652200631,
      0.83576510391986969, 0.43276706790505337,
    ];
    // 2 inputs, 3 outputs: nnsetup draws u1..u6, then W = (rand(3, 2) − 0.5)·0.5·2 = u7..u12 − 0.5
    // filled column by column; nrem stores W row-major (out, in).
    const net = new Network({ sizes: [2, 3], output: 'relu' });
    initWeights(net, { kind: 'uniform', scale: 0.5, rng: 'octave' }, 1);
    const col = (i: number, j: number) => Math.fround(u[6 + j * 3 + i] - 0.5);
    expect(Array.from(net.getWeights(0))).toEqual([col(0, 0), col(0, 1), col(1, 0), col(1, 1), col(2, 0), col(2, 1)]);
  });

  it("give the authors' seed-1 initial weights: every W1 weight that training never moves equals theirs", () => {
    // Pixels that are 0 in all 60,000 training images get a zero gradient, so in the authors'
    // control network (golden fixture) their weights are still the initial ones.
    const silent: number[] = [];
    for (let j = 0; j < 784; j++) {
      let any = false;
      for (let r = 0; r < mnist.train.n && !any; r++) any = mnist.train.x[r * 784 + j] !== 0;
      if (!any) silent.push(j);
    }
    expect(silent.length).toBe(67);
    const authors = controlNetwork().getWeights(0);
    const mine = createNetwork('paper-octave', [784, 1200, 1200, 10], 1).getWeights(0);
    const counter = createNetwork('paper', [784, 1200, 1200, 10], 1).getWeights(0);
    let same = 0, sameCounter = 0;
    for (let i = 0; i < 1200; i++)
      for (const j of silent) {
        if (mine[i * 784 + j] === authors[i * 784 + j]) same++;
        if (counter[i * 784 + j] === authors[i * 784 + j]) sameCounter++;
      }
    expect(same).toBe(1200 * 67);
    expect(sameCounter).toBeLessThan(10);
  });

  it("train as the authors' loop under Octave: same mini-batches and dropout masks, 20 updates", async () => {
    // test/fixtures/octave-train-seed7/README.md: 784-32-16-10, first 1,000 images, 2 epochs, seed 7
    const data = head(mnist.train, 1000);
    const octave = [1, 2, 3].map((l) => f32(join(OCTAVE_RUN, `control_W${l}.f32`)));
    const maxDiff = (net: Network) =>
      Math.max(...net.parameters().weights.map((w, l) => w.reduce((m, v, i) => Math.max(m, Math.abs(v - octave[l][i])), 0)));

    const net = createNetwork('paper-octave', [784, 32, 16, 10], 7);
    const init = net.clone();
    await train(net, data, recipeOptions('paper-octave', 7));
    expect(maxDiff(init)).toBeGreaterThan(1e-4); // training moved the weights
    expect(maxDiff(net)).toBeLessThan(1e-7); // to where Octave moved them (measured 9.3e-10)

    const own = createNetwork('paper', [784, 32, 16, 10], 7);
    await train(own, data, recipeOptions('paper', 7));
    expect(maxDiff(own)).toBeGreaterThan(1e-3); // nrem's own streams: another network
  });

  it('bad options give typed errors', async () => {
    const net = new Network({ sizes: [4, 3], output: 'relu' });
    expect(() => initWeights(net, { kind: 'uniform', scale: 0.01, rng: 'mt' as never }, 1)).toThrow(ValueError);
    expect(() => initWeights(net, { kind: 'he', rng: 'octave' } as never, 1)).toThrow(/uniform/);
    expect(() => initWeights(net, { kind: 'uniform', scale: 0.01, rng: 'octave' }, 2 ** 33)).toThrow(/2\^32/);
    const data = head(mnist.train, 10);
    const tiny = new Network({ sizes: [784, 3], output: 'relu' });
    await expect(train(tiny, data, { ...recipeOptions('paper-octave', 1), rng: 'philox' as never })).rejects.toThrow(ValueError);
  });
});
