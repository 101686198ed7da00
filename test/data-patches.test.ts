import { describe, expect, it } from 'vitest';
import { generatePatches, loadDataset, patchPrototypes } from '../src/data/index.js';
import { patchesParams } from '../src/data/patches.js';
import { ValueError } from '../src/errors.js';

describe('patches (toy set of sleep-algorithm.md §6)', () => {
  it('prototypes: 4 binary 10×10 images sharing exactly `overlap` pixels, `on` pixels each', () => {
    const p = patchesParams({ overlap: 5, seed: 2 });
    const proto = patchPrototypes(p);
    const on = (k: number) => Array.from(proto.subarray(k * 100, (k + 1) * 100)).map((v, j) => (v ? j : -1)).filter((j) => j >= 0);
    for (let k = 0; k < 4; k++) expect(on(k).length).toBe(17); // round(100 / 6)
    for (let a = 0; a < 4; a++)
      for (let b = a + 1; b < 4; b++) expect(on(a).filter((j) => on(b).includes(j)).length).toBe(5);
    expect(Array.from(patchPrototypes(patchesParams({ overlap: 5, seed: 3 })))).not.toEqual(Array.from(proto));
  });

  it('examples: seeded, balanced, noisy copies of their class prototype', async () => {
    const s = await loadDataset('patches:width=10,overlap=8,n=200,ntest=100,noise=0.05', { seed: 4 });
    expect([s.train.n, s.test.n, s.train.dims, s.train.classes]).toEqual([200, 100, 100, 4]);
    expect(s.train.shape).toEqual([10, 10]);
    const proto = patchPrototypes(patchesParams({ overlap: 8, seed: 4 }));
    let flips = 0;
    for (let i = 0; i < s.train.n; i++) {
      expect(s.train.y[i]).toBe(i % 4);
      // nearest prototype (Hamming) is the own class: the set is learnable
      const dist = [0, 1, 2, 3].map((k) => {
        let d = 0;
        for (let j = 0; j < 100; j++) d += s.train.x[i * 100 + j] !== proto[k * 100 + j] ? 1 : 0;
        return d;
      });
      flips += dist[i % 4];
      expect(dist.indexOf(Math.min(...dist))).toBe(i % 4);
    }
    expect(flips / (200 * 100)).toBeGreaterThan(0.03);
    expect(flips / (200 * 100)).toBeLessThan(0.07);
    const again = await loadDataset('patches:overlap=8,n=200,ntest=100', { seed: 4 });
    expect(again.train.x).toEqual(s.train.x);
    expect(again.test.x).not.toEqual(s.train.x.subarray(0, 100 * 100));
    const clean = generatePatches({ noise: 0, n: 8, nTest: 4 });
    expect(Array.from(clean.train.x.subarray(0, 400))).toEqual(Array.from(patchPrototypes(patchesParams({}))));
  });

  it('impossible parameters are ValueErrors', () => {
    expect(() => generatePatches({ overlap: 50, on: 40 })).toThrow(ValueError);
    expect(() => generatePatches({ noise: 0.9 })).toThrow(ValueError);
    expect(() => generatePatches({ width: 1 })).toThrow(ValueError);
  });
});
