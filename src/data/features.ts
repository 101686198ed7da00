/**
 * `features:FILE` — a feature matrix with integer labels, as CUB-200 arrives once it has been
 * turned into 2048-d ResNet-50 features. Three file kinds, by extension:
 *
 *  .npz  arrays x_train/y_train + x_test/y_test (also X_*, features_*, labels_*, train_x,
 *        train_y, …) used as the split; or one pair x/y (also X, features, data, inputs /
 *        labels, label, targets, target), split by seed. Features of shape (n, …) are
 *        flattened to n × d.
 *  .npy  one 2-d matrix whose last column is the label; split by seed.
 *  .csv  numbers separated by commas; optional header (detected when a field of the first row
 *        is not a number). The label is the column named label/labels/y/class/target, else
 *        the last column. A column named `split` with values train/test gives the split;
 *        without it the rows are split by seed.
 *
 * Labels must be integers; when their distinct values are not exactly 0 … K-1 they are mapped
 * to 0 … K-1 in increasing order (CUB's 1 … 200 become 0 … 199). The seeded split is
 * stratified (src/data/split.ts), by default 20 % of the rows to test.
 *
 * Features must be finite IN FLOAT32, the type the network reads: NaN, ±Inf and values
 * beyond ±3.4e38 (a CSV 1e39, an f8 1e300) are refused with an error naming the array (or
 * CSV line) and the first bad row and column. Files are read through src/util/files.ts
 * (size limit, no devices).
 */
import { basename, extname } from 'node:path';
import { FormatError, ShapeError, UnsupportedError, ValueError } from '../errors.js';
import { readInputFileSync } from '../util/files.js';
import { makeDataset, type Split } from './dataset.js';
import { parseNpy, parseNpz, type NpyArray } from './npy.js';
import { stratifiedSplit } from './split.js';

export interface FeaturesOptions {
  seed?: number;
  /** Fraction of the rows to test when the file has no split of its own (default 0.2). */
  testFraction?: number;
}

interface Raw {
  x: Float32Array;
  y: Float64Array;
  dims: number;
}

function readBytes(file: string): Uint8Array {
  return readInputFileSync(file, { what: 'feature' });
}

/** Throws ValueError naming `what` and the first row/column whose float32 value is not finite. */
function checkFinite32(x: Float32Array, dims: number, what: string): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v !== v || v === Infinity || v === -Infinity)
      throw new ValueError(`${what}: non-finite feature ${v} (as float32) at row ${Math.floor(i / dims)}, column ${i % dims}`);
  }
}

function toF64(a: NpyArray): Float64Array {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
  return out;
}

function features(a: NpyArray, what: string): { x: Float32Array; n: number; dims: number } {
  if (a.shape.length < 1) throw new ShapeError(`${what}: expected a matrix (n × d) but found a scalar`);
  const n = a.shape[0];
  const dims = a.shape.length === 1 ? 1 : a.shape.slice(1).reduce((p, q) => p * q, 1);
  const x = a.data instanceof Float32Array ? a.data : Float32Array.from(toF64(a));
  checkFinite32(x, dims, what);
  return { x, n, dims };
}

function labels(a: NpyArray, what: string): Float64Array {
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1)))
    throw new ShapeError(`${what}: expected a vector of labels but found shape (${a.shape.join(', ')})`);
  return toF64(a);
}

function pair(x: NpyArray, y: NpyArray, what: string, xName = `${what} features`): Raw {
  const f = features(x, xName);
  const l = labels(y, `${what} labels`);
  if (l.length !== f.n) throw new ShapeError(`${what}: ${f.n} rows of features but ${l.length} labels`);
  return { x: f.x, y: l, dims: f.dims };
}

const X = ['x', 'X', 'features', 'data', 'inputs'];
const Y = ['y', 'Y', 'labels', 'label', 'targets', 'target'];

function pick(arrays: Map<string, NpyArray>, names: string[], part?: 'train' | 'test'): NpyArray | undefined {
  for (const b of names) {
    const keys = part ? [`${b}_${part}`, `${part}_${b}`] : [b];
    for (const k of keys) if (arrays.has(k)) return arrays.get(k);
  }
  return undefined;
}

function fromNpz(file: string): { train: Raw; test?: Raw } {
  const arrays = parseNpz(readBytes(file), file);
  const xtr = pick(arrays, X, 'train');
  const ytr = pick(arrays, Y, 'train');
  const xte = pick(arrays, X, 'test');
  const yte = pick(arrays, Y, 'test');
  const key = (a: NpyArray) => `${file}[${[...arrays].find(([, v]) => v === a)?.[0]}]`;
  if (xtr && ytr && xte && yte) {
    const train = pair(xtr, ytr, `${file} train`, key(xtr));
    const test = pair(xte, yte, `${file} test`, key(xte));
    if (train.dims !== test.dims) throw new ShapeError(`${file}: ${train.dims} features in train but ${test.dims} in test`);
    return { train, test };
  }
  const x = pick(arrays, X);
  const y = pick(arrays, Y);
  if (!x || !y)
    throw new FormatError(`${file}: expected arrays x_train/y_train/x_test/y_test or x/y (or features/labels) but found ${[...arrays.keys()].join(', ') || 'none'}`);
  return { train: pair(x, y, file, key(x)) };
}

