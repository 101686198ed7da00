/**
 * ONNX import of real exports (torch.onnx.export and the like, opsets 9 to 18) into a
 * Network, keeping what export needs to write the same graph back (onnx-graph.ts).
 *
 * The graph is walked in topological order. Every tensor is one of
 *   - a constant (initializer, Constant node, or a node whose inputs are all constant:
 *     folded here — Shape of a constant, Gather, Concat, Unsqueeze, arithmetic, …);
 *   - a shape value: the shape of the activation, whose batch dimension is symbolic (N),
 *     and what Gather/Unsqueeze/Concat/Slice/Cast make of it (the x.view(x.size(0), -1)
 *     idiom: Shape→Gather→Unsqueeze→Concat→Reshape);
 *   - the activation: the one chain from the graph input to the graph output.
 * On the chain: Gemm (transA 0; alpha, beta, transB 0/1), MatMul (+ Add of a bias), Conv
 * (dilation 1, group 1; pads or auto_pad), MaxPool, AveragePool (ceil_mode 0),
 * GlobalAveragePool, Flatten, Reshape (batch kept), BatchNormalization (eval mode: folded
 * into the Conv, Gemm or MatMul before it), Relu, Dropout and Identity (no-ops at
 * inference), Add/Sub/Mul/Div by constants on the input (input normalisation: kept as
 * input ops, exactly), Mul/Div by positive scalars elsewhere, Softmax/LogSoftmax at the
 * end (a scalar Div/Mul right before it is the temperature). Anything else is an
 * UnsupportedError naming the node and its operator.
 */
import { FormatError, ShapeError, UnsupportedError } from '../errors.js';
import { size3, type InputOp, type LayerSpec, type Shape3 } from './layers.js';
import { DROPOUT_MODES, Network, type DropoutMode, type NetworkSpec, type OutputActivation } from './network.js';
import { attr, attrInts, attrString, constantValue, elementCount, num, onnx, readTensor, type ExternalReader, type O, type Tensor } from './onnx-proto.js';
import type { Binding, OnnxSource, TensorRef } from './onnx-graph.js';

const DT = onnx.TensorProto.DataType;

/** A Network read from an ONNX model, plus what the file said about itself. */
export interface OnnxImport {
  net: Network;
  opset: number;
  producer: string;
  metadata: Record<string, string>;
  operators: Record<string, number>;
  /** The graph's input and output as the file declares them. */
  input: { name: string; dims: (number | string)[] };
  output: { name: string; dims: (number | string)[] };
  /** BatchNormalization nodes folded into the layer before them. */
  foldedBatchNorm: string[];
}

export interface ImportOptions {
  /** Reads external data files (loadOnnx passes one relative to the model's folder). */
  external?: ExternalReader;
}

type Dim = number | 'N';
type Val =
  | { kind: 'const'; t: Tensor; ref?: TensorRef }
  | { kind: 'shape'; dims: Dim[]; scalar: boolean }
  | { kind: 'act'; shape: Shape3; dims: Dim[]; id: number; pad?: [number, number, number, number] };

interface TopLayer {
  spec: LayerSpec & { type: 'dense' | 'conv' };
  w: Float32Array;
  b: Float32Array | null;
  binding: Binding;
  /** Nothing applied after the layer's linear output yet (a bias or BatchNorm may still join it). */
  linear: boolean;
  /** Node that produced the linear output. */
  node: string;
}

export function decodeModel(bytes: Uint8Array, name: string): O.ModelProto {
  let model: O.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new FormatError(`${name}: not an ONNX model or truncated (${(err as Error).message})`, { cause: err });
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw new FormatError(`${name}: ONNX model without a graph`);
  return model;
}

function dimsOf(v: O.IValueInfoProto | undefined): (number | string)[] {
  const dims = v?.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? num(d.dimValue) : '?'));
}

/** Nodes in an order where every node comes after the producers of its inputs. */
function topoSort(g: O.IGraphProto, name: string, known: Set<string>): O.INodeProto[] {
  const nodes = g.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) =>
    (n.output ?? []).forEach((o) => {
      if (o && producer.has(o)) throw new FormatError(`${name}: tensor ${JSON.stringify(o)} is produced by two nodes`);
      if (o) producer.set(o, i);
    }),
  );
  const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 done
  const order: O.INodeProto[] = [];
  const visit = (i: number) => {
    const stack: [number, number][] = [[i, 0]];
    state[i] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const n = nodes[top[0]];
      const ins = n.input ?? [];
      if (top[1] < ins.length) {
        const t = ins[top[1]++];
        if (!t) continue;
        const p = producer.get(t);
        if (p === undefined) {
          if (!known.has(t)) throw new FormatError(`${name}: node ${JSON.stringify(n.name ?? '')} (${n.opType}) reads the tensor ${JSON.stringify(t)}, which no node, initializer or graph input provides`);
          continue;
        }
        if (state[p] === 1) throw new FormatError(`${name}: the graph has a cycle through node ${JSON.stringify(nodes[p].name ?? '')} (${nodes[p].opType})`);
        if (state[p] === 0) {
          state[p] = 1;
          stack.push([p, 0]);
        }
        continue;
      }
      state[top[0]] = 2;
      order.push(n);
      stack.pop();
    }
  };
  for (let i = 0; i < nodes.length; i++) if (state[i] === 0) visit(i);
  return order;
}

