/**
 * Training of the dense ReLU networks: mini-batch SGD with momentum in native code
 * (native/core/train.h), recipes (the paper's §6 and a modern one), initialisation from a
 * seed, and evaluation. Same seed ⇒ same weights, whatever the thread count.
 */
import { addon, type NativeLoss, type RandomStreams } from '../native/binding.js';
import { ArgumentError, ShapeError, ValueError, nativeSync } from '../errors.js';
import { Network, type DropoutMode, type OutputActivation } from '../model/network.js';
import { architecture, type Architecture } from '../model/arch.js';
import type { Dataset } from '../data/dataset.js';
import { runNative, type RunOptions } from '../util/control.js';
import { checkChainTrainingMemory } from '../util/memory.js';
import { RUN_OPTION_KEYS, expectBoolean, expectFiniteAsync, expectFloat32Array, expectInt, expectKnownKeys, expectNumber, expectOneOf, expectSeed } from '../util/validate.js';

export const LOSSES = ['mse', 'mse-release', 'cross-entropy'] as const;
/** mse: the paper's 1/2·Σ(a_L − y)² / batch; cross-entropy: softmax CE on z_L (soft targets allowed). */
export type LossName = NativeLoss;

/** Every key TrainOptions has: a misspelt option is an error, not silently the default. */
export const TRAIN_OPTION_KEYS = ['epochs', 'batchSize', 'lr', 'momentum', 'lrDecay', 'loss', 'targets', 'temperature', 'seed', 'shuffle', 'rng', ...RUN_OPTION_KEYS] as const;

export interface TrainOptions extends RunOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Momentum μ of v ← μ·v + η·∇, θ ← θ − v (default 0). */
  momentum?: number;
  /** Epoch e (1-based) uses lr · lrDecay^(e−1); default 1 (constant rate). */
  lrDecay?: number;
  loss: LossName;
  /** Soft targets, n × classes (rows of probabilities); default: one-hot of data.y. */
  targets?: Float32Array;
  /** Softmax temperature used while training (softmax output only; the network keeps its own). */
  temperature?: number;
  seed: number;
  /** Seeded permutation per epoch (default true); false keeps the data's order. */
  shuffle?: boolean;
  /**
   * 'counter' (default): nrem's counter-based streams, keyed by (seed, use, position).
   * 'octave': the authors' own stream — GNU Octave's generator after rand('state', seed),
   * drawn in the order of their scripts (randperm per epoch, then the dropout masks of each
   * batch), continuing after the initialisation's draws: the network must have been
   * initialised with rng 'octave' and the same seed (createNetwork with the 'paper-octave'
   * recipe does it). Same seed ⇒ the authors' mini-batches and dropout masks.
   */
  rng?: RandomStreams;
}

export const RANDOM_STREAMS = ['counter', 'octave'] as const;

/** The random streams named by `v` (default 'counter'); the octave stream takes seeds below 2^32, as Octave does. */
function expectStreams(v: unknown, name: string, seed: number): RandomStreams {
  const rng = expectOneOf(v ?? 'counter', name, RANDOM_STREAMS);
  if (rng === 'octave' && seed > 0xffffffff) throw new ValueError(`Expected a seed below 2^32 for the octave random streams but received ${seed}`);
  return rng;
}

export interface TrainResult {
  epochs: number;
  /** Mean batch loss of each epoch. */
  epochLoss: number[];
  epochSeconds: number[];
  steps: number;
  seconds: number;
}

/** rng 'octave' (uniform only): the authors' initialisation drawn from their Octave stream (see TrainOptions.rng). */
export type InitSpec = { kind: 'uniform'; scale: number; rng?: RandomStreams } | { kind: 'he' };

/** Everything that defines how a network is built and trained, except its sizes and seed. */
export interface Recipe {
  name: string;
  output: OutputActivation;
  biases: boolean;
  init: InitSpec;
  dropout: number;
  dropoutMode: DropoutMode;
  loss: LossName;
  lr: number;
  momentum: number;
  lrDecay: number;
  batchSize: number;
  epochs: number;
  shuffle: boolean;
  /** Random streams of initialisation and training (TrainOptions.rng). */
  rng: RandomStreams;
}

const PAPER = {
  name: 'paper',
  output: 'relu',
  biases: false,
  init: { kind: 'uniform', scale: 0.01 },
  dropout: 0.2,
  dropoutMode: 'paper',
  loss: 'mse-release',
  lr: 0.1,
  momentum: 0.5,
  lrDecay: 1,
  batchSize: 100,
  epochs: 2,
  shuffle: true,
  rng: 'counter',
} as const satisfies Recipe;

