/**
 * Malformed, hostile and unsupported ONNX graphs: a typed error naming the node and the
 * tensor, never a crash and never an allocation sized by an unchecked field.
 */
import { describe, expect, it } from 'vitest';
import { FormatError, ShapeError, UnsupportedError, fromOnnxBytes } from '../src/index.js';
import { onnx, type O } from '../src/model/onnx-proto.js';
import { floatTensor, modelBytes } from './onnx-helpers.js';

const IN = 'onnx::Flatten_0';
const gemm = (name: string, input: string, w: string, out: string): O.INodeProto => ({ name, opType: 'Gemm', input: [input, w], output: [out], attribute: [{ name: 'transB', type: 2, i: 1 }] });
const conv = (name: string, input: string, w: string, out: string, attrs: O.IAttributeProto[] = []): O.INodeProto => ({ name, opType: 'Conv', input: [input, w], output: [out], attribute: attrs });
const ints = (name: string, v: number[]): O.IAttributeProto => ({ name, type: 7, ints: v });
const image = [ 'batch', 1, 6, 6 ];

describe('hostile ONNX files are typed errors naming node and tensor', () => {
  it('an initializer whose data does not fit its shape', () => {
    const t = floatTensor('w', [4, 9], new Float32Array(20));
    expect(() => fromOnnxBytes(modelBytes([gemm('g', IN, 'w', 'output')], [t], 9, 4), 'm.onnx')).toThrow(FormatError);
    expect(() => fromOnnxBytes(modelBytes([gemm('g', IN, 'w', 'output')], [t], 9, 4), 'm.onnx')).toThrow(/tensor "w" of shape \[4, 9\] holds 80 bytes, expected 144/);
  });

  it('a shape whose product overflows is refused before anything is allocated', () => {
    const t: O.ITensorProto = { name: 'w', dims: [1 << 20, 1 << 20, 1 << 20], dataType: 1, rawData: new Uint8Array(16) };
    expect(() => fromOnnxBytes(modelBytes([gemm('g', IN, 'w', 'output')], [t], 9, 4), 'm.onnx')).toThrow(/tensor "w" of shape \[1048576, 1048576, 1048576\] has more than/);
    const neg: O.ITensorProto = { name: 'w', dims: [-4, 9], dataType: 1, rawData: new Uint8Array(0) };
    expect(() => fromOnnxBytes(modelBytes([gemm('g', IN, 'w', 'output')], [neg], 9, 4), 'm.onnx')).toThrow(/has the dimension -4/);
  });

  it('a cyclic graph', () => {
    const w = floatTensor('w', [9, 9], new Float32Array(81));
    const nodes = [gemm('a', 'y', 'w', 'x'), gemm('b', 'x', 'w', 'y'), { name: 'out', opType: 'Relu', input: ['y'], output: ['output'] }];
    expect(() => fromOnnxBytes(modelBytes(nodes, [w], 9, 9), 'm.onnx')).toThrow(FormatError);
    expect(() => fromOnnxBytes(modelBytes(nodes, [w], 9, 9), 'm.onnx')).toThrow(/cycle through node "(a|b)" \(Gemm\)/);
  });

  it('a node reading a tensor nobody provides', () => {
    const w = floatTensor('w', [4, 9], new Float32Array(36));
    expect(() => fromOnnxBytes(modelBytes([gemm('g', IN, 'missing_w', 'output')], [w], 9, 4), 'm.onnx')).toThrow(/node "g" \(Gemm\) reads the tensor "missing_w", which no node, initializer or graph input provides/);
  });

  it('a Conv whose kernel does not fit its input, or whose weights disagree with it', () => {
    const big = floatTensor('w', [2, 1, 7, 7], new Float32Array(98));
    expect(() => fromOnnxBytes(modelBytes([conv('/c/Conv', IN, 'w', 'output')], [big], 36, 2, 17, image), 'm.onnx')).toThrow(ShapeError);
    expect(() => fromOnnxBytes(modelBytes([conv('/c/Conv', IN, 'w', 'output')], [big], 36, 2, 17, image), 'm.onnx')).toThrow(/node "\/c\/Conv" \(Conv\): a 7×7 kernel does not fit its 1×6×6 input/);
    const chans = floatTensor('w', [2, 3, 3, 3], new Float32Array(54));
    expect(() => fromOnnxBytes(modelBytes([conv('/c/Conv', IN, 'w', 'output')], [chans], 36, 2, 17, image), 'm.onnx')).toThrow(/take 3 channels but the input has 1/);
  });

  it('grouped and dilated convolutions, residual Adds, other activations: UnsupportedError with what would make it importable', () => {
    const w = floatTensor('w', [2, 1, 3, 3], new Float32Array(18));
    expect(() => fromOnnxBytes(modelBytes([conv('c', IN, 'w', 'output', [ints('dilations', [2, 2])])], [w], 36, 2, 17, image))).toThrow(/dilated convolutions/);
    expect(() => fromOnnxBytes(modelBytes([conv('c', IN, 'w', 'output', [{ name: 'group', type: 2, i: 2 }])], [w], 36, 2, 17, image))).toThrow(/grouped or depthwise convolutions \(group=2\) are not supported; use group=1/);
    const sq = floatTensor('w', [9, 9], new Float32Array(81));
    const residual = [gemm('g', IN, 'w', 'a'), { name: 'res/Add', opType: 'Add', input: ['a', IN], output: ['output'] }];
    expect(() => fromOnnxBytes(modelBytes(residual, [sq], 9, 9))).toThrow(/node "res\/Add" \(Add\) combines two activations \(a residual connection or a concatenation\)/);
    const sig = [gemm('g', IN, 'w', 'a'), { name: 'act', opType: 'Sigmoid', input: ['a'], output: ['output'] }];
    expect(() => fromOnnxBytes(modelBytes(sig, [sq], 9, 9))).toThrow(UnsupportedError);
    const branch = [gemm('g1', IN, 'w', 'a'), gemm('g2', IN, 'w', 'b'), { name: 'r', opType: 'Relu', input: ['a'], output: ['output'] }];
    expect(() => fromOnnxBytes(modelBytes(branch, [sq], 9, 9))).toThrow(/already reads \(a branch\)/);
    const bnAfterRelu = [
      gemm('g', IN, 'w', 'a'),
      { name: 'r', opType: 'Relu', input: ['a'], output: ['b'] },
      { name: 'bn', opType: 'BatchNormalization', input: ['b', 's', 'o', 'm', 'v'], output: ['output'] },
    ];
    const ones = (name: string) => floatTensor(name, [9], new Float32Array(9).fill(1));
    expect(() => fromOnnxBytes(modelBytes(bnAfterRelu, [sq, ones('s'), ones('o'), ones('m'), ones('v')], 9, 9))).toThrow(/folds BatchNormalization into the Conv, Gemm or MatMul right before it; here it follows an activation or scaling \(put it before the ReLU\)/);
  });

  it('NaN or infinite weights', () => {
    const w = new Float32Array(36);
    w[7] = NaN;
    expect(() => fromOnnxBytes(modelBytes([gemm('g', IN, 'w', 'output')], [floatTensor('w', [4, 9], w)], 9, 4))).toThrow(/Expected finite values in weights\[0\] but found NaN at index 7/);
  });

  it('a graph with two inputs, or whose output is not the end of the chain', () => {
    const w = floatTensor('w', [4, 9], new Float32Array(36));
    const m = onnx.ModelProto.decode(modelBytes([gemm('g', IN, 'w', 'output')], [w], 9, 4));
    m.graph!.input!.push({ name: 'second', type: m.graph!.input![0].type });
    expect(() => fromOnnxBytes(onnx.ModelProto.encode(m).finish())).toThrow(/the graph has 2 inputs/);
  });
});