/** numpy-style broadcast of constant `b` over `a`'s dims for element-wise arithmetic (both constant). */
function broadcastBinary(a: Tensor, b: Tensor, f: (x: number, y: number) => number, where: string): Tensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...Array(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...Array(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new ShapeError(`${where}: cannot broadcast [${a.dims.join(', ')}] with [${b.dims.join(', ')}]`);
    return Math.max(d, pb[i]);
  });
  const count = elementCount(dims, where);
  const data = new Float64Array(count);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < count; i++) {
    let ia = 0, ib = 0;
    for (let k = 0; k < rank; k++) {
      ia = ia * pa[k] + (pa[k] === 1 ? 0 : idx[k]);
      ib = ib * pb[k] + (pb[k] === 1 ? 0 : idx[k]);
    }
    data[i] = f(a.data[ia], b.data[ib]);
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return { dims, data };
}

/** A constant broadcast to one row of an activation (its dims without the batch), or null if it varies along the batch. */
function perRow(c: Tensor, dims: Dim[], where: string): Float32Array {
  const rowDims = dims.slice(1) as number[];
  const rank = rowDims.length + 1;
  if (c.dims.length > rank) throw new ShapeError(`${where}: a constant of shape [${c.dims.join(', ')}] does not broadcast over the activation [${dims.join(', ')}]`);
  const pc = [...Array(rank - c.dims.length).fill(1), ...c.dims];
  if (pc[0] !== 1) throw new UnsupportedError(`${where}: a constant that varies along the batch dimension`);
  const target: Tensor = { dims: [1, ...rowDims], data: new Float64Array(rowDims.reduce((p, d) => p * d, 1)) };
  const out = broadcastBinary(target, { dims: pc, data: c.data }, (_x, y) => y, where);
  if (out.dims.some((d, i) => d !== target.dims[i])) throw new ShapeError(`${where}: a constant of shape [${c.dims.join(', ')}] does not broadcast over the activation [${dims.join(', ')}]`);
  return Float32Array.from(out.data);
}

const intList = (t: Tensor) => Array.from(t.data, (v) => Math.trunc(v));