export const RECIPES = {
  /**
   * The paper's §6 exactly: ReLU output, no biases, U(−0.01, 0.01), squared error, paper
   * dropout 0.2, with the release's output gradient (straight through the output ReLU,
   * see native/core/loss.h) and a fresh permutation per epoch, as its nntrain does.
   */
  paper: PAPER,
  /**
   * The paper's recipe drawing every random number from the authors' own stream (GNU
   * Octave's generator after rand('state', seed), in their scripts' order): seed s gives
   * the initial weights of the authors' seed-s control network exactly, and its mini-batch
   * order and dropout masks; training then differs from theirs only by float rounding.
   */
  'paper-octave': { ...PAPER, name: 'paper-octave', init: { kind: 'uniform', scale: 0.01, rng: 'octave' }, rng: 'octave' },
  /** Biases, He init, softmax cross-entropy on a linear output, inverted dropout. */
  modern: {
    name: 'modern',
    output: 'linear',
    biases: true,
    init: { kind: 'he' },
    dropout: 0.2,
    dropoutMode: 'inverted',
    loss: 'cross-entropy',
    lr: 0.05,
    momentum: 0.9,
    lrDecay: 0.7,
    batchSize: 100,
    epochs: 6,
    shuffle: true,
    rng: 'counter',
  },
} as const satisfies Record<string, Recipe>;

export type RecipeName = keyof typeof RECIPES;

export function getRecipe(recipe: Recipe | RecipeName): Recipe {
  if (typeof recipe === 'string') {
    const r = (RECIPES as Record<string, Recipe>)[recipe];
    if (!r) throw new ValueError(`Expected one of ${Object.keys(RECIPES).join(', ')} for recipe but received ${JSON.stringify(recipe)}`);
    return r;
  }
  if (!recipe || typeof recipe !== 'object') throw new ArgumentError(`Expected a recipe name or object for recipe`);
  return recipe;
}

/**
 * A new network built and initialised (natively, from the seed) as the recipe says: of
 * layer sizes n0 … nL (a fully connected chain), or of an architecture { input, layers }
 * (src/model/arch.ts; a trailing ReLU or none: the output activation is the recipe's).
 */
export function createNetwork(recipe: Recipe | RecipeName, arch: number[] | Architecture, seed: number): Network {
  const r = getRecipe(recipe);
  expectSeed(seed);
  const common = { output: r.output, biases: r.biases, dropout: r.dropout, dropoutMode: r.dropoutMode };
  let net: Network;
  if (Array.isArray(arch)) net = new Network({ sizes: arch, ...common });
  else {
    const a = architecture(arch);
    if (!a.input) throw new ArgumentError('Expected arch.input (the input shape [C, H, W]) for an architecture');
    const layers = a.layers.length && a.layers[a.layers.length - 1].type === 'relu' ? a.layers.slice(0, -1) : a.layers;
    net = new Network({ input: a.input, layers, ...(a.inputOps ? { inputOps: a.inputOps } : {}), ...common });
  }
  initWeights(net, r.init, seed);
  return net;
}

/** Overwrites the weights (U(−a, a) or He normal N(0, 2/fan_in)) and zeroes the biases. */
export function initWeights(net: Network, init: InitSpec, seed: number): void {
  expectSeed(seed);
  const kind = expectOneOf(init?.kind, 'init.kind', ['uniform', 'he'] as const);
  const scale = kind === 'uniform' ? expectNumber((init as { scale: number }).scale, 'init.scale', 0) : 0;
  const rng = expectStreams((init as { rng?: RandomStreams }).rng, 'init.rng', seed);
  if (rng === 'octave' && kind !== 'uniform')
    throw new ValueError(`Expected init.kind 'uniform' with init.rng 'octave' (the authors' initialisation) but received ${JSON.stringify(kind)}`);
  nativeSync(() => addon().initWeights(net.native(), kind, scale, seed, rng));
}

/** The TrainOptions a recipe prescribes, for a seed (override any field afterwards). */
export function recipeOptions(recipe: Recipe | RecipeName, seed: number): TrainOptions {
  const r = getRecipe(recipe);
  return { epochs: r.epochs, batchSize: r.batchSize, lr: r.lr, momentum: r.momentum, lrDecay: r.lrDecay, loss: r.loss, seed, shuffle: r.shuffle, rng: r.rng };
}


/** The data's shape (synchronous: with the memory check, before anything is awaited or allocated). */
function checkDataShape(net: Network, data: Dataset): void {
  if (!data || typeof data !== 'object' || !(data.x instanceof Float32Array) || !(data.y instanceof Int32Array))
    throw new ArgumentError('Expected a Dataset {x: Float32Array, y: Int32Array, n, dims} for data');
  if (data.dims !== net.inputSize)
    throw new ShapeError(`Expected data with ${net.inputSize} features (the network's input size) but received ${data.dims}`);
  expectFloat32Array(data.x, 'data.x', data.n * data.dims);
  if (data.y.length !== data.n) throw new ShapeError(`Expected ${data.n} labels in data.y but received ${data.y.length}`);
  if (data.n < 1) throw new ShapeError('Expected at least one training row in data');
}

/** The data's values: finite inputs (natively, off the main thread), labels or soft targets in range. */
async function checkDataValues(net: Network, data: Dataset, opts: TrainOptions): Promise<void> {
  await expectFiniteAsync(data.x, 'data.x', data.dims);
  const classes = net.outputSize;
  if (opts.targets !== undefined) {
    expectFloat32Array(opts.targets, 'targets', data.n * classes);
    await expectFiniteAsync(opts.targets, 'targets', classes);
    for (let i = 0; i < opts.targets.length; i++)
      if (opts.targets[i] < 0) throw new ValueError(`Expected non-negative soft targets but found ${opts.targets[i]} at row ${Math.floor(i / classes)}`);
  } else {
    for (let i = 0; i < data.n; i++) {
      const c = data.y[i];
      if (!(c >= 0 && c < classes))
        throw new ValueError(`Expected labels in 0..${classes - 1} (the network's outputs) but found ${c} at row ${i}`);
    }
  }
}

