/**
 * Network: the one model of nrem — a chain of layers on C×H×W tensors (src/model/layers.ts,
 * native/core/model.h): fully connected MLPs like the paper's, convolutional networks
 * (conv, max- and average-pooling), with or without biases, an optional element-wise input
 * transform (normalisation), and a relu, linear, softmax or log-softmax output.
 *
 * The parameters live in a native model handle (native/addon/model_handle.h) that the
 * Network owns: every native call reads or changes them there, under a lease that turns a
 * racing call into a BusyError. Reading parameters back is an explicit copy (getWeights,
 * parameters()); dispose() frees the native memory.
 */
import { addon, type NativeModel } from '../native/binding.js';
import { ArgumentError, ShapeError, ValueError, nativeSync } from '../errors.js';
import { describe, expectFinite, expectFloat32Array, expectInt, expectNumber, expectOneOf } from '../util/validate.js';
import { runNative, type RunOptions } from '../util/control.js';
import {
  INPUT_OPS,
  broadcastInputOp,
  canonicalLayer,
  compileChain,
  expectShape,
  mlpLayers,
  size3,
  type ChainLayer,
  type InputOp,
  type LayerSpec,
  type Shape3,
} from './layers.js';
import type { OnnxSource } from './onnx-graph.js';
import { checkChainForwardMemory, checkChainMemory } from '../util/memory.js';

export const OUTPUT_ACTIVATIONS = ['relu', 'linear', 'softmax', 'logsoftmax'] as const;
export type OutputActivation = (typeof OUTPUT_ACTIVATIONS)[number];
export const DROPOUT_MODES = ['paper', 'inverted'] as const;
/**
 * paper: non-inverted dropout (train: drop; test: scale hidden activations by 1 - p).
 * inverted: train: drop and scale by 1/(1-p); test: identity.
 * Dropout applies to the hidden fully connected ReLU layers.
 */
export type DropoutMode = (typeof DROPOUT_MODES)[number];

export interface NetworkSpec {
  /** Input shape [channels, height, width], or the number of inputs of a vector input (default sizes[0]). */
  input?: number | Shape3;
  /** The chain of layers (src/model/layers.ts). Give either layers or sizes. */
  layers?: LayerSpec[];
  /** Shorthand for a fully connected chain: layer sizes n0 … nL, input first, ReLU between. */
  sizes?: number[];
  /** Biases of the `sizes` shorthand's layers, and the default of layers that do not say. */
  biases?: boolean;
  output?: OutputActivation;
  /** Softmax temperature (softmax and log-softmax outputs). */
  temperature?: number;
  /** Dropout probability on hidden fully connected layers (0 = none). */
  dropout?: number;
  dropoutMode?: DropoutMode;
  /** Element-wise transform of the input before the first layer, in order (e.g. sub mean, div std). */
  inputOps?: InputOp[];
}

/** The complete spec of a network, as Network.spec() returns it. */
export interface FullNetworkSpec {
  input: Shape3;
  layers: LayerSpec[];
  output: OutputActivation;
  temperature: number;
  dropout: number;
  dropoutMode: DropoutMode;
  inputOps: InputOp[];
}

export interface Parameters {
  /** One per weight-carrying layer (dense: units × in; conv: filters × C × kh × kw), in chain order. */
  weights: Float32Array[];
  biases: (Float32Array | null)[];
}

/** Why a network cannot be handed to a fully connected-only operation, or null when it can. */
export function denseOnly(net: Network): string | null {
  if (net.inputOps.length) return 'it transforms its input (input normalisation)';
  for (const l of net.chain)
    if (l.kind !== 'dense') return `layer ${l.spec + 1} is a ${l.kind} layer`;
  return null;
}

const HANDLE = Symbol('handle');

export class Network {
  readonly inputShape: Shape3;
  /** The spec's layers, each written out in full. */
  readonly layers: readonly LayerSpec[];
  /** The native chain: one entry per dense, conv or pooling layer, with shapes. */
  readonly chain: readonly ChainLayer[];
  readonly inputOps: readonly InputOp[];
  readonly dropout: number;
  readonly dropoutMode: DropoutMode;
  /** Where an imported network came from: the graph ONNX export writes back (src/model/onnx-graph.ts). */
  source?: OnnxSource;
  private [HANDLE]: NativeModel;
  private out: OutputActivation;
  private temp: number;