export function importOnnx(bytes: Uint8Array, name = 'model.onnx', opts: ImportOptions = {}): OnnxImport {
  const model = decodeModel(bytes, name);
  const g = model.graph!;
  const opset = num((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const vals = new Map<string, Val>();
  const inits = new Set<string>();
  for (const t of g.initializer ?? []) {
    const tn = t.name ?? '';
    inits.add(tn);
    vals.set(tn, { kind: 'const', t: readTensor(t, name, opts.external), ref: { name: tn, kind: 'initializer', dataType: t.dataType ?? DT.FLOAT, dims: (t.dims ?? []).map(num) } });
  }
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (inputs.length !== 1) throw new UnsupportedError(`${name}: the graph has ${inputs.length} inputs (nrem networks have one)`);
  const outputs = g.output ?? [];
  if (outputs.length !== 1) throw new UnsupportedError(`${name}: the graph has ${outputs.length} outputs (nrem networks have one)`);
  const input = inputs[0];
  const inDims = dimsOf(input);
  const elem = input.type?.tensorType?.elemType;
  if (elem !== undefined && elem !== null && elem !== DT.FLOAT) throw new UnsupportedError(`${name}: the input ${input.name} is of type ${DT[elem] ?? elem} (float expected)`);
  if (inDims.length !== 2 && inDims.length !== 4) throw new UnsupportedError(`${name}: the input ${input.name} has shape [${inDims.join(', ')}]; nrem reads [N, features] or [N, C, H, W]`);
  const rest = inDims.slice(1);
  if (rest.some((d) => typeof d !== 'number' || d < 1))
    throw new UnsupportedError(`${name}: the input ${input.name} has shape [${inDims.join(', ')}]; every dimension but the batch must be a fixed size`);
  const inShape: Shape3 = rest.length === 1 ? [rest[0] as number, 1, 1] : (rest as Shape3);
  elementCount(inShape, `${name}: the input ${input.name}`);
  let actId = 0;
  const fixedBatch = typeof inDims[0] === 'number' ? inDims[0] : null;
  vals.set(input.name ?? '', { kind: 'act', shape: inShape, dims: ['N', ...(rest as number[])], id: actId });

  const operators: Record<string, number> = {};
  const layers: LayerSpec[] = [];
  const inputOps: InputOp[] = [];
  const weights: Float32Array[] = [];
  const biases: (Float32Array | null)[] = [];
  const bindings: Binding[] = [];
  const foldedBatchNorm: string[] = [];
  let top: TopLayer | null = null;
  let output: OutputActivation = 'linear';
  let temperature = 1;
  let ended = false;
  let pendingScale: { factor: number; index: number } | null = null; // a scalar right after the last layer (may be a temperature)
  const consumed = new Map<number, string>(); // activation id → the chain node that read it

  const known = new Set<string>([...inits, input.name ?? '']);
  const order = topoSort(g, name, known);
  for (const n of order) {
    const op = n.opType ?? '';
    operators[op] = (operators[op] ?? 0) + 1;
    const where = `${name}: node ${JSON.stringify(n.name ?? '')} (${op})`;
    const ins = (n.input ?? []).map((t) => (t ? vals.get(t) : undefined));
    const outName = n.output?.[0] ?? '';
    const setOut = (v: Val) => vals.set(outName, v);
    const acts = ins.map((v, i) => (v?.kind === 'act' ? i : -1)).filter((i) => i >= 0);

    if (op === 'Constant') {
      const t = constantValue(n, name, opts.external);
      setOut({ kind: 'const', t, ref: { name: outName, kind: 'constant', node: n.name ?? '', dataType: t.dataType ?? DT.FLOAT, dims: t.dims } });
      continue;
    }
    if (acts.length === 0) {
      setOut(foldConstant(n, ins, where, opset));
      continue;
    }
    if (acts.length > 1)
      throw new UnsupportedError(`${where} combines two activations (a residual connection or a concatenation): nrem supports chains of layers only`);
    const ai = acts[0];
    const a = ins[ai] as Extract<Val, { kind: 'act' }>;
    if (op === 'Shape') {
      setOut({ kind: 'shape', dims: [...a.dims], scalar: false });
      continue;
    }
    const prev = consumed.get(a.id);
    if (prev !== undefined) throw new UnsupportedError(`${where} reads the activation that node ${JSON.stringify(prev)} already reads (a branch): nrem supports chains of layers only`);
    consumed.set(a.id, n.name ?? op);
    if (ended) throw new UnsupportedError(`${where} follows the output ${output === 'softmax' ? 'Softmax' : 'LogSoftmax'}: nothing may come after it`);
    (n.output ?? []).slice(1).forEach((o) => {
      if (o && ((g.node ?? []).some((m) => (m.input ?? []).includes(o)) || (g.output ?? []).some((x) => x.name === o)))
        throw new UnsupportedError(`${where}: its output ${JSON.stringify(o)} (beyond the first) is used; nrem reads inference graphs only`);
    });
    const act = (shape: Shape3, dims: Dim[], pad?: [number, number, number, number]) => setOut({ kind: 'act', shape, dims, id: ++actId, ...(pad ? { pad } : {}) });
    // A zero Pad before this node (torch exports AvgPool2d as Pad + AveragePool): only a Conv or an AveragePool can take it.
    if (a.pad && op !== 'Conv' && op !== 'AveragePool' && op !== 'Identity' && op !== 'Dropout')
      throw new UnsupportedError(`${where} follows a Pad: nrem merges zero padding into the Conv or AveragePool after it only`);
    const constIn = (i: number, what: string): Extract<Val, { kind: 'const' }> => {
      const v = ins[i];
      if (!v || v.kind !== 'const') throw new UnsupportedError(`${where}: its ${what} (input ${i}) must be a constant (an initializer or a Constant node)`);
      return v;
    };
    const noPending = () => {
      if (pendingScale) pendingScale = null;
    };
    const newLayer = (spec: LayerSpec & { type: 'dense' | 'conv' }, w: Float32Array, b: Float32Array | null, binding: Binding) => {
      noPending();
      layers.push(spec);
      weights.push(w);
      biases.push(b);
      bindings.push(binding);
      top = { spec, w, b, binding, linear: true, node: n.name ?? op };
    };
    const endLinear = () => {
      if (top) top.linear = false;
    };
    switch (op) {
      case 'Gemm':
      case 'MatMul': {
        if (ai !== 0) throw new UnsupportedError(`${where}: the activation must be the first input (weights on the right)`);
        if (op === 'Gemm' && attr(n, 'transA', 0) !== 0) throw new UnsupportedError(`${where}: Gemm with transA=1`);
        if (a.dims.length !== 2) throw new UnsupportedError(`${where}: a ${op} on an activation of rank ${a.dims.length} ([${a.dims.join(', ')}]); flatten it first`);
        const B = constIn(1, 'weight matrix');
        if (B.t.dims.length !== 2) throw new ShapeError(`${where}: expected a 2-d weight matrix but ${B.ref?.name ?? 'it'} has shape [${B.t.dims.join(', ')}]`);
        const transB = op === 'Gemm' && attr(n, 'transB', 0) === 1;
        const alpha = op === 'Gemm' ? attr(n, 'alpha', 1) : 1;
        const [r, c] = B.t.dims;
        const out = transB ? r : c, inn = transB ? c : r;
        if (inn !== size3(a.shape)) throw new ShapeError(`${where}: takes ${inn} inputs but receives ${size3(a.shape)} (${JSON.stringify(B.ref?.name)} has shape [${B.t.dims.join(', ')}])`);
        const w = new Float32Array(out * inn);
        for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) w[o * inn + i] = alpha * (transB ? B.t.data[o * inn + i] : B.t.data[i * out + o]);
        let b: Float32Array | null = null;
        let bref: TensorRef | null = null;
        let beta = 1;
        if (op === 'Gemm' && n.input?.[2]) {
          const C = constIn(2, 'bias');
          beta = attr(n, 'beta', 1);
          b = biasFrom(C.t, out, beta, where);
          bref = C.ref ?? null;
        }
        newLayer({ type: 'dense', units: out, bias: b !== null }, w, b, {
          node: n.name ?? '',
          weight: { ...refOf(B, where), layout: transB ? 'oi' : 'io', scale: alpha },
          bias: bref ? { ...bref, layout: 'vector', scale: beta } : null,
        });
        act([out, 1, 1], ['N', out]);
        break;
      }
      case 'Conv': {
        if (ai !== 0) throw new UnsupportedError(`${where}: the activation must be the first input`);
        if (a.dims.length !== 4) throw new UnsupportedError(`${where}: a 2-d convolution needs an [N, C, H, W] activation, got [${a.dims.join(', ')}]`);
        if (attr(n, 'group', 1) !== 1) throw new UnsupportedError(`${where}: grouped or depthwise convolutions (group=${attr(n, 'group', 1)}) are not supported; use group=1`);
        const dil = attrInts(n, 'dilations', [1, 1])!;
        if (dil.some((d) => d !== 1)) throw new UnsupportedError(`${where}: dilated convolutions (dilations=[${dil.join(', ')}]) are not supported`);
        const W = constIn(1, 'weights');
        if (W.t.dims.length !== 4) throw new ShapeError(`${where}: expected 4-d conv weights but ${W.ref?.name} has shape [${W.t.dims.join(', ')}]`);
        const [O, C, kh, kw] = W.t.dims;
        if (C !== a.shape[0]) throw new ShapeError(`${where}: weights ${W.ref?.name} of shape [${W.t.dims.join(', ')}] take ${C} channels but the input has ${a.shape[0]}`);
        const ks = attrInts(n, 'kernel_shape', [kh, kw])!;
        if (ks[0] !== kh || ks[1] !== kw) throw new ShapeError(`${where}: kernel_shape [${ks.join(', ')}] disagrees with the weights [${W.t.dims.join(', ')}]`);
        const win = windowOf(n, a.shape, kh, kw, 1, where, a.pad);
        const w = W.t.f32 ? W.t.f32.slice() : Float32Array.from(W.t.data);
        let b: Float32Array | null = null;
        let bref: TensorRef | null = null;
        if (n.input?.[2]) {
          const Bv = constIn(2, 'bias');
          b = biasFrom(Bv.t, O, 1, where);
          bref = Bv.ref ?? null;
        }
        const outShape: Shape3 = [O, win.ho, win.wo];
        newLayer({ type: 'conv', filters: O, kernel: [kh, kw], stride: win.stride, padding: win.pads, bias: b !== null }, w, b, {
          node: n.name ?? '',
          weight: { ...refOf(W, where), layout: 'oihw', scale: 1 },
          bias: bref ? { ...bref, layout: 'vector', scale: 1 } : null,
        });
        act(outShape, ['N', ...outShape]);
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        if (a.dims.length !== 4) throw new UnsupportedError(`${where}: pooling needs an [N, C, H, W] activation, got [${a.dims.join(', ')}]`);
        if (attr(n, 'ceil_mode', 0) !== 0) throw new UnsupportedError(`${where}: ceil_mode=1 is not supported (export with ceil_mode=False)`);
        const dil = attrInts(n, 'dilations', [1, 1])!;
        if (dil.some((d) => d !== 1)) throw new UnsupportedError(`${where}: dilated pooling is not supported`);
        const ks = attrInts(n, 'kernel_shape', undefined);
        if (!ks || ks.length !== 2) throw new UnsupportedError(`${where}: 2-d pooling needs kernel_shape [kh, kw]`);
        if (a.pad && op === 'AveragePool' && attr(n, 'count_include_pad', 0) !== 1 && (attrInts(n, 'pads', [0, 0, 0, 0])!.some((p) => p !== 0) || attrString(n, 'auto_pad', 'NOTSET') !== 'NOTSET'))
          throw new UnsupportedError(`${where}: an explicit Pad before an AveragePool that pads again without counting its padding`);
        const win = windowOf(n, a.shape, ks[0], ks[1], 1, where, a.pad);
        if (win.pads[0] >= ks[0] || win.pads[2] >= ks[0] || win.pads[1] >= ks[1] || win.pads[3] >= ks[1])
          throw new ShapeError(`${where}: padding [${win.pads.join(', ')}] must be smaller than the window ${ks.join('×')}`);
        noPending();
        endLinear();
        layers.push({ type: op === 'MaxPool' ? 'maxpool' : 'avgpool', kernel: [ks[0], ks[1]], stride: win.stride, padding: win.pads, ...(op === 'AveragePool' ? { countIncludePad: attr(n, 'count_include_pad', 0) === 1 || !!a.pad } : {}) });
        const outShape: Shape3 = [a.shape[0], win.ho, win.wo];
        act(outShape, ['N', ...outShape]);
        break;
      }
      case 'GlobalAveragePool': {
        if (a.dims.length !== 4) throw new UnsupportedError(`${where}: pooling needs an [N, C, H, W] activation`);
        noPending();
        endLinear();
        layers.push({ type: 'globalavgpool' });
        act([a.shape[0], 1, 1], ['N', a.shape[0], 1, 1]);
        break;
      }
      case 'Flatten': {
        const axis = attr(n, 'axis', 1);
        if (axis !== 1 && !(axis === -1 && a.dims.length === 2) && !(axis === -3 && a.dims.length === 4))
          throw new UnsupportedError(`${where}: Flatten with axis=${axis} (only axis 1, which keeps the batch, is supported)`);
        layers.push({ type: 'flatten' });
        act([size3(a.shape), 1, 1], ['N', size3(a.shape)]);
        break;
      }
      case 'Reshape': {
        const sv = ins[1];
        let target: Dim[];
        if (sv?.kind === 'const') target = intList(sv.t);
        else if (sv?.kind === 'shape') target = sv.dims;
        else throw new UnsupportedError(`${where}: the target shape must be computable before running the network`);
        const d = resolveReshape(target, a, where, fixedBatch);
        layers.push(d.length === 1 ? { type: 'flatten' } : { type: 'reshape', shape: d.length === 3 ? (d as Shape3) : [1, d[0], d[1]] });
        const shape: Shape3 = d.length === 1 ? [d[0], 1, 1] : d.length === 3 ? (d as Shape3) : [1, d[0], d[1]];
        act(shape, ['N', ...d]);
        break;
      }
      case 'BatchNormalization': {
        if (ai !== 0) throw new UnsupportedError(`${where}: the activation must be the first input`);
        if (attr(n, 'training_mode', 0) !== 0) throw new UnsupportedError(`${where}: BatchNormalization in training mode (export the model in eval mode)`);
        const t = top as TopLayer | null;
        if (!t || !t.linear || pendingScale)
          throw new UnsupportedError(`${where}: nrem folds BatchNormalization into the Conv, Gemm or MatMul right before it; here it follows ${t ? 'an activation or scaling' : 'the input'} (put it before the ReLU)`);
        const [scale, bias, mean, vr] = [1, 2, 3, 4].map((i) => constIn(i, ['scale', 'bias', 'mean', 'variance'][i - 1]));
        const C = t.spec.type === 'conv' ? t.spec.filters : t.spec.units;
        if (t.spec.type === 'dense' && a.dims.length !== 2) throw new UnsupportedError(`${where}: BatchNormalization over a non-channel axis`);
        for (const [v, what] of [[scale, 'scale'], [bias, 'bias'], [mean, 'mean'], [vr, 'variance']] as const)
          if (v.t.data.length !== C) throw new ShapeError(`${where}: ${what} holds ${v.t.data.length} values for ${C} channels`);
        const eps = attr(n, 'epsilon', 1e-5);
        foldBatchNorm(t, { scale: scale.t.data, bias: bias.t.data, mean: mean.t.data, var: vr.t.data, eps }, where);
        t.binding.batchNorm = { node: n.name ?? '', scale: refOf(scale, where), bias: refOf(bias, where), mean: refOf(mean, where), var: refOf(vr, where), epsilon: eps };
        t.spec.bias = true;
        biases[biases.length - 1] = t.b;
        foldedBatchNorm.push(n.name ?? '');
        act(a.shape, a.dims);
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const ci = 1 - ai;
        const c = constIn(ci, 'other operand');
        const t = top as TopLayer | null;
        if (!t) {
          // On the input: normalisation, kept exactly as input ops.
          if (ci === 0 && (op === 'Sub' || op === 'Div')) throw new UnsupportedError(`${where}: a constant ${op === 'Sub' ? 'minus' : 'divided by'} the input (x must be the left operand)`);
          const value = perRow(c.t, a.dims, where);
          inputOps.push({ op: op.toLowerCase() as InputOp['op'], value });
          act(a.shape, a.dims);
          break;
        }
        if (op === 'Add' && t.linear && !pendingScale) {
          // The bias of a MatMul (or a second bias of a Gemm/Conv).
          const C = t.spec.type === 'conv' ? t.spec.filters : t.spec.units;
          const b = t.spec.type === 'conv' ? convBias(c.t, C, where) : biasFrom(c.t, C, 1, where);
          if (t.b) {
            if (t.binding.bias || t.binding.batchNorm) throw new UnsupportedError(`${where}: a second bias on the layer of node ${JSON.stringify(t.node)}`);
            for (let i = 0; i < C; i++) t.b[i] = Math.fround(t.b[i] + b[i]);
          } else {
            t.b = b;
          }
          t.binding.bias = { ...refOf(c, where), layout: 'vector', scale: 1 };
          t.spec.bias = true;
          biases[biases.length - 1] = t.b;
          act(a.shape, a.dims);
          break;
        }
        if (op === 'Add' || op === 'Sub') throw new UnsupportedError(`${where}: adding a constant after ${t.linear ? 'a scaled layer' : 'an activation'} is not supported (only a bias right after its layer)`);
        if (c.t.data.length !== 1) throw new UnsupportedError(`${where}: only multiplication by a scalar constant is supported after the first layer`);
        if (ci === 0 && op === 'Div') throw new UnsupportedError(`${where}: division of a constant by the activations`);
        const f = op === 'Mul' ? c.t.data[0] : 1 / c.t.data[0];
        if (!(f > 0) || !Number.isFinite(f)) throw new UnsupportedError(`${where}: multiplication by ${f} (only positive scales are supported)`);
        layers.push({ type: 'scale', factor: f });
        if (t.linear) pendingScale = { factor: f, index: layers.length - 1 };
        act(a.shape, a.dims);
        break;
      }
      case 'Relu':
        if (!top && layers.length === 0) throw new UnsupportedError(`${where}: a ReLU on the input`);
        noPending();
        endLinear();
        layers.push({ type: 'relu' });
        act(a.shape, a.dims);
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        const axis = attr(n, 'axis', opset >= 13 ? -1 : 1);
        if (a.dims.length !== 2 || (axis !== 1 && axis !== -1)) throw new UnsupportedError(`${where}: ${op} must be over the classes of an [N, classes] output (axis 1)`);
        const last = layers[layers.length - 1];
        if (last?.type === 'relu') throw new UnsupportedError(`${where}: a ReLU right before ${op} is not supported`);
        if (pendingScale) {
          // z·c right before the softmax: the temperature T = 1/c.
          temperature = 1 / pendingScale.factor;
          layers.splice(pendingScale.index, 1);
          pendingScale = null;
        }
        output = op === 'Softmax' ? 'softmax' : 'logsoftmax';
        ended = true;
        act(a.shape, a.dims);
        break;
      }
      case 'Dropout':
      case 'Identity':
        act(a.shape, a.dims, a.pad);
        break;
      case 'Pad': {
        if (attrString(n, 'mode', 'constant') !== 'constant') throw new UnsupportedError(`${where}: Pad mode ${attrString(n, 'mode', 'constant')} (only constant zero padding)`);
        const pads = opset >= 11 ? intList(constIn(1, 'pads').t) : attrInts(n, 'pads', [])!;
        const value = opset >= 11 ? (n.input?.[2] ? constIn(2, 'value').t.data[0] : 0) : attr(n, 'value', 0);
        if (a.dims.length !== 4 || pads.length !== 8 || value !== 0 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0))
          throw new UnsupportedError(`${where}: only zero padding of the height and width of an [N, C, H, W] activation is supported (pads [${pads.join(', ')}], value ${value})`);
        const prev = a.pad ?? [0, 0, 0, 0];
        const pad: [number, number, number, number] = [prev[0] + pads[2], prev[1] + pads[3], prev[2] + pads[6], prev[3] + pads[7]];
        // Carried to the Conv or AveragePool that follows (a no-op when every pad is 0).
        act(a.shape, a.dims, pad.some((p) => p) ? pad : undefined);
        break;
      }
      default: {
        const hint: Record<string, string> = {
          Sigmoid: 'nrem sleeps ReLU networks; retrain with ReLU activations',
          Tanh: 'nrem sleeps ReLU networks; retrain with ReLU activations',
          LeakyRelu: 'nrem sleeps ReLU networks; use nn.ReLU',
          Elu: 'nrem sleeps ReLU networks; use nn.ReLU',
          Clip: 'ReLU6 and clipped activations are not ReLUs; use nn.ReLU',
          Concat: 'nrem supports chains of layers only',
        };
        throw new UnsupportedError(`${name}: ONNX operator ${op} (node ${JSON.stringify(n.name ?? '')}) is not supported${hint[op] ? `: ${hint[op]}` : ''}`);
      }
    }
  }
  const out = outputs[0];
  const outVal = vals.get(out.name ?? '');
  if (!outVal || outVal.kind !== 'act') throw new UnsupportedError(`${name}: the graph output ${JSON.stringify(out.name)} is not the end of the layer chain`);
  if ([...vals.values()].some((v) => v.kind === 'act' && v.id > outVal.id)) throw new UnsupportedError(`${name}: the graph output is not the end of the layer chain`);
  if (weights.length === 0) throw new UnsupportedError(`${name}: the graph has no Gemm, MatMul or Conv layer`);
  if (layers[layers.length - 1]?.type === 'relu') {
    output = 'relu';
    layers.pop();
  }
  const spec: NetworkSpec = { input: inShape, layers, output, temperature, inputOps };
  applyNremMetadata(spec, metadata, name);
  let net: Network;
  try {
    net = new Network(spec, weights, biases);
  } catch (err) {
    if (err instanceof ShapeError || err instanceof UnsupportedError) throw new (err.constructor as typeof ShapeError)(`${name}: ${err.message}`, { cause: err });
    throw err;
  }
  net.checkFinite();
  const nremMade = model.producerName === 'nrem' && ('nrem.sizes' in metadata || 'nrem.spec' in metadata);
  if (!nremMade) {
    const source: OnnxSource = { bytes, bindings, output, temperature, foldedBatchNorm };
    net.source = source;
  }
  return {
    net,
    opset,
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
    metadata,
    operators,
    input: { name: input.name ?? '', dims: inDims },
    output: { name: out.name ?? '', dims: dimsOf(out) },
    foldedBatchNorm,
  };
}

