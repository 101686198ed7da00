/**
 * ONNX export and import of nrem's Network.
 *
 * Networks imported from a file are written back as the same graph with new parameter
 * values (onnx-graph.ts). Networks nrem made itself are written as nrem's own graph
 * (opset 13, IR 8): input "input" [N, n] (vector input) or [N, C, H, W]; per layer
 *     input ops    Add/Sub/Mul/Div by constants of the input's shape [1, …]
 *     dense        Gemm(h, W_k, b_k; transB=1)    (a Flatten first when h is an image)
 *     conv         Conv(h, W_k, b_k; kernel_shape, strides, pads)
 *     pools        MaxPool / AveragePool(kernel_shape, strides, pads[, count_include_pad])
 *     epilogue     Mul(pre) · Relu · Mul(post) · Mul(hidden_scale) (dropout layers), as present
 *     output       Relu | Identity | (Div by temperature when ≠ 1) → Softmax / LogSoftmax(axis=1); named "output".
 * For a fully connected network this is exactly nrem's earlier MLP graph (gemm{k}, relu{k},
 * scale{k} nodes; the paper's test-time dropout scale is a Mul after each hidden Relu rather
 * than folded into the weights, so the raw weights survive a round trip bit for bit).
 * metadata_props hold the nrem spec (nrem.sizes for MLPs, nrem.spec otherwise, nrem.output,
 * nrem.temperature, nrem.dropout, nrem.dropoutMode, optional nrem.recipe); import restores
 * the exact Network from the graph and them, after checking that they agree.
 * Import of other tools' files: onnx-import.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, normalize, resolve, sep } from 'node:path';
import { MODEL_FILE_LIMIT, readInputFile } from '../util/files.js';
import { writeAtomic } from '../util/atomic.js';
import { FormatError } from '../errors.js';
import { Network } from './network.js';
import { size3, type Shape3 } from './layers.js';
import { attrInt, floatTensor, onnx, type O } from './onnx-proto.js';
import { attrInts2 } from './onnx-proto.js';
import { exportSource, sourceMismatch } from './onnx-graph.js';
import { decodeModel, importOnnx, type ImportOptions, type OnnxImport } from './onnx-import.js';

export { importOnnx, decodeModel, type OnnxImport, type ImportOptions } from './onnx-import.js';

export const ONNX_OPSET = 13;
const IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Free-form provenance (training recipe, seed…), stored as JSON in nrem.recipe. */
  recipe?: unknown;
  /** Further metadata_props entries. */
  metadata?: Record<string, string>;
}

/** Serialises net: back into its source graph when it was imported, else as nrem's graph (see the header). */
export function toOnnxBytes(net: Network, opts: OnnxExportOptions = {}): Uint8Array {
  const extra: Record<string, string> = { ...(opts.recipe !== undefined ? { 'nrem.recipe': JSON.stringify(opts.recipe) } : {}), ...opts.metadata };
  if (net.source && sourceMismatch(net) === null) return exportSource(net, extra);
  return nremGraph(net, extra);
}