/**
 * Trains `net` in place with mini-batch SGD. Dropout follows the network (net.dropout,
 * net.dropoutMode). Progress events: { phase: 'train', done, total, epoch, batch, batches, loss }.
 * Aborting rejects with AbortError and leaves the weights of the last finished batch.
 */
export async function train(net: Network, data: Dataset, opts: TrainOptions): Promise<TrainResult> {
  if (!(net instanceof Network)) throw new ArgumentError('Expected a Network for net');
  if (!opts || typeof opts !== 'object') throw new ArgumentError('Expected an options object for opts');
  expectKnownKeys(opts, TRAIN_OPTION_KEYS, 'train options');
  const epochs = expectInt(opts.epochs, 'epochs', 1, 1_000_000);
  const batchSize = expectInt(opts.batchSize, 'batchSize', 1, 1 << 24);
  const lr = expectNumber(opts.lr, 'lr', Number.MIN_VALUE);
  const momentum = expectNumber(opts.momentum ?? 0, 'momentum', 0, 0.999999);
  const lrDecay = expectNumber(opts.lrDecay ?? 1, 'lrDecay', Number.MIN_VALUE, 1);
  const loss = expectOneOf(opts.loss, 'loss', LOSSES);
  const seed = expectSeed(opts.seed);
  const shuffle = expectBoolean(opts.shuffle ?? true, 'shuffle');
  const rng = expectStreams(opts.rng, 'rng', seed);
  let temperature = net.temperature;
  if (opts.temperature !== undefined) {
    temperature = expectNumber(opts.temperature, 'temperature', Number.MIN_VALUE);
    if (net.output !== 'softmax')
      throw new ValueError(`Expected a softmax output for temperature but the network's output is ${net.output}`);
  }
  if (loss === 'cross-entropy' && net.output === 'relu')
    throw new ValueError('Expected a linear or softmax output for cross-entropy but the network has a relu output');
  checkDataShape(net, data);
  checkChainTrainingMemory(net, Math.min(batchSize, data.n));
  await checkDataValues(net, data, opts);
  const t0 = performance.now();
  {
    const r = await runNative(opts, (control) =>
      addon().train(
        net.native(),
        data.x,
        data.n,
        opts.targets ? null : data.y,
        opts.targets ?? null,
        {
          epochs,
          batchSize,
          lr,
          momentum,
          lrDecay,
          loss,
          dropout: net.dropout,
          inverted: net.dropoutMode === 'inverted',
          seed,
          shuffle,
          rng,
          temperature,
        },
        control,
      ),
    );
    return { epochs, epochLoss: r.epochLoss, epochSeconds: r.epochSeconds, steps: r.steps, seconds: (performance.now() - t0) / 1000 };
  }
}

export interface EvalResult {
  accuracy: number;
  n: number;
  correct: number;
  /** Per class: rows with that label and how many of them were predicted right. */
  perClass: { label: number; n: number; correct: number; accuracy: number }[];
}

/** Test-mode accuracy of net on data (in chunks of 10,000 rows to bound memory). */
export async function evaluate(net: Network, data: Dataset, opts?: RunOptions): Promise<EvalResult> {
  if (!(net instanceof Network)) throw new ArgumentError('Expected a Network for net');
  if (!data || !(data.x instanceof Float32Array) || !(data.y instanceof Int32Array))
    throw new ArgumentError('Expected a Dataset {x: Float32Array, y: Int32Array, n, dims} for data');
  if (data.dims !== net.inputSize)
    throw new ShapeError(`Expected data with ${net.inputSize} features (the network's input size) but received ${data.dims}`);
  if (data.y.length !== data.n) throw new ShapeError(`Expected ${data.n} labels in data.y but received ${data.y.length}`);
  const classes = Math.max(net.outputSize, data.classes ?? 0);
  const counts = new Array<number>(classes).fill(0);
  const hits = new Array<number>(classes).fill(0);
  const chunk = 10_000;
  for (let r0 = 0; r0 < data.n; r0 += chunk) {
    const r1 = Math.min(data.n, r0 + chunk);
    const pred = await net.predict(data.x.subarray(r0 * data.dims, r1 * data.dims), opts);
    for (let i = r0; i < r1; i++) {
      const label = data.y[i];
      if (label >= 0 && label < classes) {
        counts[label]++;
        if (pred[i - r0] === label) hits[label]++;
      }
    }
  }
  const correct = hits.reduce((a, b) => a + b, 0);
  return {
    accuracy: data.n ? correct / data.n : 0,
    n: data.n,
    correct,
    perClass: counts.map((n, label) => ({ label, n, correct: hits[label], accuracy: n ? hits[label] / n : 0 })),
  };
}