function refOf(v: Extract<Val, { kind: 'const' }>, where: string): TensorRef {
  if (!v.ref) throw new UnsupportedError(`${where}: its parameters are computed by other nodes; nrem needs them as initializers or Constant nodes`);
  return v.ref;
}

/** A bias of `out` values from a constant of shape [out], [1, out] or a scalar, times beta. */
function biasFrom(t: Tensor, out: number, beta: number, where: string): Float32Array {
  const n = t.data.length;
  if (n !== out && n !== 1) throw new ShapeError(`${where}: a bias of ${n} values for a layer of ${out}`);
  return Float32Array.from({ length: out }, (_, o) => beta * t.data[n === 1 ? 0 : o]);
}

/** A per-channel constant ([C], [C,1,1], [1,C,1,1]) added after a conv. */
function convBias(t: Tensor, C: number, where: string): Float32Array {
  if (t.data.length === C && (t.dims.length === 1 || t.dims.slice(-2).every((d) => d === 1))) return Float32Array.from(t.data);
  if (t.data.length === 1) return new Float32Array(C).fill(t.data[0]);
  throw new UnsupportedError(`${where}: adding a constant of shape [${t.dims.join(', ')}] after a convolution (a per-channel bias is [C, 1, 1])`);
}

/** W' = W·f, b' = (b − mean)·f + β per output channel, f = γ/√(var + ε), in double, rounded once. */
function foldBatchNorm(t: TopLayer, bn: { scale: Float64Array; bias: Float64Array; mean: Float64Array; var: Float64Array; eps: number }, where: string): void {
  const C = bn.scale.length;
  const per = t.w.length / C;
  const b = t.b ?? new Float32Array(C);
  for (let o = 0; o < C; o++) {
    const f = bn.scale[o] / Math.sqrt(bn.var[o] + bn.eps);
    if (!Number.isFinite(f)) throw new FormatError(`${where}: the folded scale of channel ${o} is ${f} (variance ${bn.var[o]}, epsilon ${bn.eps})`);
    for (let i = o * per; i < (o + 1) * per; i++) t.w[i] = t.w[i] * f;
    b[o] = (b[o] - bn.mean[o]) * f + bn.bias[o];
  }
  t.b = b;
}