function splitLastColumn(m: NpyArray, file: string): Raw {
  if (m.shape.length !== 2 || m.shape[1] < 2) throw new ShapeError(`${file}: expected an n × (d + 1) matrix (last column the label) but found shape (${m.shape.join(', ')})`);
  const [n, w] = m.shape;
  const all = toF64(m);
  const x = new Float32Array(n * (w - 1));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < w - 1; j++) x[i * (w - 1) + j] = all[i * w + j];
    y[i] = all[i * w + w - 1];
  }
  checkFinite32(x, w - 1, `${file} features`);
  return { x, y, dims: w - 1 };
}

const LABEL_NAMES = ['label', 'labels', 'y', 'class', 'target'];

function fromCsv(file: string): { train: Raw; test?: Raw } {
  const text = new TextDecoder().decode(readBytes(file));
  const lines = text.split(/\r?\n/);
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first === lines.length) throw new FormatError(`${file}: empty CSV file`);
  const cells = (s: string) => s.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const head = cells(lines[first]);
  const hasHeader = head.some((c) => c === '' || !Number.isFinite(Number(c)));
  const names = hasHeader ? head.map((h) => h.toLowerCase()) : [];
  const w = head.length;
  let labelCol = names.findIndex((h) => LABEL_NAMES.includes(h));
  if (labelCol < 0) labelCol = w - 1;
  const splitCol = names.indexOf('split');
  const featureCols = [...Array(w).keys()].filter((j) => j !== labelCol && j !== splitCol);
  if (featureCols.length === 0) throw new ShapeError(`${file}: no feature columns`);
  const rows = { train: { x: [] as number[], y: [] as number[] }, test: { x: [] as number[], y: [] as number[] } };
  for (let li = first + (hasHeader ? 1 : 0); li < lines.length; li++) {
    if (lines[li].trim() === '') continue;
    const c = cells(lines[li]);
    if (c.length !== w) throw new ShapeError(`${file}:${li + 1}: ${c.length} fields where the first row has ${w}`);
    let part: 'train' | 'test' = 'train';
    if (splitCol >= 0) {
      const s = c[splitCol].toLowerCase();
      if (s !== 'train' && s !== 'test') throw new FormatError(`${file}:${li + 1}: split must be train or test, found ${JSON.stringify(c[splitCol])}`);
      part = s;
    }
    const num = (j: number) => {
      const v = c[j] === '' ? NaN : Number(c[j]);
      if (!Number.isFinite(v)) throw new FormatError(`${file}:${li + 1}: column ${j + 1} is not a finite number: ${JSON.stringify(c[j])}`);
      if (!Number.isFinite(Math.fround(v)))
        throw new ValueError(`${file}:${li + 1}: column ${j + 1} value ${c[j]} is beyond the float32 range (it would become ${Math.fround(v)})`);
      return v;
    };
    for (const j of featureCols) rows[part].x.push(num(j));
    rows[part].y.push(num(labelCol));
  }
  const raw = (r: { x: number[]; y: number[] }): Raw => ({ x: Float32Array.from(r.x), y: Float64Array.from(r.y), dims: featureCols.length });
  if (rows.train.y.length === 0) throw new FormatError(`${file}: no training rows`);
  if (splitCol >= 0) {
    if (rows.test.y.length === 0) throw new FormatError(`${file}: a split column but no test rows`);
    return { train: raw(rows.train), test: raw(rows.test) };
  }
  return { train: raw(rows.train) };
}

/** Maps integer labels onto 0 … K-1 (identity when they already are). */
function labelMap(parts: Raw[], file: string): { map: (v: number) => number; classes: number } {
  const values = new Set<number>();
  for (const p of parts)
    for (let i = 0; i < p.y.length; i++) {
      const v = p.y[i];
      if (!Number.isInteger(v)) throw new FormatError(`${file}: label ${v} at row ${i} is not an integer`);
      values.add(v);
    }
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.every((v, i) => v === i)) return { map: (v) => v, classes: sorted.length };
  const rank = new Map(sorted.map((v, i) => [v, i]));
  return { map: (v) => rank.get(v)!, classes: sorted.length };
}

export function loadFeatures(file: string, opts: FeaturesOptions = {}): Split {
  const ext = extname(file).toLowerCase();
  let parts: { train: Raw; test?: Raw };
  if (ext === '.npz') parts = fromNpz(file);
  else if (ext === '.npy') parts = { train: splitLastColumn(parseNpy(readBytes(file), file), file) };
  else if (ext === '.csv') parts = fromCsv(file);
  else throw new UnsupportedError(`${file}: feature files must end in .npz, .npy or .csv (found ${JSON.stringify(ext)})`);
  const all = parts.test ? [parts.train, parts.test] : [parts.train];
  const { map, classes } = labelMap(all, file);
  const name = `features:${basename(file)}`;
  const ds = (r: Raw, n: string) => makeDataset(n, r.x, Int32Array.from(r.y, map), r.dims, classes);
  if (parts.test) return { train: ds(parts.train, `${name}/train`), test: ds(parts.test, `${name}/test`) };
  return stratifiedSplit(ds(parts.train, name), opts.testFraction ?? 0.2, opts.seed ?? 0, name);
}
