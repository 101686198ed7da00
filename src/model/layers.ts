/**
 * The layers of a network and their shapes: the one description of every network nrem
 * supports (a chain of layers on C×H×W tensors, native/core/model.h), and its compilation
 * into the chain the native core runs (ReLUs and constant scales fused into the layer
 * before them, flatten and reshape as views).
 *
 *   dense      z = W·flatten(x) + b                  W: units × in, row-major
 *   conv       z[o] = Σ_c W[o,c] ⋆ x[c] + b[o]       W: filters × C × kh × kw; stride, zero padding
 *   maxpool    max of each window (padding never wins)
 *   avgpool    mean of each window (countIncludePad: divide by kh·kw, else by the cells inside)
 *   globalavgpool   avgpool over the whole feature map
 *   flatten    C×H×W → (C·H·W)×1×1 (a view)          reshape: any shape of the same size (a view)
 *   relu       after a dense, conv or pooling layer
 *   scale      multiply by a positive constant (on the input: an input op)
 */
import { ShapeError, UnsupportedError, ValueError } from '../errors.js';
import { describe, expectInt, expectNumber } from '../util/validate.js';

export type Shape3 = [number, number, number];
export type Pair = [number, number];
/** Padding: one value for all sides, [vertical, horizontal], or [top, left, bottom, right]. */
export type Padding = number | Pair | [number, number, number, number];

export type LayerSpec =
  | { type: 'dense'; units: number; bias?: boolean }
  | { type: 'conv'; filters: number; kernel: number | Pair; stride?: number | Pair; padding?: Padding; bias?: boolean }
  | { type: 'maxpool' | 'avgpool'; kernel: number | Pair; stride?: number | Pair; padding?: Padding; countIncludePad?: boolean }
  | { type: 'globalavgpool' }
  | { type: 'flatten' }
  | { type: 'reshape'; shape: Shape3 }
  | { type: 'relu' }
  | { type: 'scale'; factor: number };

export type LayerType = LayerSpec['type'];
export const LAYER_TYPES: readonly LayerType[] = ['dense', 'conv', 'maxpool', 'avgpool', 'globalavgpool', 'flatten', 'reshape', 'relu', 'scale'];

/** An element-wise transform of the input, in order (e.g. (x − mean) / std): value per element, per channel or a scalar. */
export interface InputOp {
  op: 'add' | 'sub' | 'mul' | 'div';
  value: number | number[] | Float32Array;
}
export const INPUT_OPS = ['add', 'sub', 'mul', 'div'] as const;

/** One layer of the native chain (native/addon/model_handle.cc createModel). */
export interface NativeLayerDesc {
  kind: 'dense' | 'conv' | 'maxpool' | 'avgpool';
  units?: number;
  window?: number[];
  countIncludePad?: boolean;
  relu: boolean;
  pre: number;
  post: number;
  dropout: boolean;
  bias?: boolean;
}

/** A native layer with its shapes and where it came from in the spec. */
export interface ChainLayer extends NativeLayerDesc {
  in: Shape3;
  out: Shape3;
  /** Index of the spec entry that made this layer. */
  spec: number;
}

export interface CompiledChain {
  layers: ChainLayer[];
  /** Input ops from leading scale entries (mul), prepended to the network's own. */
  leadingScale: number;
  /** True when the spec's last entry is a ReLU (the output activation). */
  endsWithRelu: boolean;
}

export const size3 = (s: Shape3): number => s[0] * s[1] * s[2];
export const shapeStr = (s: Shape3): string => s.join('×');

function pair(v: unknown, name: string, min: number): Pair {
  if (typeof v === 'number') return [expectInt(v, name, min, 65535), v];
  if (Array.isArray(v) && v.length === 2) return [expectInt(v[0], `${name}[0]`, min, 65535), expectInt(v[1], `${name}[1]`, min, 65535)];
  throw new ValueError(`Expected an integer or [h, w] for ${name} but received ${describe(v)}`);
}

function pads(v: unknown, name: string): [number, number, number, number] {
  if (v === undefined) return [0, 0, 0, 0];
  if (typeof v === 'number') {
    const p = expectInt(v, name, 0, 65535);
    return [p, p, p, p];
  }
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = pair(v, name, 0);
    return [a, b, a, b];
  }
  if (Array.isArray(v) && v.length === 4) return v.map((x, i) => expectInt(x, `${name}[${i}]`, 0, 65535)) as [number, number, number, number];
  throw new ValueError(`Expected an integer, [h, w] or [top, left, bottom, right] for ${name} but received ${describe(v)}`);
}