/** Stride, pads (top, left, bottom, right) and output size of a conv or pooling node. */
function windowOf(n: O.INodeProto, s: Shape3, kh: number, kw: number, _dflt: number, where: string, extra?: [number, number, number, number]) {
  const st = attrInts(n, 'strides', [1, 1])!;
  if (st.length !== 2 || st.some((v) => !(v >= 1))) throw new ShapeError(`${where}: strides [${st.join(', ')}]`);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  let pads = attrInts(n, 'pads', [0, 0, 0, 0])!;
  if (pads.length !== 4 || pads.some((p) => !(p >= 0))) throw new ShapeError(`${where}: pads [${pads.join(', ')}]`);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const pad = (n_: number, k: number, str: number) => Math.max((Math.ceil(n_ / str) - 1) * str + k - n_, 0);
    const ph = pad(s[1], kh, st[0]), pw = pad(s[2], kw, st[1]);
    const lo = (p: number) => (autoPad === 'SAME_UPPER' ? Math.floor(p / 2) : Math.ceil(p / 2));
    pads = [lo(ph), lo(pw), ph - lo(ph), pw - lo(pw)];
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else if (autoPad !== 'NOTSET') {
    throw new UnsupportedError(`${where}: auto_pad ${autoPad}`);
  }
  if (extra) pads = pads.map((p, i) => p + extra[i]);
  const ho = Math.floor((s[1] + pads[0] + pads[2] - kh) / st[0]) + 1;
  const wo = Math.floor((s[2] + pads[1] + pads[3] - kw) / st[1]) + 1;
  if (s[1] + pads[0] + pads[2] < kh || s[2] + pads[1] + pads[3] < kw || ho < 1 || wo < 1)
    throw new ShapeError(`${where}: a ${kh}×${kw} kernel does not fit its ${s.join('×')} input (pads [${pads.join(', ')}])`);
  return { stride: [st[0], st[1]] as [number, number], pads: [pads[0], pads[1], pads[2], pads[3]] as [number, number, number, number], ho, wo };
}