  constructor(spec: NetworkSpec, weights?: Float32Array[] | Parameters, biases?: (Float32Array | null)[]) {
    if (!spec || typeof spec !== 'object') throw new ArgumentError(`Expected a network spec object but received ${describe(spec)}`);
    const known = ['input', 'layers', 'sizes', 'biases', 'output', 'temperature', 'dropout', 'dropoutMode', 'inputOps'];
    for (const k of Object.keys(spec))
      if (!known.includes(k)) throw new ValueError(`Unknown network option ${JSON.stringify(k)} (expected one of ${known.join(', ')})`);
    const withBias = spec.biases ?? false;
    if (typeof withBias !== 'boolean') throw new ArgumentError(`Expected a boolean for biases but received ${describe(withBias)}`);
    let layers: LayerSpec[];
    let input: Shape3;
    if (spec.layers !== undefined) {
      if (spec.sizes !== undefined) throw new ArgumentError('Expected either layers or sizes for a network, not both');
      if (!Array.isArray(spec.layers) || spec.layers.length === 0) throw new ShapeError('Expected a non-empty array for layers');
      layers = spec.layers.map((l, i) => canonicalLayer(l, i));
      if (spec.input === undefined) throw new ArgumentError('Expected input (a number of inputs or [channels, height, width]) with layers');
      input = expectShape(spec.input, 'input');
    } else {
      if (!Array.isArray(spec.sizes) || spec.sizes.length < 2) throw new ShapeError('Expected at least two layer sizes for sizes');
      spec.sizes.forEach((s, i) => expectInt(s, `sizes[${i}]`, 1, 1 << 24));
      input = spec.input === undefined ? [spec.sizes[0], 1, 1] : expectShape(spec.input, 'input');
      if (size3(input) !== spec.sizes[0]) throw new ShapeError(`Expected input of ${spec.sizes[0]} values (sizes[0]) but received ${input.join('×')}`);
      layers = mlpLayers(spec.sizes, withBias);
    }
    layers = layers.map((l) => (l.type === 'dense' || l.type === 'conv' ? { ...l, bias: l.bias ?? withBias } : l));
    const compiled = compileChain(input, layers);
    let output = spec.output;
    if (compiled.endsWithRelu) {
      // A trailing ReLU is the output activation.
      if (output !== undefined && output !== 'relu')
        throw new ValueError(`The layers end with a ReLU but output is ${JSON.stringify(output)} (a ReLU before the output ${output} is not supported)`);
      output = 'relu';
      layers = layers.slice(0, -1);
    }
    this.out = expectOneOf(output ?? 'relu', 'output', OUTPUT_ACTIVATIONS);
    this.temp = expectNumber(spec.temperature ?? 1, 'temperature', Number.MIN_VALUE);
    this.dropout = expectNumber(spec.dropout ?? 0, 'dropout', 0, 0.99);
    this.dropoutMode = expectOneOf(spec.dropoutMode ?? 'paper', 'dropoutMode', DROPOUT_MODES);
    const chain = compileChain(input, layers).layers;
    const last = chain[chain.length - 1];
    // The last layer's scale after its activation folds into the scale before it (c·relu(z) = relu(c·z), c > 0).
    last.pre *= last.post;
    last.post = 1;
    last.relu = false;
    chain.forEach((l, i) => (l.dropout = l.kind === 'dense' && l.relu && i < chain.length - 1));
    const ops: InputOp[] = [];
    if (compiled.leadingScale !== 1) ops.push({ op: 'mul', value: compiled.leadingScale });
    for (const [i, op] of (spec.inputOps ?? []).entries()) {
      if (!op || typeof op !== 'object') throw new ValueError(`Expected an object for inputOps[${i}]`);
      expectOneOf(op.op, `inputOps[${i}].op`, INPUT_OPS);
      ops.push({ op: op.op, value: op.value instanceof Float32Array ? op.value.slice() : Array.isArray(op.value) ? [...op.value] : op.value });
    }
    this.inputShape = input;
    this.layers = layers;
    this.chain = chain;
    const dense = chain.every((l) => l.kind === 'dense');
    checkChainMemory(
      { inputSize: size3(input), outputSize: size3(chain[chain.length - 1].out), chain },
      dense ? `a network of sizes ${[size3(input), ...chain.map((l) => l.units)].join('-')}` : `a network of ${chain.length} layers on ${input.join('×')} inputs`,
    );
    this.inputOps = ops;
    const params = Array.isArray(weights) || weights === undefined ? { weights, biases } : { weights: weights.weights, biases: weights.biases };
    const weighted = chain.filter((l) => l.kind === 'dense' || l.kind === 'conv');
    if (params.weights !== undefined && params.weights.length !== weighted.length)
      throw new ShapeError(`Expected ${weighted.length} weight matrices but received ${params.weights.length}`);
    if (params.biases !== undefined && params.biases.length !== weighted.length)
      throw new ShapeError(`Expected ${weighted.length} bias entries but received ${params.biases.length}`);
    let k = 0;
    const desc = chain.map((l) => {
      const { in: _i, out: _o, spec: _s, ...d } = l;
      if (l.kind !== 'dense' && l.kind !== 'conv') return d;
      const count = l.kind === 'dense' ? size3(l.in) * l.units! : l.units! * l.in[0] * l.window![0] * l.window![1];
      const w = params.weights?.[k];
      if (w !== undefined) expectFloat32Array(w, `weights[${k}]`, count);
      let bias: Float32Array | boolean = l.bias ?? false;
      const b = params.biases?.[k];
      if (params.biases !== undefined) {
        if (b === null) bias = false;
        else bias = expectFloat32Array(b, `biases[${k}]`, l.units!);
      }
      k++;
      l.bias = bias !== false;
      return { ...d, weights: w, bias };
    });
    this[HANDLE] = nativeSync(() =>
      addon().createModel({
        input,
        inputOps: ops.map((op, i) => ({ op: op.op, value: broadcastInputOp(op, input, `inputOps[${i}]`) })),
        layers: desc,
        output: this.out,
        temperature: this.temp,
        hiddenScale: this.hiddenScale,
      }),
    );
  }