export function expectShape(v: unknown, name: string): Shape3 {
  if (typeof v === 'number') return [expectInt(v, name, 1, 1 << 30), 1, 1];
  if (Array.isArray(v) && v.length === 3) return v.map((x, i) => expectInt(x, `${name}[${i}]`, 1, 1 << 30)) as Shape3;
  throw new ValueError(`Expected a number of inputs or [channels, height, width] for ${name} but received ${describe(v)}`);
}

/** Output size along one axis (the window must fit). */
function outSize(n: number, k: number, s: number, p0: number, p1: number): number {
  return Math.floor((n + p0 + p1 - k) / s) + 1;
}

/** A spec entry checked and written out in full (explicit kernel, stride and padding arrays). */
export function canonicalLayer(l: unknown, i: number): LayerSpec {
  const where = `layers[${i}]`;
  if (!l || typeof l !== 'object') throw new ValueError(`Expected a layer object for ${where} but received ${describe(l)}`);
  const o = l as Record<string, unknown>;
  const allowed: Record<LayerType, string[]> = {
    dense: ['units', 'bias'],
    conv: ['filters', 'kernel', 'stride', 'padding', 'bias'],
    maxpool: ['kernel', 'stride', 'padding', 'countIncludePad'],
    avgpool: ['kernel', 'stride', 'padding', 'countIncludePad'],
    globalavgpool: [],
    flatten: [],
    reshape: ['shape'],
    relu: [],
    scale: ['factor'],
  };
  const type = o.type as LayerType;
  if (!LAYER_TYPES.includes(type)) throw new ValueError(`Expected one of ${LAYER_TYPES.join(', ')} for ${where}.type but received ${describe(o.type)}`);
  for (const k of Object.keys(o))
    if (k !== 'type' && !allowed[type].includes(k))
      throw new ValueError(`Unknown option ${JSON.stringify(k)} for ${where} (a ${type} layer takes ${allowed[type].join(', ') || 'no options'})`);
  const bias = (v: unknown) => {
    if (v !== undefined && typeof v !== 'boolean') throw new ValueError(`Expected a boolean for ${where}.bias but received ${describe(v)}`);
    return v as boolean | undefined;
  };
  switch (type) {
    case 'dense':
      return { type, units: expectInt(o.units, `${where}.units`, 1, 1 << 24), ...(bias(o.bias) !== undefined ? { bias: o.bias as boolean } : {}) };
    case 'conv':
      return {
        type,
        filters: expectInt(o.filters, `${where}.filters`, 1, 1 << 16),
        kernel: pair(o.kernel, `${where}.kernel`, 1),
        stride: pair(o.stride ?? 1, `${where}.stride`, 1),
        padding: pads(o.padding, `${where}.padding`),
        ...(bias(o.bias) !== undefined ? { bias: o.bias as boolean } : {}),
      };
    case 'maxpool':
    case 'avgpool': {
      const kernel = pair(o.kernel, `${where}.kernel`, 1);
      const cip = o.countIncludePad;
      if (cip !== undefined && typeof cip !== 'boolean') throw new ValueError(`Expected a boolean for ${where}.countIncludePad`);
      return {
        type,
        kernel,
        stride: pair(o.stride ?? kernel, `${where}.stride`, 1),
        padding: pads(o.padding, `${where}.padding`),
        ...(type === 'avgpool' ? { countIncludePad: cip ?? false } : {}),
      };
    }
    case 'reshape':
      return { type, shape: expectShape(o.shape, `${where}.shape`) };
    case 'scale': {
      const f = expectNumber(o.factor, `${where}.factor`);
      if (!(f > 0)) throw new UnsupportedError(`Expected a positive factor for ${where} (a scale layer) but received ${f}`);
      return { type, factor: f };
    }
    default:
      return { type } as LayerSpec;
  }
}

/**
 * Compiles spec layers on an input shape into the native chain. Throws ShapeError for a
 * window that does not fit or a reshape of the wrong size, UnsupportedError for what the
 * chain cannot express.
 */
