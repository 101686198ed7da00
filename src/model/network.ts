/**
 * A fully connected ReLU network: the one model type of nrem. Weights are row-major
 * Float32Arrays of shape (out × in), exactly as the native core and ONNX Gemm(transB=1)
 * read them, so no copy is ever made to hand them to C++.
 */
import { addon, type NativeNet } from '../native/binding.js';
import { ShapeError } from '../errors.js';
import { expectFinite, expectFloat32Array, expectInt, expectNumber, expectOneOf } from '../util/validate.js';
import { runNative, type RunOptions } from '../util/control.js';
import { checkForwardMemory, checkNetworkMemory } from '../util/memory.js';

export const OUTPUT_ACTIVATIONS = ['relu', 'linear', 'softmax'] as const;
export type OutputActivation = (typeof OUTPUT_ACTIVATIONS)[number];
export const DROPOUT_MODES = ['paper', 'inverted'] as const;
/**
 * paper: non-inverted dropout (train: drop; test: scale hidden activations by 1 - p).
 * inverted: train: drop and scale by 1/(1-p); test: identity.
 */
export type DropoutMode = (typeof DROPOUT_MODES)[number];

export interface NetworkSpec {
  /** Layer sizes n0 … nL, input first. */
  sizes: number[];
  output?: OutputActivation;
  /** Softmax temperature (softmax output only). */
  temperature?: number;
  biases?: boolean;
  /** Dropout probability on hidden layers (0 = none). */
  dropout?: number;
  dropoutMode?: DropoutMode;
}

export class Network {
  readonly sizes: number[];
  output: OutputActivation;
  temperature: number;
  dropout: number;
  dropoutMode: DropoutMode;
  /** weights[l] has shape sizes[l+1] × sizes[l], row-major. */
  readonly weights: Float32Array[];
  /** biases[l] has length sizes[l+1], or is null (the paper's networks have none). */
  readonly biases: (Float32Array | null)[];

  constructor(spec: NetworkSpec, weights?: Float32Array[], biases?: (Float32Array | null)[]) {
    if (!Array.isArray(spec.sizes) || spec.sizes.length < 2)
      throw new ShapeError('Expected at least two layer sizes for sizes');
    spec.sizes.forEach((s, i) => expectInt(s, `sizes[${i}]`, 1, 1 << 24));
    if (!weights) checkNetworkMemory(spec.sizes, spec.biases ?? false);
    this.sizes = [...spec.sizes];
    this.output = expectOneOf(spec.output ?? 'relu', 'output', OUTPUT_ACTIVATIONS);
    this.temperature = expectNumber(spec.temperature ?? 1, 'temperature', Number.MIN_VALUE);
    this.dropout = expectNumber(spec.dropout ?? 0, 'dropout', 0, 0.99);
    this.dropoutMode = expectOneOf(spec.dropoutMode ?? 'paper', 'dropoutMode', DROPOUT_MODES);
    const L = this.layers;
    this.weights = weights ?? this.sizes.slice(1).map((n, l) => new Float32Array(n * this.sizes[l]));
    if (this.weights.length !== L) throw new ShapeError(`Expected ${L} weight matrices but received ${this.weights.length}`);
    this.weights.forEach((w, l) => expectFloat32Array(w, `weights[${l}]`, this.sizes[l + 1] * this.sizes[l]));
    const withBias = spec.biases ?? false;
    this.biases = biases ?? this.sizes.slice(1).map((n) => (withBias ? new Float32Array(n) : null));
    if (this.biases.length !== L) throw new ShapeError(`Expected ${L} bias entries but received ${this.biases.length}`);
    this.biases.forEach((b, l) => {
      if (b !== null) expectFloat32Array(b, `biases[${l}]`, this.sizes[l + 1]);
    });
  }

  get layers(): number {
    return this.sizes.length - 1;
  }
  get inputSize(): number {
    return this.sizes[0];
  }
  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }
  get hasBiases(): boolean {
    return this.biases.some((b) => b !== null);
  }
  /** Test-time scale of hidden activations: 1 - p for the paper's dropout, else 1. */
  get hiddenScale(): number {
    return this.dropoutMode === 'paper' ? 1 - this.dropout : 1;
  }

  spec(): Required<NetworkSpec> {
    return {
      sizes: [...this.sizes],
      output: this.output,
      temperature: this.temperature,
      biases: this.hasBiases,
      dropout: this.dropout,
      dropoutMode: this.dropoutMode,
    };
  }

  /** A deep copy (weights copied). */
  clone(): Network {
    return new Network(
      this.spec(),
      this.weights.map((w) => w.slice()),
      this.biases.map((b) => (b ? b.slice() : null)),
    );
  }

  /** The view the addon reads (no copies). */
  native(): NativeNet {
    return {
      sizes: this.sizes,
      weights: this.weights,
      biases: this.biases,
      output: this.output,
      temperature: this.temperature,
      hiddenScale: this.hiddenScale,
    };
  }

  /** Throws ValueError if any weight or bias is NaN or infinite. */
  checkFinite(): void {
    this.weights.forEach((w, l) => expectFinite(w, `weights[${l}]`, this.sizes[l]));
    this.biases.forEach((b, l) => b && expectFinite(b, `biases[${l}]`));
  }

  /** Checks a batch of inputs: a Float32Array of n × n0 finite values. Returns n. */
  checkInputs(x: Float32Array, name = 'x'): number {
    expectFloat32Array(x, name);
    if (x.length % this.inputSize !== 0)
      throw new ShapeError(`Expected ${name} to hold a multiple of ${this.inputSize} values (n × ${this.inputSize}) but it holds ${x.length}`);
    expectFinite(x, name, this.inputSize);
    return x.length / this.inputSize;
  }

  /** Test-mode outputs a_L for a batch (n × nL). */
  async forward(x: Float32Array, opts?: RunOptions): Promise<Float32Array> {
    const n = this.checkInputs(x);
    checkForwardMemory(this.sizes, n);
    const out = new Float32Array(n * this.outputSize);
    await runNative(opts, (c) => addon().forward(this.native(), x, n, out, null, c));
    return out;
  }

  /** Test-mode activations of every layer a_1 … a_L, each n × n_l. */
  async activations(x: Float32Array, opts?: RunOptions): Promise<Float32Array[]> {
    const n = this.checkInputs(x);
    const outs = this.sizes.slice(1).map((m) => new Float32Array(n * m));
    await runNative(opts, (c) => addon().forward(this.native(), x, n, outs[outs.length - 1], outs, c));
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
    if (labels.length !== pred.length)
      throw new ShapeError(`Expected ${pred.length} labels but received ${labels.length}`);
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