  /** A Network around an existing handle (clone). */
  private static wrap(from: Network, handle: NativeModel): Network {
    const net = Object.create(Network.prototype) as Network;
    Object.assign(net, { inputShape: from.inputShape, layers: from.layers, chain: from.chain, inputOps: from.inputOps, dropout: from.dropout, dropoutMode: from.dropoutMode, source: from.source, out: from.out, temp: from.temp });
    net[HANDLE] = handle;
    return net;
  }

  get output(): OutputActivation {
    return this.out;
  }
  set output(v: OutputActivation) {
    const o = expectOneOf(v, 'output', OUTPUT_ACTIVATIONS);
    nativeSync(() => this[HANDLE].setOutput(o, this.temp));
    this.out = o;
  }
  get temperature(): number {
    return this.temp;
  }
  set temperature(v: number) {
    const t = expectNumber(v, 'temperature', Number.MIN_VALUE);
    nativeSync(() => this[HANDLE].setOutput(this.out, t));
    this.temp = t;
  }

  /** Units per layer, input first: [inputs, out_1, …, out_L] (an MLP's layer sizes). */
  get sizes(): number[] {
    return [size3(this.inputShape), ...this.chain.map((l) => size3(l.out))];
  }
  get inputSize(): number {
    return size3(this.inputShape);
  }
  get outputSize(): number {
    return size3(this.chain[this.chain.length - 1].out);
  }
  /** Number of weight-carrying (dense, conv) layers. */
  get weightLayers(): number {
    return this.chain.filter((l) => l.kind === 'dense' || l.kind === 'conv').length;
  }
  get hasBiases(): boolean {
    return this.chain.some((l) => l.bias === true);
  }
  /** True for a chain of dense layers with ReLUs between (the paper's kind of network). */
  get isMlp(): boolean {
    return denseOnly(this) === null;
  }
  /** Test-time scale of hidden fully connected activations: 1 - p for the paper's dropout, else 1. */
  get hiddenScale(): number {
    return this.dropoutMode === 'paper' ? 1 - this.dropout : 1;
  }

  spec(): FullNetworkSpec {
    const layers = this.output === 'relu' ? [...this.layers, { type: 'relu' } as LayerSpec] : [...this.layers];
    return {
      input: [...this.inputShape],
      layers: layers.map((l) => structuredClone(l)),
      output: this.output,
      temperature: this.temperature,
      dropout: this.dropout,
      dropoutMode: this.dropoutMode,
      inputOps: this.inputOps.map((o) => ({ op: o.op, value: o.value instanceof Float32Array ? o.value.slice() : Array.isArray(o.value) ? [...o.value] : o.value })),
    };
  }

  /** A deep copy (native parameters copied). */
  clone(): Network {
    return Network.wrap(this, nativeSync(() => this[HANDLE].clone()));
  }

  /** Frees the native parameters; the network cannot be used afterwards (DisposedError). */
  dispose(): void {
    nativeSync(() => this[HANDLE].dispose());
  }

  /** "idle", "reading", "writing: <operation>" or "disposed". */
  get state(): string {
    return this[HANDLE].state;
  }

