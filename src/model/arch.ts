/**
 * Architectures as users write them (`nrem train --arch`, createNetwork):
 *   784,1200,1200,10                            a fully connected chain, input size first
 *   conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10
 *                                               on the data's image (C×H×W): a ReLU after every
 *                                               conv and dense layer but the last
 *     conv:FxK[sS][pP]   F filters of K×K, stride S (1), zero padding P (0)
 *     pool:maxK[sS] | pool:avgK[sS] | pool:gap  pooling K×K, stride S (K); global average
 *     dense:N | N        N units
 *   a JSON file or object { "input"?: [C, H, W], "layers": [LayerSpec, …] } (layers.ts)
 *   lenet                                       the built-in LeNet-style CNN (LENET_ARCH)
 */
import { readFileSync } from 'node:fs';
import { ArgumentError, FormatError } from '../errors.js';
import { canonicalLayer, expectShape, type InputOp, type LayerSpec, type Shape3 } from './layers.js';
import type { Network } from './network.js';
import type { Dataset } from '../data/dataset.js';
import { ShapeError } from '../errors.js';

export interface Architecture {
  /** Input shape; when absent, the data's (image shape, or features). */
  input?: Shape3;
  layers: LayerSpec[];
  /** Input transform (normalisation) the network applies first. */
  inputOps?: InputOp[];
}

/** The architecture of a network (its layers and input transform, not its parameters or output). */
export function architectureOf(net: Network): Architecture {
  const s = net.spec();
  return { input: s.input, layers: net.layers.map((l) => structuredClone(l)), ...(s.inputOps.length ? { inputOps: s.inputOps } : {}) };
}

/** The built-in LeNet-style CNN: two 5×5 conv layers of 16 and 32 channels, each max-pooled 2×2, then 128 and 10 units. */
export const LENET_ARCH = 'conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10';

const TOKEN = /^(?:conv:(\d+)x(\d+)(?:s(\d+))?(?:p(\d+))?|pool:(max|avg)(\d+)(?:s(\d+))?|pool:(gap)|(?:dense:)?(\d+))$/;

/** Sizes of a fully connected chain, or a layer list, from an --arch string. */
export function parseArch(s: string): number[] | Architecture {
  if (typeof s !== 'string' || !s.trim()) throw new ArgumentError(`Expected an architecture for --arch but received ${JSON.stringify(s)}`);
  if (s.trim() === 'lenet') s = LENET_ARCH;
  const parts = s.split(',').map((t) => t.trim());
  if (parts.every((p) => /^\d+$/.test(p))) {
    const sizes = parts.map(Number);
    if (sizes.length < 2 || sizes.some((v) => !Number.isInteger(v) || v < 1))
      throw new ArgumentError(`Expected layer sizes like 784,1200,1200,10 for --arch but received ${JSON.stringify(s)}`);
    return sizes;
  }
  const layers: LayerSpec[] = [];
  parts.forEach((p, i) => {
    const m = TOKEN.exec(p);
    if (!m)
      throw new ArgumentError(
        `Expected conv:FxK[sS][pP], pool:maxK[sS], pool:avgK[sS], pool:gap, dense:N or N for entry ${i + 1} of --arch but received ${JSON.stringify(p)} (e.g. conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10)`,
      );
    const last = i === parts.length - 1;
    if (m[1]) {
      layers.push({ type: 'conv', filters: +m[1], kernel: +m[2], stride: m[3] ? +m[3] : 1, padding: m[4] ? +m[4] : 0 });
      if (!last) layers.push({ type: 'relu' });
    } else if (m[5]) {
      layers.push({ type: m[5] === 'max' ? 'maxpool' : 'avgpool', kernel: +m[6], stride: m[7] ? +m[7] : +m[6] });
    } else if (m[8]) {
      layers.push({ type: 'globalavgpool' });
    } else {
      layers.push({ type: 'dense', units: +m[9] });
      if (!last) layers.push({ type: 'relu' });
    }
  });
  const top = layers.filter((l) => l.type !== 'relu').pop();
  if (top?.type !== 'dense' && top?.type !== 'conv') throw new ArgumentError(`Expected --arch to end with a dense (or conv) output layer but it ends with ${parts[parts.length - 1]}`);
  layers.forEach((l, i) => canonicalLayer(l, i));
  return { layers };
}

/** --arch as a string (parseArch) or a JSON file (ending in .json). */
export function readArch(arg: string): number[] | Architecture {
  if (!arg.endsWith('.json')) return parseArch(arg);
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(arg, 'utf8'));
  } catch (err) {
    throw new FormatError(`${arg}: cannot read the architecture (${(err as Error).message})`, { cause: err });
  }
  return architecture(o, arg);
}

/** An architecture object checked: { input?, layers }. */
export function architecture(o: unknown, where = 'arch'): Architecture {
  if (!o || typeof o !== 'object' || !Array.isArray((o as Architecture).layers))
    throw new FormatError(`${where}: expected an object { "input"?: [C, H, W], "layers": [...] }`);
  const a = o as { input?: unknown; layers: unknown[]; inputOps?: InputOp[] };
  const extra = Object.keys(a).filter((k) => k !== 'input' && k !== 'layers' && k !== 'inputOps');
  if (extra.length) throw new FormatError(`${where}: unknown field ${JSON.stringify(extra[0])} (expected input, layers, inputOps)`);
  return {
    ...(a.input !== undefined ? { input: expectShape(a.input, `${where}.input`) } : {}),
    layers: a.layers.map((l, i) => canonicalLayer(l, i)),
    ...(a.inputOps ? { inputOps: a.inputOps } : {}),
  };
}

/** The architecture on data of this shape (an image's [1, H, W], else features). */
export function archFor(arch: number[] | Architecture, data: Dataset): number[] | Architecture {
  if (Array.isArray(arch)) {
    if (data.dims !== arch[0]) throw new ShapeError(`Expected the architecture to start with ${data.dims} (the data's features) but it starts with ${arch[0]}`);
    return arch;
  }
  const input: Shape3 = arch.input ?? (data.shape && data.shape[0] * data.shape[1] === data.dims ? [1, data.shape[0], data.shape[1]] : [data.dims, 1, 1]);
  if (input[0] * input[1] * input[2] !== data.dims)
    throw new ShapeError(`Expected the architecture's input ${input.join('×')} to hold the data's ${data.dims} features`);
  return { input, layers: arch.layers, ...(arch.inputOps ? { inputOps: arch.inputOps } : {}) };
}
