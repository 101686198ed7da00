/**
 * The toy "patches" set (sleep-algorithm.md §6): binary width × width images, `classes`
 * classes. Generated from a seed, in three steps (nrem's reading of the release's toy set):
 *
 *  1. A random set S of `overlap` pixels, shared: on in every class prototype.
 *  2. Each class k gets its own `on - overlap` further pixels P_k, drawn without replacement
 *     from the pixels outside S and outside every other class's set, so the prototypes
 *     S ∪ P_k share exactly the `overlap` pixels of S. `on` (on-pixels per prototype)
 *     defaults to round(width²/6) = 17 for width 10.
 *  3. Each example is its class prototype with every pixel flipped independently with
 *     probability `noise` (default 0.05, about 5 of 100 pixels). noise=0 gives the clean
 *     prototypes only (the paper's four images, repeated).
 *
 * Examples are balanced and interleaved (row i has class i mod classes). Defaults:
 * width 10, classes 4, overlap 5, on 17, noise 0.05, n 400 training rows, nTest 400 test rows.
 * Spec string: `patches` or `patches:width=10,overlap=5,on=17,noise=0.05,n=400,ntest=400,classes=4`.
 *
 * Random draws: counter RNG stream "data"; prototypes use a = Purpose.patches·2^20 (one
 * permutation of the pixels); noise of example i of part p (0 train, 1 test) uses
 * a = (Purpose.patches·2^20 + 1 + p)·2^24 + i, b = pixel.
 */
import { ValueError } from '../errors.js';
import { expectInt, expectNumber } from '../util/validate.js';
import { permutation, rngUniformRows, RngStream } from '../util/rng.js';
import { makeDataset, type Dataset, type Split } from './dataset.js';
import { Purpose } from './split.js';

export interface PatchesOptions {
  width?: number;
  classes?: number;
  overlap?: number;
  on?: number;
  noise?: number;
  n?: number;
  nTest?: number;
  seed?: number;
}

export type PatchesParams = Required<PatchesOptions>;

export function patchesParams(o: PatchesOptions = {}): PatchesParams {
  const width = expectInt(o.width ?? 10, 'width', 2, 256);
  const classes = expectInt(o.classes ?? 4, 'classes', 2, 1000);
  const overlap = expectInt(o.overlap ?? 5, 'overlap', 0, width * width);
  const on = expectInt(o.on ?? Math.round((width * width) / 6), 'on', overlap + 1, width * width);
  const p: PatchesParams = {
    width,
    classes,
    overlap,
    on,
    noise: expectNumber(o.noise ?? 0.05, 'noise', 0, 0.5),
    n: expectInt(o.n ?? 400, 'n', 1, 1 << 24),
    nTest: expectInt(o.nTest ?? 400, 'nTest', 1, 1 << 24),
    seed: expectInt(o.seed ?? 0, 'seed', 0, Number.MAX_SAFE_INTEGER),
  };
  if (overlap + classes * (on - overlap) > width * width)
    throw new ValueError(
      `Expected overlap + classes·(on - overlap) ≤ width² for patches but received ${overlap} + ${classes}·${on - overlap} > ${width * width}`,
    );
  return p;
}

/** The clean class prototypes: classes × width², 0/1. */
export function patchPrototypes(p: PatchesParams): Float32Array {
  const d = p.width * p.width;
  const perm = permutation(d, p.seed, RngStream.data, Purpose.patches * 2 ** 20);
  const out = new Float32Array(p.classes * d);
  const own = p.on - p.overlap;
  for (let k = 0; k < p.classes; k++) {
    for (let i = 0; i < p.overlap; i++) out[k * d + perm[i]] = 1;
    for (let i = 0; i < own; i++) out[k * d + perm[p.overlap + k * own + i]] = 1;
  }
  return out;
}

function examples(p: PatchesParams, proto: Float32Array, n: number, part: number, name: string): Dataset {
  const d = p.width * p.width;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const base = (Purpose.patches * 2 ** 20 + 1 + part) * 2 ** 24;
  // u[i·d + j] = rngUniform(seed, data, base + i, j)
  const u = p.noise > 0 ? rngUniformRows(p.seed, RngStream.data, base, n, d) : null;
  for (let i = 0; i < n; i++) {
    const k = i % p.classes;
    y[i] = k;
    for (let j = 0; j < d; j++) {
      let v = proto[k * d + j];
      if (u && u[i * d + j] < p.noise) v = 1 - v;
      x[i * d + j] = v;
    }
  }
  return makeDataset(name, x, y, d, p.classes, [p.width, p.width]);
}

export function generatePatches(o: PatchesOptions = {}): Split {
  const p = patchesParams(o);
  const proto = patchPrototypes(p);
  const tag = `patches(width=${p.width},classes=${p.classes},overlap=${p.overlap},on=${p.on},noise=${p.noise},seed=${p.seed})`;
  return { train: examples(p, proto, p.n, 0, `${tag}/train`), test: examples(p, proto, p.nTest, 1, `${tag}/test`) };
}

/** Parses the parameter part of `patches:k=v,…` (keys width, classes, overlap, on, noise, n, ntest, seed). */
export function parsePatchesSpec(params: string): PatchesOptions {
  const o: PatchesOptions = {};
  const keys: Record<string, keyof PatchesOptions> = { width: 'width', classes: 'classes', overlap: 'overlap', on: 'on', noise: 'noise', n: 'n', ntest: 'nTest', seed: 'seed' };
  for (const kv of params.split(',').filter((s) => s.trim() !== '')) {
    const m = /^\s*([a-zA-Z]+)\s*=\s*([^\s]+)\s*$/.exec(kv);
    const key = m && keys[m[1].toLowerCase()];
    if (!m || !key) throw new ValueError(`Expected key=value with key one of ${Object.keys(keys).join(', ')} in patches spec but received ${JSON.stringify(kv)}`);
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw new ValueError(`Expected a number for patches ${m[1]} but received ${JSON.stringify(m[2])}`);
    o[key] = v;
  }
  return o;
}
