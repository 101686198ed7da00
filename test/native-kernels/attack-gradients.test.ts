import { describe, expect, it } from 'vitest';
import { Network, inputGradient, classGradients, type AttackLoss, type OutputActivation } from '../../src/index.js';

// Deterministic pseudo-random weights (LCG) so the test needs no RNG from the library.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function smallNet(output: OutputActivation, seed = 1): Network {
  const r = lcg(seed);
  const net = new Network({ sizes: [6, 8, 7, 4], output, biases: true, dropout: 0.2, dropoutMode: 'paper', temperature: 2 });
  const params = net.parameters();
  for (const w of params.weights) for (let i = 0; i < w.length; i++) w[i] = r() * 0.8;
  for (const b of params.biases) for (let i = 0; i < b!.length; i++) b![i] = r() * 0.3 + 0.1;
  net.setParameters(params);
  return net;
}

// Loss in double precision from the network's own float32 forward pass (test mode).
async function lossAt(net: Network, x: Float32Array, y: number, kind: AttackLoss): Promise<number> {
  const lin = net.clone();
  lin.output = 'linear';
  const z = Array.from(await lin.forward(x));
  const a = Array.from(await net.forward(x));
  if (kind === 'mse') return a.reduce((s, v, k) => s + 0.5 * (v - (k === y ? 1 : 0)) ** 2, 0);
  if (kind === 'ce') {
    const m = Math.max(...z);
    return Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) + m - z[y];
  }
  return Math.max(...z.filter((_, k) => k !== y)) - z[y];
}

describe('attack input gradients match central finite differences', () => {
  const r = lcg(7);
  const x = Float32Array.from({ length: 6 }, () => 0.5 + 0.4 * r());
  for (const output of ['relu', 'linear', 'softmax'] as const) {
    for (const loss of ['mse', 'ce', 'margin'] as const) {
      it(`${loss} loss, ${output} output`, async () => {
        const net = smallNet(output, output.length);
        const y = 2;
        const { grad, loss: l } = await inputGradient(net, x, [y], loss);
        expect(l[0]).toBeCloseTo(await lossAt(net, x, y, loss), 4);
        const h = 1e-2;
        for (let j = 0; j < 6; j++) {
          const xp = x.slice(), xm = x.slice();
          xp[j] += h;
          xm[j] -= h;
          const fd = ((await lossAt(net, xp, y, loss)) - (await lossAt(net, xm, y, loss))) / (2 * h);
          expect(Math.abs(grad[j] - fd)).toBeLessThan(2e-3 + 1e-2 * Math.abs(fd));
        }
      });
    }
  }

  it('Jacobian rows of the logits, batched rows independent', async () => {
    const net = smallNet('relu', 3);
    const lin = net.clone();
    lin.output = 'linear';
    const x2 = Float32Array.from({ length: 12 }, () => 0.5 + 0.4 * r());
    const J = await classGradients(net, x2, [0, 3]);
    const h = 1e-2;
    for (let row = 0; row < 2; row++)
      for (let j = 0; j < 6; j++) {
        const xp = x2.slice(row * 6, row * 6 + 6), xm = xp.slice();
        xp[j] += h;
        xm[j] -= h;
        const zp = await lin.forward(xp), zm = await lin.forward(xm);
        for (const [c, k] of [[0, 0], [1, 3]]) {
          const fd = (zp[k] - zm[k]) / (2 * h);
          expect(Math.abs(J[(row * 2 + c) * 6 + j] - fd)).toBeLessThan(2e-3 + 1e-2 * Math.abs(fd));
        }
      }
  });
});
