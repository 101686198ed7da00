/**
 * Export that keeps the user's graph. A network imported from an ONNX file remembers the
 * file (OnnxSource) and, for each weight-carrying layer, which tensors hold its weights and
 * bias and how (Binding). Export decodes the original file again and replaces only those
 * tensors' values — in their own data type and layout — so the node list, names, opset,
 * input and output names and shapes, dynamic axes and metadata stay as they were. A
 * BatchNormalization folded into its layer at import is written back as the folded weights
 * and bias with that BatchNormalization set to the identity (scale 1, mean 0, variance
 * 1 − ε, bias 0 — or the folded bias when the layer has none), and metadata_props say so
 * (nrem.folded_batchnorm). External data is written inline.
 */
import { FormatError, UnsupportedError } from '../errors.js';
import type { Network } from './network.js';
import { encodeValues, num, onnx, type O } from './onnx-proto.js';

/** Where a parameter tensor lives in the file. */
export interface TensorRef {
  name: string;
  kind: 'initializer' | 'constant';
  /** Constant node that outputs the tensor (kind 'constant'). */
  node?: string;
  dataType: number;
  dims: number[];
}

export interface ParamRef extends TensorRef {
  /** oi: [out, in] (Gemm transB=1); io: [in, out] (MatMul, Gemm transB=0); oihw: conv; vector: a bias. */
  layout: 'oi' | 'io' | 'oihw' | 'vector';
  /** The graph multiplies the tensor by this (Gemm alpha / beta): nrem's value = scale × file value. */
  scale: number;
}

export interface Binding {
  /** The node of the layer (Gemm, MatMul, Conv). */
  node: string;
  weight: ParamRef;
  bias: ParamRef | null;
  batchNorm?: { node: string; scale: TensorRef; bias: TensorRef; mean: TensorRef; var: TensorRef; epsilon: number };
}

export interface OnnxSource {
  bytes: Uint8Array;
  /** One per weight-carrying layer, in chain order. */
  bindings: Binding[];
  /** The output activation and temperature the graph computes. */
  output: string;
  temperature: number;
  foldedBatchNorm: string[];
}

/** The file's values of nrem parameter `v` for a tensor of this layout and scale. */
function fileValues(v: Float32Array, ref: ParamRef): Float32Array {
  let out = v;
  if (ref.layout === 'io') {
    const [inn, o] = ref.dims;
    out = new Float32Array(v.length);
    for (let r = 0; r < o; r++) for (let c = 0; c < inn; c++) out[c * o + r] = v[r * inn + c];
  }
  if (ref.scale !== 1) out = Float32Array.from(out, (x) => x / ref.scale);
  return out;
}

/** Can this network be written back into its source graph? (null: yes; else why not) */
export function sourceMismatch(net: Network): string | null {
  const src = net.source;
  if (!src) return 'the network was not imported from a file';
  if (net.output !== src.output || Math.fround(net.temperature) !== Math.fround(src.temperature))
    return `its output (${net.output}, temperature ${net.temperature}) differs from the graph's (${src.output}, temperature ${src.temperature})`;
  if (src.bindings.length !== net.weightLayers) return 'its layers differ from the graph';
  return null;
}

export function exportSource(net: Network, metadata: Record<string, string>): Uint8Array {
  const src = net.source!;
  const why = sourceMismatch(net);
  if (why) throw new UnsupportedError(`cannot write the network back into its original graph: ${why}`);
  const model = onnx.ModelProto.decode(src.bytes);
  const g = model.graph!;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const constants = new Map<string, O.ITensorProto>();
  for (const n of g.node ?? [])
    if (n.opType === 'Constant') {
      const a = (n.attribute ?? []).find((x) => x.name === 'value');
      if (a?.t) constants.set(n.output?.[0] ?? '', a.t);
    }
  const tensorOf = (ref: TensorRef): O.ITensorProto => {
    const t = ref.kind === 'initializer' ? inits.get(ref.name) : constants.get(ref.name);
    if (!t) throw new FormatError(`the original graph has no tensor ${JSON.stringify(ref.name)} any more`);
    return t;
  };
  const write = (ref: TensorRef, values: Float32Array) => {
    const t = tensorOf(ref);
    const count = (t.dims ?? []).map(num).reduce((p, d) => p * d, 1);
    if (count !== values.length) throw new FormatError(`tensor ${JSON.stringify(ref.name)} holds ${count} values, the network ${values.length}`);
    t.rawData = encodeValues(values, t.dataType ?? onnx.TensorProto.DataType.FLOAT);
    t.floatData = [];
    t.doubleData = [];
    t.int32Data = [];
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  };
  const fill = (ref: TensorRef, v: number) => write(ref, new Float32Array(tensorOf(ref).dims?.map(num).reduce((p, d) => p * d, 1) ?? 1).fill(v));
  src.bindings.forEach((b, k) => {
    write(b.weight, fileValues(net.getWeights(k), b.weight));
    const bias = net.getBias(k);
    if (b.batchNorm) {
      const bn = b.batchNorm;
      fill(bn.scale, 1);
      fill(bn.mean, 0);
      fill(bn.var, Math.fround(1 - bn.epsilon));
      if (b.bias) {
        write(b.bias, fileValues(bias!, b.bias));
        fill(bn.bias, 0);
      } else {
        write(bn.bias, bias!);
      }
    } else if (b.bias) {
      write(b.bias, fileValues(bias!, b.bias));
    }
  });
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  if (src.foldedBatchNorm.length) props.set('nrem.folded_batchnorm', JSON.stringify(src.foldedBatchNorm));
  for (const [k, v] of Object.entries(metadata)) props.set(k, v);
  model.metadataProps = [...props].map(([key, value]) => ({ key, value }));
  return onnx.ModelProto.encode(model).finish();
}
