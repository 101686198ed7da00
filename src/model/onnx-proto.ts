/**
 * Thin helpers over the ONNX protobuf classes of the npm package onnx-proto (protobufjs):
 * building float tensors and attributes, and reading tensors/attributes back whatever field
 * the writer chose (raw_data or float_data/double_data/int64_data).
 */
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';

export type { O };
import { FormatError, UnsupportedError } from '../errors.js';

export const onnx = onnxProto.onnx;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

/** A protobuf int64 (number or Long) as a number. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v ?? 0);
}

export function floatTensor(name: string, dims: number[], data: Float32Array): O.ITensorProto {
  return { name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

export function attrInt(name: string, i: number): O.IAttributeProto {
  return { name, type: AT.INT, i };
}

export function attrFloat(name: string, f: number): O.IAttributeProto {
  return { name, type: AT.FLOAT, f };
}

export interface Tensor {
  dims: number[];
  /** Values as doubles (float32 values exactly). */
  data: Float64Array;
  /** The float32 values when the tensor was float32 (no rounding on the way). */
  f32?: Float32Array;
  /** The file's data type (onnx.TensorProto.DataType). */
  dataType?: number;
}

/** Reads the bytes of a tensor stored in an external file (location relative to the model). */
export type ExternalReader = (location: string, offset: number, length: number | undefined, tensor: string) => Uint8Array;

/** Largest tensor nrem reads (elements): far above any network it runs, far below what would exhaust memory. */
export const MAX_TENSOR_ELEMENTS = 1 << 28;

/** IEEE half → double. */
export function halfToDouble(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** double → IEEE half (round to nearest even). */
export function doubleToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Element count of dims, refusing negative, non-integer or absurd shapes before anything is allocated. */
export function elementCount(dims: number[], what: string): number {
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new FormatError(`${what} has the dimension ${d} (shape [${dims.join(', ')}])`);
    count *= d;
    if (count > MAX_TENSOR_ELEMENTS) throw new FormatError(`${what} of shape [${dims.join(', ')}] has more than ${MAX_TENSOR_ELEMENTS} elements`);
  }
  return count;
}

/** Reads a numeric tensor (float, float16, double, int32, int64) held in the file or in an external data file. */
export function readTensor(t: O.ITensorProto, where: string, external?: ExternalReader): Tensor {
  const dims = (t.dims ?? []).map(num);
  const what = `${where}: tensor ${JSON.stringify(t.name ?? '')}`;
  const count = elementCount(dims, what);
  let raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    if (!external) throw new UnsupportedError(`${what} stores its data in an external file (${kv.location}); load the model with loadOnnx(path) so that nrem can find it`);
    const offset = kv.offset ? Number(kv.offset) : 0;
    const length = kv.length ? Number(kv.length) : undefined;
    if (!kv.location || !Number.isInteger(offset) || offset < 0 || (length !== undefined && (!Number.isInteger(length) || length < 0)))
      throw new FormatError(`${what} has a malformed external_data entry (location ${JSON.stringify(kv.location)}, offset ${kv.offset}, length ${kv.length})`);
    raw = external(kv.location, offset, length, t.name ?? '');
  }
  const bytes = (size: number) => {
    if (raw!.length !== count * size) throw new FormatError(`${what} of shape [${dims.join(', ')}] holds ${raw!.length} bytes, expected ${count * size}`);
    const copy = new Uint8Array(raw!.length);
    copy.set(raw!);
    return copy.buffer;
  };
  const listed = (a: ArrayLike<unknown> | null | undefined) => {
    if ((a?.length ?? 0) !== count) throw new FormatError(`${what} of shape [${dims.join(', ')}] holds ${a?.length ?? 0} values, expected ${count}`);
  };
  let f32: Float32Array | undefined;
  let data: Float64Array;
  switch (t.dataType) {
    case DT.FLOAT:
      if (!raw) listed(t.floatData);
      f32 = raw ? new Float32Array(bytes(4)) : Float32Array.from(t.floatData ?? []);
      data = Float64Array.from(f32);
      break;
    case DT.FLOAT16: {
      if (!raw) listed(t.int32Data);
      const h = raw ? new Uint16Array(bytes(2)) : Uint16Array.from(t.int32Data ?? []);
      data = Float64Array.from(h, halfToDouble);
      break;
    }
    case DT.DOUBLE:
      if (!raw) listed(t.doubleData);
      data = raw ? new Float64Array(bytes(8)) : Float64Array.from(t.doubleData ?? []);
      break;
    case DT.INT64:
      if (!raw) listed(t.int64Data);
      data = raw ? Float64Array.from(new BigInt64Array(bytes(8)), Number) : Float64Array.from((t.int64Data ?? []).map(num));
      break;
    case DT.INT32:
      if (!raw) listed(t.int32Data);
      data = raw ? Float64Array.from(new Int32Array(bytes(4))) : Float64Array.from(t.int32Data ?? []);
      break;
    default:
      throw new UnsupportedError(`${what} has data type ${DT[t.dataType ?? 0] ?? t.dataType} (supported: float, float16, double, int32, int64)`);
  }
  return { dims, data, f32, dataType: t.dataType ?? DT.FLOAT };
}

/** The bytes of `values` in data type `dataType` (float, float16, double), little-endian, for raw_data. */
export function encodeValues(values: Float32Array, dataType: number): Uint8Array {
  switch (dataType) {
    case DT.FLOAT:
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case DT.DOUBLE:
      return new Uint8Array(Float64Array.from(values).buffer);
    case DT.FLOAT16:
      return new Uint8Array(Uint16Array.from(values, doubleToHalf).buffer);
    default:
      throw new UnsupportedError(`cannot write parameters as data type ${DT[dataType] ?? dataType}`);
  }
}

/** Reads attribute `name` of a node (int or float), or `dflt` when absent. */
export function attr(node: O.INodeProto, name: string, dflt: number): number {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a) return dflt;
  if (a.type === AT.FLOAT) return a.f ?? 0;
  if (a.type === AT.INT) return num(a.i);
  return dflt;
}

/** Reads an ints attribute, or `dflt` when absent. */
export function attrInts(node: O.INodeProto, name: string, dflt: number[] | undefined): number[] | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a) return dflt;
  return (a.ints ?? []).map(num);
}

/** Reads a string attribute, or `dflt` when absent. */
export function attrString(node: O.INodeProto, name: string, dflt: string): string {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a || !a.s) return dflt;
  return typeof a.s === 'string' ? a.s : new TextDecoder().decode(a.s);
}

export function attrInts2(name: string, ints: number[]): O.IAttributeProto {
  return { name, type: AT.INTS, ints };
}

/** The tensor of a Constant node (attribute value, value_float or value_floats). */
export function constantValue(node: O.INodeProto, where: string, external?: ExternalReader): Tensor {
  for (const a of node.attribute ?? []) {
    if (a.name === 'value' && a.t) return readTensor(a.t, where, external);
    if (a.name === 'value_float') return { dims: [], data: Float64Array.of(a.f ?? 0) };
    if (a.name === 'value_floats') return { dims: [a.floats?.length ?? 0], data: Float64Array.from(a.floats ?? []) };
    if (a.name === 'value_int') return { dims: [], data: Float64Array.of(num(a.i)) };
    if (a.name === 'value_ints') return { dims: [a.ints?.length ?? 0], data: Float64Array.from((a.ints ?? []).map(num)) };
  }
  throw new UnsupportedError(`${where}: Constant node ${JSON.stringify(node.name ?? '')} without a supported value attribute`);
}