/** The per-row dims a Reshape of activation `a` to `target` gives (the batch must stay first). */
function resolveReshape(target: Dim[], a: Extract<Val, { kind: 'act' }>, where: string, fixedBatch: number | null): number[] {
  if (target.length < 2) throw new UnsupportedError(`${where}: a reshape to [${target.join(', ')}] drops the batch dimension`);
  const total = size3(a.shape);
  const first = target[0];
  const restT = target.slice(1).map((d, i) => (d === 0 ? a.dims[i + 1] : d));
  if (restT.some((d) => d === 'N')) throw new UnsupportedError(`${where}: a reshape that moves the batch dimension`);
  const rest = restT as number[];
  const minus = rest.filter((d) => d === -1).length;
  if (first !== 'N' && first !== 0 && first !== -1 && first !== fixedBatch) throw new UnsupportedError(`${where}: a reshape to [${target.join(', ')}] with a fixed batch size`);
  if (first === -1 && minus > 0) throw new UnsupportedError(`${where}: a reshape with two inferred dimensions`);
  if (minus > 1 || rest.some((d) => d < -1)) throw new ShapeError(`${where}: invalid reshape target [${target.join(', ')}]`);
  const known = rest.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const dims = rest.map((d) => (d === -1 ? total / known : d));
  if (dims.some((d) => !Number.isInteger(d) || d < 1) || dims.reduce((p, d) => p * d, 1) !== total)
    throw new ShapeError(`${where}: cannot reshape a row of ${total} values (${a.shape.join('×')}) to [${target.join(', ')}]`);
  if (dims.length > 3) throw new UnsupportedError(`${where}: a reshape to rank ${dims.length + 1}`);
  return dims;
}

