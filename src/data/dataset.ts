/**
 * A labelled data set held in memory: n rows of `dims` float32 features, row-major,
 * and one integer label per row.
 */
import { ShapeError, ValueError } from '../errors.js';

export interface Dataset {
  /** Human-readable name, e.g. "mnist/train" or "mnist/train (quick subset of 8000)". */
  name: string;
  x: Float32Array;
  y: Int32Array;
  n: number;
  dims: number;
  classes: number;
  /** Image shape when the features are an image (MNIST: [28, 28]). */
  shape?: [number, number];
  /** The data set spec it was loaded from ('mnist', 'fashion-mnist', 'mnist-idx:DIR', …); set by loadDataset. */
  source?: string;
  /** sha256 of the data set's whole training split (src/data/hash.ts): its identity in a model's provenance. Set by loadDataset. */
  datasetSha256?: string;
}

export interface Split {
  train: Dataset;
  test: Dataset;
}

export function makeDataset(
  name: string,
  x: Float32Array,
  y: Int32Array,
  dims: number,
  classes: number,
  shape?: [number, number],
): Dataset {
  if (dims <= 0 || x.length % dims !== 0)
    throw new ShapeError(`${name}: feature matrix of ${x.length} values is not a multiple of ${dims} features`);
  const n = x.length / dims;
  if (y.length !== n) throw new ShapeError(`${name}: ${n} rows of features but ${y.length} labels`);
  for (let i = 0; i < n; i++)
    if (!(y[i] >= 0 && y[i] < classes)) throw new ValueError(`${name}: label ${y[i]} at row ${i} is outside 0..${classes - 1}`);
  return { name, x, y, n, dims, classes, shape };
}

/** Rows `idx` of d as a new data set (copies). */
export function subset(d: Dataset, idx: ArrayLike<number>, name = d.name): Dataset {
  const x = new Float32Array(idx.length * d.dims);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    x.set(d.x.subarray(r * d.dims, (r + 1) * d.dims), i * d.dims);
    y[i] = d.y[r];
  }
  return { name, x, y, n: idx.length, dims: d.dims, classes: d.classes, shape: d.shape };
}

/** The first k rows (a view, no copy). */
export function head(d: Dataset, k: number, name = d.name): Dataset {
  const m = Math.min(k, d.n);
  return { ...d, name, n: m, x: d.x.subarray(0, m * d.dims), y: d.y.subarray(0, m) };
}
