/**
 * ONNX export and import of nrem's Network.
 *
 * Export (opset 13, IR 8): input "input" [N, n0] float; per layer
 *     z_l = Gemm(h_{l-1}, W_l, b_l; transB=1)            W_l stored as nrem holds it, out × in
 *     hidden:  h_l = Relu(z_l), then Mul(h_l, hidden_scale) when hiddenScale ≠ 1
 *     output:  Relu | Identity | (Div by temperature when ≠ 1) → Softmax(axis=1); named "output".
 * The paper's test-time dropout scaling (1 - p) is a separate Mul after each hidden Relu rather
 * than folded into the next layer's weights, so the raw weights survive a round trip bit for
 * bit. metadata_props hold the nrem spec (nrem.sizes, nrem.output, nrem.temperature,
 * nrem.dropout, nrem.dropoutMode, optional nrem.recipe); import restores the exact Network
 * from them after checking that they agree with the graph.
 *
 * Import of MLPs written by other tools (torch.onnx and the like): a single chain of
 * Gemm (transA=0, transB 0|1, alpha, beta) or MatMul [+ Add], Relu, Flatten/Reshape (to
 * [N, n]), Dropout and Identity (no-ops at inference), Mul/Div by a scalar constant, and a
 * final Softmax. Weights come from initializers or Constant nodes. Scalars are folded:
 * before an activation into that layer's W and b; after a hidden Relu into the next layer's
 * W (W·(c·h) = (c·W)·h); before Softmax they become the temperature (T = 1/c). Files without
 * nrem metadata import with dropout 0. Anything else is an UnsupportedError naming the
 * operator and node.
 */
import { MODEL_FILE_LIMIT, readInputFile } from '../util/files.js';
import { writeAtomic } from '../util/atomic.js';
import { FormatError, ShapeError, UnsupportedError } from '../errors.js';
import { DROPOUT_MODES, Network, OUTPUT_ACTIVATIONS, type DropoutMode, type NetworkSpec, type OutputActivation } from './network.js';
import { attr, attrInt, constantValue, floatTensor, num, onnx, readTensor, type O, type Tensor } from './onnx-proto.js';

export const ONNX_OPSET = 13;
const IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Free-form provenance (training recipe, seed…), stored as JSON in nrem.recipe. */
  recipe?: unknown;
  /** Further metadata_props entries. */
  metadata?: Record<string, string>;
}

/** Serialises net as an ONNX model (see the header for the graph). */
export function toOnnxBytes(net: Network, opts: OnnxExportOptions = {}): Uint8Array {
  const nodes: O.INodeProto[] = [];
  const inits: O.ITensorProto[] = [];
  const L = net.layers;
  let cur = 'input';
  const scale = Math.fround(net.hiddenScale);
  if (scale !== 1 && L > 1) inits.push(floatTensor('hidden_scale', [], Float32Array.of(scale)));
  for (let l = 0; l < L; l++) {
    const k = l + 1;
    const ins = [cur, `W${k}`];
    inits.push(floatTensor(`W${k}`, [net.sizes[k], net.sizes[l]], net.weights[l]));
    const b = net.biases[l];
    if (b) {
      inits.push(floatTensor(`B${k}`, [net.sizes[k]], b));
      ins.push(`B${k}`);
    }
    const last = l === L - 1;
    nodes.push({ name: `gemm${k}`, opType: 'Gemm', input: ins, output: [`z${k}`], attribute: [attrInt('transB', 1)] });
    cur = `z${k}`;
    if (!last) {
      nodes.push({ name: `relu${k}`, opType: 'Relu', input: [cur], output: [`h${k}`] });
      cur = `h${k}`;
      if (scale !== 1) {
        nodes.push({ name: `scale${k}`, opType: 'Mul', input: [cur, 'hidden_scale'], output: [`hs${k}`] });
        cur = `hs${k}`;
      }
    }
  }
  if (net.output === 'relu') nodes.push({ name: 'relu_out', opType: 'Relu', input: [cur], output: ['output'] });
  else if (net.output === 'linear') nodes.push({ name: 'identity_out', opType: 'Identity', input: [cur], output: ['output'] });
  else {
    if (net.temperature !== 1) {
      inits.push(floatTensor('temperature', [], Float32Array.of(net.temperature)));
      nodes.push({ name: 'temperature', opType: 'Div', input: [cur, 'temperature'], output: ['logits_t'] });
      cur = 'logits_t';
    }
    nodes.push({ name: 'softmax_out', opType: 'Softmax', input: [cur], output: ['output'], attribute: [attrInt('axis', 1)] });
  }
  const io = (name: string, n: number): O.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: n }] } } },
  });
  const meta: Record<string, string> = {
    'nrem.sizes': JSON.stringify(net.sizes),
    'nrem.output': net.output,
    'nrem.temperature': String(net.temperature),
    'nrem.dropout': String(net.dropout),
    'nrem.dropoutMode': net.dropoutMode,
    ...(opts.recipe !== undefined ? { 'nrem.recipe': JSON.stringify(opts.recipe) } : {}),
    ...opts.metadata,
  };
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'nrem',
    graph: { name: 'nrem_mlp', node: nodes, initializer: inits, input: [io('input', net.inputSize)], output: [io('output', net.outputSize)] },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes net to path atomically (a temporary file in the same directory, then rename). */
