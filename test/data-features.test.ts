import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, encodeZip, loadDataset, parseNpy } from '../src/data/index.js';
import { FormatError, ShapeError, UnsupportedError } from '../src/errors.js';
import { rngUniform } from '../src/util/rng.js';

const tmp = mkdtempSync(join(tmpdir(), 'nrem-feat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
};

// A synthetic stand-in for CUB-200 features: 120 rows × 16 features, labels 1..3 (CUB counts from 1).
const N = 120;
const D = 16;
const X = Float32Array.from({ length: N * D }, (_, i) => rngUniform(5, 8, 0, i) * 4 - 2);
const Y = Int32Array.from({ length: N }, (_, i) => 1 + (i % 3));

describe('features:FILE', () => {
  it('.npz with x/y: seeded stratified 80/20 split, labels mapped to 0..K-1', async () => {
    const p = file('cub.npz', encodeZip([{ name: 'features.npy', data: encodeNpy(X, [N, D]) }, { name: 'labels.npy', data: encodeNpy(Y, [N]) }]));
    const s = await loadDataset(`features:${p}`, { seed: 9 });
    expect([s.train.n, s.test.n, s.train.dims, s.train.classes]).toEqual([96, 24, D, 3]);
    expect(s.test.name).toMatch(/stratified split/);
    // every row of train ∪ test is a row of X with its label - 1, and each row once
    const seen = new Set<number>();
    for (const part of [s.train, s.test])
      for (let i = 0; i < part.n; i++) {
        const v = part.x[i * D];
        const r = Array.from({ length: N }, (_, k) => k).find((k) => X[k * D] === v && X[k * D + 1] === part.x[i * D + 1])!;
        expect(part.y[i]).toBe(Y[r] - 1);
        seen.add(r);
      }
    expect(seen.size).toBe(N);
    expect(Array.from(s.test.y).filter((v) => v === 0).length).toBe(8); // stratified: 8 per class
    const again = await loadDataset(`features:${p}`, { seed: 9 });
    expect(again.test.x).toEqual(s.test.x);
    const other = await loadDataset(`features:${p}`, { seed: 10 });
    expect(other.test.x).not.toEqual(s.test.x);
  });

  it('.npz with x_train/y_train/x_test/y_test (deflated, float64, uint8 labels) keeps the file split', async () => {
    const x64 = Float64Array.from(X);
    const ytr = Uint8Array.from(Y.subarray(0, 100), (v) => v - 1);
    const yte = Uint8Array.from(Y.subarray(100), (v) => v - 1);
    const p = file('split.npz', encodeZip([
      { name: 'x_train.npy', data: encodeNpy(x64.slice(0, 100 * D), [100, D]) },
      { name: 'y_train.npy', data: encodeNpy(ytr, [100]) },
      { name: 'x_test.npy', data: encodeNpy(x64.slice(100 * D), [20, D]) },
      { name: 'y_test.npy', data: encodeNpy(yte, [20]) },
    ], true));
    const s = await loadDataset(`features:${p}`);
    expect([s.train.n, s.test.n]).toEqual([100, 20]);
    expect(s.test.x).toEqual(X.subarray(100 * D));
    expect(Array.from(s.test.y)).toEqual(Array.from(yte));
  });

  it('.npy matrix with the label in the last column, and .csv with a header, label and split column', async () => {
    const m = new Float32Array(N * (D + 1));
    for (let i = 0; i < N; i++) {
      m.set(X.subarray(i * D, (i + 1) * D), i * (D + 1));
      m[i * (D + 1) + D] = Y[i];
    }
    const s = await loadDataset(`features:${file('m.npy', encodeNpy(m, [N, D + 1]))}`, { testFraction: 0.25 });
    expect([s.train.n, s.test.n, s.train.dims]).toEqual([90, 30, D]);

    const header = ['label', ...Array.from({ length: D }, (_, j) => `f${j}`), 'split'].join(',');
    const rows = Array.from({ length: N }, (_, i) => [Y[i], ...X.subarray(i * D, (i + 1) * D), i < 90 ? 'train' : 'test'].join(','));
    const c = await loadDataset(`features:${file('f.csv', [header, ...rows, ''].join('\n'))}`);
    expect([c.train.n, c.test.n, c.train.dims, c.train.classes]).toEqual([90, 30, D, 3]);
    expect(c.train.x).toEqual(X.subarray(0, 90 * D)); // float32 → text → float32 round trip is exact
    expect(c.test.y[0]).toBe(Y[90] - 1);

    const plain = Array.from({ length: N }, (_, i) => [...X.subarray(i * D, (i + 1) * D), Y[i] - 1].join(',')).join('\r\n');
    const q = await loadDataset(`features:${file('plain.csv', plain)}`);
    expect(q.train.n + q.test.n).toBe(N);
  });

  it('bad files are typed errors naming the problem', async () => {
    const good = encodeNpy(X, [N, D]);
    await expect(loadDataset(`features:${file('t.npy', good.subarray(0, good.length - 5))}`)).rejects.toThrow(/truncated/);
    const magic = good.slice();
    magic[1] = 0;
    expect(() => parseNpy(magic, 'x')).toThrow(/magic/);
    await expect(loadDataset(`features:${file('short.npz', encodeZip([{ name: 'x.npy', data: good }]).subarray(0, 300))}`)).rejects.toThrow(FormatError);
    const mismatch = encodeZip([{ name: 'x.npy', data: good }, { name: 'y.npy', data: encodeNpy(Y.subarray(0, N - 1), [N - 1]) }]);
    await expect(loadDataset(`features:${file('mm.npz', mismatch)}`)).rejects.toThrow(ShapeError);
    const noY = encodeZip([{ name: 'x.npy', data: good }]);
    await expect(loadDataset(`features:${file('noy.npz', noY)}`)).rejects.toThrow(/expected arrays/);
    const corrupt = encodeZip([{ name: 'x.npy', data: good }, { name: 'y.npy', data: encodeNpy(Y, [N]) }], false);
    corrupt[200] ^= 0xff;
    await expect(loadDataset(`features:${file('crc.npz', corrupt)}`)).rejects.toThrow(/CRC/);
    await expect(loadDataset(`features:${file('bad.csv', 'a,b,label\n1,2,0\n1,x,1\n')}`)).rejects.toThrow(/bad.csv:3/);
    await expect(loadDataset(`features:${file('ragged.csv', '1,2,0\n1,1\n')}`)).rejects.toThrow(ShapeError);
    await expect(loadDataset(`features:${file('frac.csv', '1,2,0.5\n1,1,1\n')}`)).rejects.toThrow(/not an integer/);
    await expect(loadDataset(`features:${file('x.parquet', 'PAR1')}`)).rejects.toThrow(UnsupportedError);
    await expect(loadDataset(`features:${join(tmp, 'missing.npz')}`)).rejects.toThrow(FormatError);
  });
});