/** Folds a node whose inputs are all constants (or shape values) into a constant or shape value. */
function foldConstant(n: O.INodeProto, ins: (Val | undefined)[], where: string, opset: number): Val {
  const op = n.opType ?? '';
  const shapeIn = ins.some((v) => v?.kind === 'shape');
  const c = (i: number): Tensor => {
    const v = ins[i];
    if (!v) throw new FormatError(`${where}: input ${i} is missing`);
    if (v.kind === 'const') return v.t;
    throw new UnsupportedError(`${where}: cannot compute it before running the network`);
  };
  const dimsList = (v: Val | undefined): Dim[] => {
    if (!v) throw new FormatError(`${where}: an input is missing`);
    if (v.kind === 'shape') return v.dims;
    if (v.kind === 'const') return intList(v.t);
    throw new UnsupportedError(`${where}: cannot compute it before running the network`);
  };
  const axesOf = (i: number, name: string): number[] | undefined => (opset >= 13 && ins[i] ? intList(c(i)) : attrInts(n, name, undefined));
  if (shapeIn) {
    switch (op) {
      case 'Gather': {
        const v = ins[0];
        if (v?.kind !== 'shape' || attr(n, 'axis', 0) !== 0) break;
        const idx = c(1);
        const pick = (i: number) => v.dims[i < 0 ? i + v.dims.length : i];
        const list = intList(idx).map(pick);
        if (list.some((d) => d === undefined)) throw new ShapeError(`${where}: index out of range`);
        return { kind: 'shape', dims: list, scalar: idx.dims.length === 0 };
      }
      case 'Unsqueeze':
      case 'Cast':
      case 'Identity':
      case 'Squeeze': {
        const v = ins[0] as Extract<Val, { kind: 'shape' }>;
        return { kind: 'shape', dims: v.dims, scalar: op === 'Squeeze' ? v.dims.length === 1 : false };
      }
      case 'Concat':
        return { kind: 'shape', dims: ins.flatMap((v) => dimsList(v)), scalar: false };
      case 'Slice': {
        const d = dimsList(ins[0]);
        const starts = ins[1] ? intList(c(1)) : attrInts(n, 'starts', [0])!;
        const ends = ins[2] ? intList(c(2)) : attrInts(n, 'ends', [d.length])!;
        const steps = ins[4] ? intList(c(4)) : [1];
        if (steps[0] !== 1) break;
        const clamp = (v: number) => Math.max(0, Math.min(d.length, v < 0 ? v + d.length : v));
        return { kind: 'shape', dims: d.slice(clamp(starts[0]), clamp(ends[0])), scalar: false };
      }
    }
    throw new UnsupportedError(`${where}: computes with the batch size (unsupported shape arithmetic)`);
  }
  const t0 = () => c(0);
  switch (op) {
    case 'Identity':
      return ins[0] as Val;
    case 'Cast': {
      // Parameters stored in another type and cast at load keep pointing at their stored tensor.
      const src = ins[0] as Extract<Val, { kind: 'const' }>;
      const to = attr(n, 'to', DT.FLOAT);
      if (to === DT.FLOAT) {
        const f32 = Float32Array.from(src.t.data);
        return { kind: 'const', t: { dims: src.t.dims, data: Float64Array.from(f32), f32, dataType: src.t.dataType }, ref: src.ref };
      }
      if (to === DT.INT64 || to === DT.INT32) return { kind: 'const', t: { dims: src.t.dims, data: src.t.data.map(Math.trunc) } };
      return { kind: 'const', t: src.t };
    }
    case 'Shape':
      return { kind: 'const', t: { dims: [t0().dims.length], data: Float64Array.from(t0().dims) } };
    case 'Reshape': {
      const t = t0();
      const target = intList(c(1)).map((d, i) => (d === 0 ? t.dims[i] : d));
      const known = target.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
      const dims = target.map((d) => (d === -1 ? t.data.length / known : d));
      if (dims.reduce((p, d) => p * d, 1) !== t.data.length) throw new ShapeError(`${where}: cannot reshape [${t.dims.join(', ')}] to [${target.join(', ')}]`);
      return { kind: 'const', t: { dims, data: t.data } };
    }
    case 'Unsqueeze': {
      const t = t0();
      const axes = axesOf(1, 'axes') ?? [];
      const dims = [...t.dims];
      for (const a of [...axes].map((a) => (a < 0 ? a + t.dims.length + axes.length : a)).sort((x, y) => x - y)) dims.splice(a, 0, 1);
      return { kind: 'const', t: { dims, data: t.data } };
    }
    case 'Squeeze': {
      const t = t0();
      const axes = axesOf(1, 'axes');
      const dims = t.dims.filter((d, i) => !(d === 1 && (!axes || axes.map((a) => (a < 0 ? a + t.dims.length : a)).includes(i))));
      return { kind: 'const', t: { dims, data: t.data } };
    }
    case 'Concat': {
      const ts = ins.map((_, i) => c(i));
      if (ts.every((t) => t.dims.length <= 1)) return { kind: 'const', t: { dims: [ts.reduce((p, t) => p + t.data.length, 0)], data: Float64Array.from(ts.flatMap((t) => Array.from(t.data))) } };
      break;
    }
    case 'Gather': {
      const t = t0();
      if (attr(n, 'axis', 0) !== 0 || t.dims.length > 1) break;
      const idx = c(1);
      return { kind: 'const', t: { dims: idx.dims, data: Float64Array.from(intList(idx), (i) => t.data[i < 0 ? i + t.data.length : i]) } };
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => x / y }[op];
      const r = broadcastBinary(t0(), c(1), f, where);
      return { kind: 'const', t: { dims: r.dims, data: Float64Array.from(r.data, (v) => Math.fround(v)) } };
    }
    case 'Sqrt':
      return { kind: 'const', t: { dims: t0().dims, data: t0().data.map((v) => Math.fround(Math.sqrt(v))) } };
    case 'Reciprocal':
      return { kind: 'const', t: { dims: t0().dims, data: t0().data.map((v) => Math.fround(1 / v)) } };
    case 'Neg':
      return { kind: 'const', t: { dims: t0().dims, data: t0().data.map((v) => -v) } };
    case 'ConstantOfShape': {
      const dims = intList(t0());
      const count = elementCount(dims, `${where}: ConstantOfShape`);
      const val = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
      const v = val ? readTensor(val, where).data[0] ?? 0 : 0;
      return { kind: 'const', t: { dims, data: new Float64Array(count).fill(v) } };
    }
  }
  throw new UnsupportedError(`${where}: ONNX operator ${op} on constants is not supported`);
}