export async function saveOnnx(net: Network, path: string, opts: OnnxExportOptions = {}): Promise<void> {
  await writeAtomic(path, toOnnxBytes(net, opts));
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

interface Layer {
  w: Float32Array; // out × in
  b: Float32Array | null;
  out: number;
  in: number;
  pre: number; // scalar applied before the activation: pre = preMul / preDiv
  preMul: number;
  preDiv: number;
  act: 'relu' | 'linear';
  post: number; // scalar applied after the activation
}

/** A Network read from an ONNX model, plus what the file said about itself. */
export interface OnnxImport {
  net: Network;
  opset: number;
  producer: string;
  metadata: Record<string, string>;
  operators: Record<string, number>;
}

/** Interprets an ONNX graph as an MLP (see the header for what is understood). */
export function importOnnx(bytes: Uint8Array, name = 'model.onnx'): OnnxImport {
  const model = decodeModel(bytes, name);
  const g = model.graph!;
  const opset = num((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  const consts = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) consts.set(t.name ?? '', readTensor(t, name));
  const input = (g.input ?? []).find((i) => !consts.has(i.name ?? ''));
  if (!input) throw new FormatError(`${name}: the graph has no input`);
  const operators: Record<string, number> = {};
  const layers: Layer[] = [];
  let cur = input.name ?? '';
  let softmax = false;
  let temperature = 1;
  const top = () => layers[layers.length - 1];
  const where = (n: O.INodeProto) => `${name}: node ${JSON.stringify(n.name ?? '')} (${n.opType})`;
  const scalar = (n: O.INodeProto, t: string | undefined): number => {
    const c = t !== undefined ? consts.get(t) : undefined;
    if (!c || c.data.length !== 1) throw new UnsupportedError(`${where(n)}: only multiplication by a scalar constant is supported`);
    return c.data[0];
  };
  const weight = (n: O.INodeProto, t: string | undefined, rank: number): Tensor => {
    const c = t !== undefined ? consts.get(t) : undefined;
    if (!c) throw new UnsupportedError(`${where(n)}: weights must be initializers or Constant outputs (input ${JSON.stringify(t)})`);
    if (c.dims.length !== rank && !(rank === 1 && c.dims.length === 2 && c.dims[0] === 1))
      throw new ShapeError(`${where(n)}: expected a ${rank}-d tensor for ${t} but found shape [${c.dims.join(', ')}]`);
    return c;
  };
  const addLayer = (n: O.INodeProto, b: Tensor, transB: boolean, alpha: number) => {
    if (softmax) throw new UnsupportedError(`${where(n)}: layers after Softmax`);
    const [r, c] = b.dims;
    const out = transB ? r : c;
    const inn = transB ? c : r;
    const w = new Float32Array(out * inn);
    for (let o = 0; o < out; o++)
      for (let i = 0; i < inn; i++) w[o * inn + i] = alpha * (transB ? b.data[o * inn + i] : b.data[i * out + o]);
    const prev = top();
    if (prev) {
      if (prev.act !== 'relu') throw new UnsupportedError(`${where(n)}: a hidden layer without Relu (nrem networks are ReLU MLPs)`);
      if (prev.out !== inn) throw new ShapeError(`${where(n)}: takes ${inn} inputs but the previous layer has ${prev.out} outputs`);
    }
    layers.push({ w, b: null, out, in: inn, pre: 1, preMul: 1, preDiv: 1, act: 'linear', post: 1 });
  };
  const addBias = (n: O.INodeProto, t: Tensor, beta: number) => {
    const l = top();
    if (!l || l.b || l.act === 'relu' || l.pre !== 1) throw new UnsupportedError(`${where(n)}: a bias must directly follow its MatMul or Gemm`);
    if (t.data.length !== l.out && t.data.length !== 1) throw new ShapeError(`${where(n)}: bias of ${t.data.length} values for a layer of ${l.out}`);
    l.b = Float32Array.from({ length: l.out }, (_, o) => beta * t.data[t.data.length === 1 ? 0 : o]);
  };
  const scale = (n: O.INodeProto, c: number, div = false) => {
    const l = top();
    if (!l) throw new UnsupportedError(`${where(n)}: scaling the input is not supported`);
    if (l.act === 'linear') {
      if (div) l.preDiv *= c;
      else l.preMul *= c;
      l.pre = l.preMul / l.preDiv;
    } else l.post *= div ? 1 / c : c;
  };
  for (const n of g.node ?? []) {
    const op = n.opType ?? '';
    operators[op] = (operators[op] ?? 0) + 1;
    if (op === 'Constant') {
      consts.set(n.output?.[0] ?? '', constantValue(n, name));
      continue;
    }
    const ins = n.input ?? [];
    const main = ins.indexOf(cur);
    if (main < 0) throw new UnsupportedError(`${where(n)}: not on the single chain from the input (nrem imports plain MLPs)`);
    if (softmax) throw new UnsupportedError(`${where(n)}: operators after Softmax`);
    switch (op) {
      case 'Gemm': {
        if (main !== 0 || attr(n, 'transA', 0) !== 0) throw new UnsupportedError(`${where(n)}: Gemm with transA=1`);
        addLayer(n, weight(n, ins[1], 2), attr(n, 'transB', 0) === 1, attr(n, 'alpha', 1));
        if (ins[2]) addBias(n, weight(n, ins[2], 1), attr(n, 'beta', 1));
        break;
      }
      case 'MatMul':
        if (main !== 0) throw new UnsupportedError(`${where(n)}: MatMul with the weights on the left`);
        addLayer(n, weight(n, ins[1], 2), false, 1);
        break;
      case 'Add':
        addBias(n, weight(n, ins[1 - main], 1), 1);
        break;
      case 'Relu': {
        const l = top();
        if (!l || l.act === 'relu') throw new UnsupportedError(`${where(n)}: Relu not after a layer`);
        l.act = 'relu';
        break;
      }
      case 'Mul':
        scale(n, scalar(n, ins[1 - main]));
        break;
      case 'Div':
        if (main !== 0) throw new UnsupportedError(`${where(n)}: division of a constant by the activations`);
        scale(n, scalar(n, ins[1]), true);
        break;
      case 'Softmax': {
        const l = top();
        const axis = attr(n, 'axis', opset >= 13 ? -1 : 1);
        if (!l || l.act === 'relu' || (axis !== 1 && axis !== -1)) throw new UnsupportedError(`${where(n)}: Softmax must follow the last layer, over axis 1`);
        softmax = true;
        if (l.pre > 0) (temperature = l.preDiv / l.preMul), (l.pre = 1);
        break;
      }
      case 'Flatten':
      case 'Reshape':
        if (layers.length > 0 && op === 'Flatten' && attr(n, 'axis', 1) !== 1) throw new UnsupportedError(`${where(n)}: Flatten with axis ≠ 1`);
        if (op === 'Reshape') {
          const s = consts.get(ins[1] ?? '');
          if (!s || s.data.length !== 2) throw new UnsupportedError(`${where(n)}: Reshape to anything but [N, n]`);
        }
        break;
      case 'Dropout':
      case 'Identity':
        break;
      default:
        throw new UnsupportedError(`${name}: ONNX operator ${op} (node ${JSON.stringify(n.name ?? '')}) is not supported`);
    }
    cur = n.output?.[0] ?? '';
  }
  if (layers.length === 0) throw new UnsupportedError(`${name}: the graph has no Gemm or MatMul layer`);
  if (!(g.output ?? []).some((o) => o.name === cur)) throw new UnsupportedError(`${name}: the graph output is not the end of the layer chain`);
  const last = top();
  if (last.post !== 1 && !(last.post > 0)) throw new UnsupportedError(`${name}: a non-positive scale after the output Relu`);
  const sizes = [layers[0].in, ...layers.map((l) => l.out)];
  const output: OutputActivation = softmax ? 'softmax' : last.act;
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const spec = nremSpec(name, sizes, output, layers, metadata);
  // Fold the scalars into weights: before an activation into the layer itself (any c); after
  // the output Relu into the layer too (c·relu(z) = relu(c·z), c > 0); after a hidden Relu into
  // the next layer (W·(c·h) = (c·W)·h) — unless nrem metadata say it is the dropout scale.
  const fold = (l: Layer, c: number) => {
    if (c === 1) return;
    for (let k = 0; k < l.w.length; k++) l.w[k] *= c;
    if (l.b) for (let k = 0; k < l.b.length; k++) l.b[k] *= c;
  };
  layers.forEach((l, i) => {
    fold(l, l === last ? l.pre * l.post : l.pre);
    if (i > 0 && !spec) {
      const c = layers[i - 1].post;
      if (c !== 1) for (let k = 0; k < l.w.length; k++) l.w[k] *= c;
    }
  });
  const weights = layers.map((l) => l.w);
  const biases = layers.map((l) => l.b);
  const net = new Network(spec ?? { sizes, output, temperature }, weights, biases);
  return { net, opset, producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(), metadata, operators };
}

/**
 * nrem's own spec from metadata_props, after checking it against the graph; undefined for
 * files without nrem metadata.
 */
function nremSpec(name: string, sizes: number[], output: OutputActivation, layers: Layer[], meta: Record<string, string>): NetworkSpec | undefined {
  if (!('nrem.sizes' in meta)) return undefined;
  const bad = (why: string) => new FormatError(`${name}: nrem metadata disagree with the graph (${why})`);
  if (meta['nrem.sizes'] !== JSON.stringify(sizes)) throw bad(`sizes ${meta['nrem.sizes']} vs ${JSON.stringify(sizes)}`);
  const out = meta['nrem.output'] as OutputActivation;
  if (!OUTPUT_ACTIVATIONS.includes(out) || out !== output) throw bad(`output ${out} vs ${output}`);
  const mode = meta['nrem.dropoutMode'] as DropoutMode;
  if (!DROPOUT_MODES.includes(mode)) throw bad(`dropoutMode ${mode}`);
  const spec = { sizes, output, temperature: Number(meta['nrem.temperature']), dropout: Number(meta['nrem.dropout']), dropoutMode: mode };
  const s = Math.fround(new Network({ ...spec, sizes: [1, 1] }).hiddenScale);
  for (let l = 0; l + 1 < layers.length; l++) if (layers[l].post !== s) throw bad(`hidden scale ${layers[l].post} vs ${s}`);
  return spec;
}

export function fromOnnxBytes(bytes: Uint8Array, name = 'model.onnx'): Network {
  return importOnnx(bytes, name).net;
}

export async function loadOnnx(path: string): Promise<Network> {
  const bytes = await readInputFile(path, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
  return fromOnnxBytes(bytes, path);
}
