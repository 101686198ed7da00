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
}

/** Reads a numeric tensor (float, double, int32, int64) held in the file. */
export function readTensor(t: O.ITensorProto, where: string): Tensor {
  const dims = (t.dims ?? []).map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw new UnsupportedError(`${where}: tensor ${t.name} stores its data in an external file`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const bytes = (size: number) => {
    if (raw!.length !== count * size) throw new FormatError(`${where}: tensor ${t.name} of shape [${dims.join(', ')}] holds ${raw!.length} bytes, expected ${count * size}`);
    const copy = new Uint8Array(raw!.length);
    copy.set(raw!);
    return copy.buffer;
  };
  let f32: Float32Array | undefined;
  let data: Float64Array;
  switch (t.dataType) {
    case DT.FLOAT:
      f32 = raw ? new Float32Array(bytes(4)) : Float32Array.from(t.floatData ?? []);
      data = Float64Array.from(f32);
      break;
    case DT.DOUBLE:
      data = raw ? new Float64Array(bytes(8)) : Float64Array.from(t.doubleData ?? []);
      break;
    case DT.INT64:
      data = raw ? Float64Array.from(new BigInt64Array(bytes(8)), Number) : Float64Array.from((t.int64Data ?? []).map(num));
      break;
    case DT.INT32:
      data = raw ? Float64Array.from(new Int32Array(bytes(4))) : Float64Array.from(t.int32Data ?? []);
      break;
    default:
      throw new UnsupportedError(`${where}: tensor ${t.name} has data type ${DT[t.dataType ?? 0] ?? t.dataType} (supported: float, double, int32, int64)`);
  }
  if (data.length !== count) throw new FormatError(`${where}: tensor ${t.name} of shape [${dims.join(', ')}] holds ${data.length} values`);
  return { dims, data, f32 };
}

/** Reads attribute `name` of a node (int or float), or `dflt` when absent. */
export function attr(node: O.INodeProto, name: string, dflt: number): number {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  if (!a) return dflt;
  if (a.type === AT.FLOAT) return a.f ?? 0;
  if (a.type === AT.INT) return num(a.i);
  return dflt;
}

/** The tensor of a Constant node (attribute value, value_float or value_floats). */
export function constantValue(node: O.INodeProto, where: string): Tensor {
  for (const a of node.attribute ?? []) {
    if (a.name === 'value' && a.t) return readTensor(a.t, where);
    if (a.name === 'value_float') return { dims: [], data: Float64Array.of(a.f ?? 0) };
    if (a.name === 'value_floats') return { dims: [a.floats?.length ?? 0], data: Float64Array.from(a.floats ?? []) };
    if (a.name === 'value_int') return { dims: [], data: Float64Array.of(num(a.i)) };
    if (a.name === 'value_ints') return { dims: [a.ints?.length ?? 0], data: Float64Array.from((a.ints ?? []).map(num)) };
  }
  throw new UnsupportedError(`${where}: Constant node ${JSON.stringify(node.name ?? '')} without a supported value attribute`);
}