/** nrem's own metadata (files nrem wrote): dropout and its test-time scale, checked against the graph. */
function applyNremMetadata(spec: NetworkSpec, meta: Record<string, string>, name: string): void {
  if (!('nrem.sizes' in meta) && !('nrem.spec' in meta)) return;
  const bad = (why: string) => new FormatError(`${name}: nrem metadata disagree with the graph (${why})`);
  const mode = (meta['nrem.dropoutMode'] ?? 'paper') as DropoutMode;
  if (!DROPOUT_MODES.includes(mode)) throw bad(`dropoutMode ${mode}`);
  const p = Number(meta['nrem.dropout'] ?? 0);
  if (!(p >= 0 && p < 1)) throw bad(`dropout ${meta['nrem.dropout']}`);
  const out = meta['nrem.output'];
  if (out !== undefined && out !== spec.output) throw bad(`output ${out} vs ${spec.output}`);
  if ('nrem.sizes' in meta) {
    const dense = (spec.layers ?? []).filter((l) => l.type === 'dense').map((l) => (l as { units: number }).units);
    const sizes = JSON.stringify([size3(spec.input as Shape3), ...dense]);
    if (meta['nrem.sizes'] !== sizes) throw bad(`sizes ${meta['nrem.sizes']} vs ${sizes}`);
  }
  if ('nrem.temperature' in meta && Math.fround(Number(meta['nrem.temperature'])) !== Math.fround(spec.temperature ?? 1)) throw bad(`temperature ${meta['nrem.temperature']} vs ${spec.temperature}`);
  if ('nrem.temperature' in meta) spec.temperature = Number(meta['nrem.temperature']);
  spec.dropout = p;
  spec.dropoutMode = mode;
  // The paper's test-time dropout scale is a Mul after each hidden ReLU in nrem's export.
  const s = Math.fround(mode === 'paper' ? 1 - p : 1);
  const layers = spec.layers ?? [];
  const kept: LayerSpec[] = [];
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    kept.push(l);
    const hiddenDense = l.type === 'relu' && layers.slice(0, i).reverse().find((x) => x.type === 'dense' || x.type === 'conv' || x.type === 'maxpool' || x.type === 'avgpool' || x.type === 'globalavgpool')?.type === 'dense';
    if (!hiddenDense || s === 1) continue;
    const next = layers[i + 1];
    if (next?.type !== 'scale' || Math.fround(next.factor) !== s) throw bad(`hidden scale ${next?.type === 'scale' ? next.factor : 1} vs ${s}`);
    i++;
  }
  spec.layers = kept;
}