export function compileChain(input: Shape3, specs: LayerSpec[]): CompiledChain {
  const layers: ChainLayer[] = [];
  let cur: Shape3 = input;
  let leadingScale = 1;
  let endsWithRelu = false;
  specs.forEach((l, i) => {
    const where = `layers[${i}] (${l.type})`;
    const top = layers[layers.length - 1];
    endsWithRelu = false;
    switch (l.type) {
      case 'dense':
        layers.push({ kind: 'dense', units: l.units, relu: false, pre: 1, post: 1, dropout: false, bias: l.bias, in: cur, out: [l.units, 1, 1], spec: i });
        break;
      case 'conv':
      case 'maxpool':
      case 'avgpool':
      case 'globalavgpool': {
        const isConv = l.type === 'conv';
        const [kh, kw] = l.type === 'globalavgpool' ? [cur[1], cur[2]] : (l.kernel as Pair);
        const [sh, sw] = l.type === 'globalavgpool' ? [1, 1] : (l.stride as Pair);
        const [pt, pl, pb, pr] = l.type === 'globalavgpool' ? [0, 0, 0, 0] : (l.padding as number[]);
        const ho = outSize(cur[1], kh, sh, pt, pb), wo = outSize(cur[2], kw, sw, pl, pr);
        if (cur[1] + pt + pb < kh || cur[2] + pl + pr < kw || ho < 1 || wo < 1)
          throw new ShapeError(`${where}: a ${kh}×${kw} window does not fit its ${shapeStr(cur)} input (padding ${[pt, pl, pb, pr].join(', ')})`);
        if (!isConv && (pt >= kh || pb >= kh || pl >= kw || pr >= kw))
          throw new ShapeError(`${where}: pooling padding must be smaller than the window (kernel ${kh}×${kw}, padding ${[pt, pl, pb, pr].join(', ')})`);
        const kind = l.type === 'globalavgpool' ? 'avgpool' : l.type;
        const out: Shape3 = [isConv ? (l as { filters: number }).filters : cur[0], ho, wo];
        layers.push({
          kind,
          ...(isConv ? { units: (l as { filters: number }).filters, bias: (l as { bias?: boolean }).bias } : {}),
          window: [kh, kw, sh, sw, pt, pl, pb, pr],
          ...(kind === 'avgpool' ? { countIncludePad: l.type === 'avgpool' ? (l.countIncludePad ?? false) : false } : {}),
          relu: false,
          pre: 1,
          post: 1,
          dropout: false,
          in: cur,
          out,
          spec: i,
        });
        break;
      }
      case 'flatten':
        cur = [size3(cur), 1, 1];
        return;
      case 'reshape':
        if (size3(l.shape) !== size3(cur)) throw new ShapeError(`${where}: cannot reshape ${shapeStr(cur)} (${size3(cur)} values) to ${shapeStr(l.shape)}`);
        cur = [...l.shape];
        return;
      case 'relu':
        if (!top) throw new UnsupportedError(`${where}: a ReLU on the input is not supported (inputs are not activations)`);
        top.relu = true;
        endsWithRelu = true;
        return;
      case 'scale':
        if (!top) leadingScale *= l.factor;
        else if (top.relu) top.post *= l.factor;
        else top.pre *= l.factor;
        return;
    }
    cur = layers[layers.length - 1].out;
  });
  if (layers.length === 0) throw new ShapeError('Expected at least one dense, conv or pooling layer in layers');
  return { layers, leadingScale, endsWithRelu };
}

/** The dense layers of a fully connected chain: [n0, n1, …, nL] as `sizes` spell them. */
export function mlpLayers(sizes: number[], bias: boolean): LayerSpec[] {
  const out: LayerSpec[] = [];
  for (let l = 1; l < sizes.length; l++) {
    out.push({ type: 'dense', units: sizes[l], bias });
    if (l < sizes.length - 1) out.push({ type: 'relu' });
  }
  return out;
}

/** An input op's value broadcast to the input: scalar, per channel (length C) or per element. */
export function broadcastInputOp(op: InputOp, input: Shape3, where: string): Float32Array {
  const d = size3(input);
  const v = op.value;
  const out = new Float32Array(d);
  if (typeof v === 'number') {
    expectNumber(v, `${where}.value`);
    out.fill(v);
  } else if (Array.isArray(v) || v instanceof Float32Array) {
    const a = Array.from(v as ArrayLike<number>);
    a.forEach((x, i) => expectNumber(x, `${where}.value[${i}]`));
    const per = input[1] * input[2];
    if (a.length === 1) out.fill(a[0]);
    else if (a.length === input[0]) for (let c = 0; c < input[0]; c++) out.fill(a[c], c * per, (c + 1) * per);
    else if (a.length === d) out.set(a);
    else throw new ShapeError(`Expected ${where}.value to hold 1, ${input[0]} (per channel) or ${d} (per element) values but it holds ${a.length}`);
  } else {
    throw new ValueError(`Expected a number, an array or a Float32Array for ${where}.value but received ${describe(v)}`);
  }
  if (op.op === 'div') for (let i = 0; i < d; i++) if (out[i] === 0) throw new ValueError(`Expected a non-zero divisor in ${where}.value but found 0 at index ${i}`);
  return out;
}