  /** A copy of the weights of weight layer k (dense: units × in; conv: filters × C × kh × kw). */
  getWeights(k: number): Float32Array {
    return nativeSync(() => this[HANDLE].getWeights(k));
  }
  /** A copy of the biases of weight layer k, or null. */
  getBias(k: number): Float32Array | null {
    return nativeSync(() => this[HANDLE].getBias(k));
  }
  setWeights(k: number, w: Float32Array): void {
    expectFloat32Array(w, `weights[${k}]`);
    expectFinite(w, `weights[${k}]`);
    nativeSync(() => this[HANDLE].setWeights(k, w));
  }
  setBias(k: number, b: Float32Array): void {
    expectFloat32Array(b, `biases[${k}]`);
    expectFinite(b, `biases[${k}]`);
    nativeSync(() => this[HANDLE].setBias(k, b));
  }
  /** Sets every weight (and bias, where the layer has one) from p, in chain order. */
  setParameters(p: Parameters): void {
    if (!p || !Array.isArray(p.weights) || p.weights.length !== this.weightLayers)
      throw new ShapeError(`Expected ${this.weightLayers} weight tensors in parameters.weights`);
    p.weights.forEach((w, k) => this.setWeights(k, w));
    (p.biases ?? []).forEach((b, k) => {
      if (b) this.setBias(k, b);
    });
  }

  /** Copies of every weight and bias tensor, in chain order. */
  parameters(): Parameters {
    const n = this.weightLayers;
    return { weights: Array.from({ length: n }, (_, k) => this.getWeights(k)), biases: Array.from({ length: n }, (_, k) => this.getBias(k)) };
  }

  /** The native model handle every addon call reads. */
  native(): NativeModel {
    return this[HANDLE];
  }

  /** Throws ValueError naming the first NaN or infinite parameter. */
  checkFinite(): void {
    const bad = nativeSync(() => this[HANDLE].firstNonFinite());
    if (bad) throw new ValueError(`Expected finite values in ${bad.tensor === 'input op' ? `inputOps[${bad.layer}]` : `${bad.tensor === 'bias' ? 'biases' : 'weights'}[${bad.layer}]`} but found ${bad.value} at index ${bad.index}`);
  }

  /** Checks a batch of inputs: a Float32Array of n × inputSize finite values. Returns n. */
  checkInputs(x: Float32Array, name = 'x'): number {
    expectFloat32Array(x, name);
    if (x.length % this.inputSize !== 0)
      throw new ShapeError(`Expected ${name} to hold a multiple of ${this.inputSize} values (n × ${this.inputShape.join('×')}) but it holds ${x.length}`);
    expectFinite(x, name, this.inputSize);
    return x.length / this.inputSize;
  }

  /** Test-mode outputs a_L for a batch (n × outputSize). */
  async forward(x: Float32Array, opts?: RunOptions): Promise<Float32Array> {
    const n = this.checkInputs(x);
    checkChainForwardMemory(this, n);
    const out = new Float32Array(n * this.outputSize);
    await runNative(opts, (c) => addon().forward(this[HANDLE], x, n, out, null, c));
    return out;
  }

  /** Test-mode outputs of every layer of the chain (after its activation), each n × that layer's size. */
  async activations(x: Float32Array, opts?: RunOptions): Promise<Float32Array[]> {
    const n = this.checkInputs(x);
    const outs = this.chain.map((l) => new Float32Array(n * size3(l.out)));
    await runNative(opts, (c) => addon().forward(this[HANDLE], x, n, outs[outs.length - 1], outs, c));
    return outs;
  }

  /** Predicted class per row (argmax of the output; ties go to the lowest index). */
  async predict(x: Float32Array, opts?: RunOptions): Promise<Int32Array> {
    const y = await this.forward(x, opts);
    return argmaxRows(y, this.outputSize);
  }

  /** Fraction of rows whose prediction equals the label. */
  async accuracy(x: Float32Array, labels: ArrayLike<number>, opts?: RunOptions): Promise<number> {
    const pred = await this.predict(x, opts);
    if (labels.length !== pred.length) throw new ShapeError(`Expected ${pred.length} labels but received ${labels.length}`);
    let ok = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
    return pred.length ? ok / pred.length : 0;
  }
}

export function argmaxRows(y: Float32Array, width: number): Int32Array {
  const n = y.length / width;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    const o = r * width;
    for (let j = 1; j < width; j++) if (y[o + j] > y[o + best]) best = j;
    out[r] = best;
  }
  return out;
}