function nremGraph(net: Network, extra: Record<string, string>): Uint8Array {
  const nodes: O.INodeProto[] = [];
  const inits: O.ITensorProto[] = [];
  const mlp = net.isMlp;
  const vectorInput = net.inputShape[1] === 1 && net.inputShape[2] === 1;
  let cur = 'input';
  let curImage = !vectorInput; // the ONNX tensor is [N, C, H, W] (else [N, n])
  let curShape: Shape3 = net.inputShape;
  const scale = Math.fround(net.hiddenScale);
  const hasDropLayer = net.chain.some((l) => l.dropout);
  if (scale !== 1 && hasDropLayer) inits.push(floatTensor('hidden_scale', [], Float32Array.of(scale)));
  const constDims = (s: Shape3) => (curImage ? [1, ...s] : [1, size3(s)]);
  net.inputOps.forEach((op, i) => {
    const v = new Float32Array(size3(net.inputShape));
    const raw = op.value;
    const per = net.inputShape[1] * net.inputShape[2];
    if (typeof raw === 'number') v.fill(raw);
    else if (raw.length === 1) v.fill(raw[0]);
    else if (raw.length === net.inputShape[0]) for (let c = 0; c < raw.length; c++) v.fill(raw[c], c * per, (c + 1) * per);
    else v.set(raw as ArrayLike<number>);
    inits.push(floatTensor(`input_op${i + 1}`, constDims(net.inputShape), v));
    const opType = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' }[op.op];
    nodes.push({ name: `input_${op.op}${i + 1}`, opType, input: [cur, `input_op${i + 1}`], output: [`x${i + 1}`] });
    cur = `x${i + 1}`;
  });
  let k = 0;
  net.chain.forEach((l, i) => {
    const last = i === net.chain.length - 1;
    const tag = mlp ? String(k + (l.kind === 'dense' || l.kind === 'conv' ? 1 : 0)) : String(i + 1);
    if (l.kind === 'dense') {
      if (curImage) {
        nodes.push({ name: `flatten${i + 1}`, opType: 'Flatten', input: [cur], output: [`f${i + 1}`], attribute: [attrInt('axis', 1)] });
        cur = `f${i + 1}`;
        curImage = false;
      }
      k++;
      const ins = [cur, `W${k}`];
      inits.push(floatTensor(`W${k}`, [l.units!, size3(l.in)], net.getWeights(k - 1)));
      const b = net.getBias(k - 1);
      if (b) {
        inits.push(floatTensor(`B${k}`, [l.units!], b));
        ins.push(`B${k}`);
      }
      nodes.push({ name: `gemm${tag}`, opType: 'Gemm', input: ins, output: [`z${tag}`], attribute: [attrInt('transB', 1)] });
      cur = `z${tag}`;
    } else {
      const needImage = !curImage || curShape.join() !== l.in.join();
      if (needImage) {
        inits.push({ name: `shape${i + 1}`, dims: [4], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(BigInt64Array.from([-1n, ...l.in.map(BigInt)]).buffer) });
        nodes.push({ name: `reshape${i + 1}`, opType: 'Reshape', input: [cur, `shape${i + 1}`], output: [`r${i + 1}`] });
        cur = `r${i + 1}`;
        curImage = true;
      }
      const [kh, kw, sh, sw, pt, pl, pb, pr] = l.window!;
      const attrs = [attrInts2('kernel_shape', [kh, kw]), attrInts2('strides', [sh, sw]), attrInts2('pads', [pt, pl, pb, pr])];
      if (l.kind === 'conv') {
        k++;
        const ins = [cur, `W${k}`];
        inits.push(floatTensor(`W${k}`, [l.units!, l.in[0], kh, kw], net.getWeights(k - 1)));
        const b = net.getBias(k - 1);
        if (b) {
          inits.push(floatTensor(`B${k}`, [l.units!], b));
          ins.push(`B${k}`);
        }
        nodes.push({ name: `conv${i + 1}`, opType: 'Conv', input: ins, output: [`z${i + 1}`], attribute: attrs });
      } else if (l.kind === 'maxpool') {
        nodes.push({ name: `maxpool${i + 1}`, opType: 'MaxPool', input: [cur], output: [`z${i + 1}`], attribute: attrs });
      } else {
        nodes.push({ name: `avgpool${i + 1}`, opType: 'AveragePool', input: [cur], output: [`z${i + 1}`], attribute: [...attrs, attrInt('count_include_pad', l.countIncludePad ? 1 : 0)] });
      }
      cur = `z${i + 1}`;
    }
    curShape = l.out;
    const mul = (name: string, v: number) => {
      inits.push(floatTensor(`${name}_c`, [], Float32Array.of(v)));
      nodes.push({ name, opType: 'Mul', input: [cur, `${name}_c`], output: [`${name}_out`] });
      cur = `${name}_out`;
    };
    if (l.pre !== 1) mul(`pre${tag}`, l.pre);
    if (!last && l.relu) {
      nodes.push({ name: `relu${tag}`, opType: 'Relu', input: [cur], output: [`h${tag}`] });
      cur = `h${tag}`;
    }
    if (!last && l.post !== 1) mul(`post${tag}`, l.post);
    if (!last && l.dropout && scale !== 1) {
      nodes.push({ name: `scale${tag}`, opType: 'Mul', input: [cur, 'hidden_scale'], output: [`hs${tag}`] });
      cur = `hs${tag}`;
    }
  });
  if (curImage && net.outputSize !== curShape[0] * curShape[1] * curShape[2]) curImage = true;
  if (curImage) {
    nodes.push({ name: 'flatten_out', opType: 'Flatten', input: [cur], output: ['logits_flat'], attribute: [attrInt('axis', 1)] });
    cur = 'logits_flat';
  }
  if (net.output === 'relu') nodes.push({ name: 'relu_out', opType: 'Relu', input: [cur], output: ['output'] });
  else if (net.output === 'linear') nodes.push({ name: 'identity_out', opType: 'Identity', input: [cur], output: ['output'] });
  else {
    if (net.temperature !== 1) {
      inits.push(floatTensor('temperature', [], Float32Array.of(net.temperature)));
      nodes.push({ name: 'temperature', opType: 'Div', input: [cur, 'temperature'], output: ['logits_t'] });
      cur = 'logits_t';
    }
    const opType = net.output === 'softmax' ? 'Softmax' : 'LogSoftmax';
    nodes.push({ name: `${net.output}_out`, opType, input: [cur], output: ['output'], attribute: [attrInt('axis', 1)] });
  }
  const io = (name: string, dims: number[]): O.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, ...dims.map((d) => ({ dimValue: d }))] } } },
  });
  const spec = net.spec();
  const meta: Record<string, string> = {
    ...(mlp ? { 'nrem.sizes': JSON.stringify(net.sizes) } : { 'nrem.spec': JSON.stringify({ ...spec, inputOps: undefined }) }),
    'nrem.output': net.output,
    'nrem.temperature': String(net.temperature),
    'nrem.dropout': String(net.dropout),
    'nrem.dropoutMode': net.dropoutMode,
    ...extra,
  };
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'nrem',
    graph: {
      name: mlp ? 'nrem_mlp' : 'nrem_net',
      node: nodes,
      initializer: inits,
      input: [io('input', vectorInput ? [net.inputSize] : [...net.inputShape])],
      output: [io('output', [net.outputSize])],
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes net to path atomically (a temporary file in the same directory, then rename). */
export async function saveOnnx(net: Network, path: string, opts: OnnxExportOptions = {}): Promise<void> {
  await writeAtomic(path, toOnnxBytes(net, opts));
}

export function fromOnnxBytes(bytes: Uint8Array, name = 'model.onnx', opts: ImportOptions = {}): Network {
  return importOnnx(bytes, name, opts).net;
}

/** Reads external data files next to the model at `path` (relative locations inside its folder only). */
export function externalReader(path: string): ImportOptions['external'] {
  const base = dirname(resolve(path));
  return (location, offset, length, tensor) => {
    const file = resolve(base, location);
    if (isAbsolute(location) || normalize(location).split(sep).includes('..') || !file.startsWith(base + sep))
      throw new FormatError(`${path}: tensor ${JSON.stringify(tensor)} points outside the model's folder (${location})`);
    let size: number;
    try {
      size = statSync(file).size;
    } catch (err) {
      throw new FormatError(`${path}: the external data file ${file} of tensor ${JSON.stringify(tensor)} cannot be read (${(err as Error).message})`, { cause: err });
    }
    const len = length ?? size - offset;
    if (offset + len > size) throw new FormatError(`${path}: tensor ${JSON.stringify(tensor)} reads bytes ${offset}..${offset + len} of ${file}, which holds ${size}`);
    const buf = readFileSync(file);
    return new Uint8Array(buf.buffer, buf.byteOffset + offset, len);
  };
}

/** The model at `path` with every external-data tensor read in and stored inline (what a reader of bytes needs). */
export function inlineExternalData(bytes: Uint8Array, path: string): Uint8Array {
  const model = decodeModel(bytes, path);
  const ext = onnx.TensorProto.DataLocation.EXTERNAL;
  const tensors = [...(model.graph?.initializer ?? []), ...(model.graph?.node ?? []).flatMap((n) => (n.attribute ?? []).map((a) => a.t).filter((t): t is O.TensorProto => !!t))];
  const external = tensors.filter((t) => t.dataLocation === ext);
  if (!external.length) return bytes;
  const read = externalReader(path)!;
  for (const t of external) {
    const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    t.rawData = read(kv.location ?? '', kv.offset ? Number(kv.offset) : 0, kv.length ? Number(kv.length) : undefined, t.name ?? '').slice();
    t.externalData = [];
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return onnx.ModelProto.encode(model).finish();
}

export async function loadOnnxImport(path: string): Promise<OnnxImport> {
  const bytes = await readInputFile(path, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
  return importOnnx(bytes, path, { external: externalReader(path) });
}

export async function loadOnnx(path: string): Promise<Network> {
  return (await loadOnnxImport(path)).net;
}
