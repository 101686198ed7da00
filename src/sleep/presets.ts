/**
 * Sleep parameters and the authors' presets (sleep-algorithm.md §5), as named, typed
 * objects. Every field can be overridden; a preset's per-layer field (beta) fixes the
 * depth of network it applies to.
 */
import { readJsonFile } from '../util/files.js';
import { ArgumentError, FormatError, ShapeError, ValueError } from '../errors.js';
import { describe } from '../util/validate.js';

export const SLEEP_INPUTS = ['sequence', 'mean', 'masked-mean'] as const;
export type SleepInput = (typeof SLEEP_INPUTS)[number];
export const NORMALIZATIONS = ['release', 'diehl', 'percentile'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];
export const STDP_GATES = ['release', 'sigmoid', 'none'] as const;
export type StdpGate = (typeof STDP_GATES)[number];

/** Everything that defines a sleep, apart from the network, the data and the seed. */
export interface SleepParameters {
  /** Peak input firing rate (Hz); an input unit fires with probability min(1, 2·dt·maxRate·x). */
  maxRate: number;
  /** STDP potentiation step. */
  inc: number;
  /** STDP depression step. */
  dec: number;
  /** Threshold multiplier per layer (length = number of weight layers). */
  beta: number[];
  /** Multiplies every layer's scale factor: alpha_l = alphaScale · factor_l. */
  alphaScale: number;
  /** Number of time steps T. */
  steps: number;
  input: SleepInput;
  /** Time step (s). */
  dt: number;
  threshold: number;
  /** Membrane decay per step. */
  decay: number;
  /** Lateral inhibition W_inh: I_l -= W_inh · mean(I_l). */
  inhibition: number;
  /** Constant drive added to the output layer's membrane each step. */
  dc: number;
  normalization: Normalization;
  /** Percentile of positive activations for normalization "percentile". */
  percentile: number;
  stdpGate: StdpGate;
  /** Width of the release gate 2·(1 − sigmoid(w / width)). */
  gateWidth: number;
  /** Window size k of the masked-mean input. */
  maskSize: number;
  /**
   * Biases in the spiking network (sleep-general.md §3): "ignore" (the authors' later code) or
   * "current" (a constant current alpha·κ·b per step, κ = 2·dt·maxRate). Biases never change.
   */
  bias: BiasMode;
  /** Conv STDP: the terms of a shared weight summed over a step's post spikes ("sum") or their mean per channel. */
  convStdp: ConvStdp;
  /**
   * Which weight layers are plastic: "all", "dense" (only the fully connected ones), "conv", or
   * indices of layers in the chain (as `stats.layers` lists them; an index of a pooling layer is an error).
   */
  layers: 'all' | 'dense' | 'conv' | number[];
}

export const BIAS_MODES = ['ignore', 'current'] as const;
export type BiasMode = (typeof BIAS_MODES)[number];
export const CONV_STDP = ['sum', 'mean'] as const;
export type ConvStdp = (typeof CONV_STDP)[number];

export interface SleepPreset extends SleepParameters {
  name: PresetName;
  description: string;
}

const SHARED = {
  dt: 0.001,
  threshold: 1.0,
  decay: 0.999,
  inhibition: 0,
  dc: 0,
  normalization: 'release',
  percentile: 99.9,
  stdpGate: 'release',
  gateWidth: 0.001,
  maskSize: 10,
  bias: 'ignore',
  convStdp: 'sum',
  layers: 'all',
} as const;

export const PRESET_NAMES = ['mnist-fgsm', 'mnist-minimal', 'cub200', 'patches', 'cnn-mnist', 'cnn-fashion'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Readonly<Record<PresetName, Readonly<SleepPreset>>> = {
  'mnist-fgsm': {
    ...SHARED,
    name: 'mnist-fgsm',
    description: 'MNIST FGSM, noise and blur experiments (784-1200-1200-10)',
    maxRate: 39.037119,
    inc: 0.063997,
    dec: 0.06922,
    beta: [36.186585, 23.362736, 36.384713],
    alphaScale: 2.193698,
    steps: 27105,
    input: 'sequence',
  },
  'mnist-minimal': {
    ...SHARED,
    name: 'mnist-minimal',
    description: 'MNIST DeepFool, JSMA and Carlini-Wagner experiments (784-1200-1200-10)',
    maxRate: 455.364521,
    inc: 0.066056,
    dec: 0.054991,
    beta: [22.6874, 48.092672, 18.983305],
    alphaScale: 34.65787,
    steps: 3365,
    input: 'sequence',
  },
  cub200: {
    ...SHARED,
    name: 'cub200',
    description: 'CUB-200 ResNet-50 features (2048-350-300-200)',
    maxRate: 32,
    inc: 0.01,
    dec: 0.001,
    beta: [1, 1, 1],
    alphaScale: 1.0,
    steps: 5000,
    input: 'mean',
  },
  patches: {
    ...SHARED,
    name: 'patches',
    description: 'toy patches data set (100-4, one layer)',
    maxRate: 64,
    inc: 0.0035,
    dec: 0.0002,
    beta: [1.045, 0.715, 0.385],
    alphaScale: 4.25,
    steps: 30000,
    input: 'mean',
  },
  /**
   * Tuned by nrem tune (not by the paper's authors) for the built-in LeNet-style CNN
   * (--arch lenet, recipe modern, 6 epochs, seed 1; 99.29 % test accuracy) on MNIST: GA, 60
   * candidates, objective noise:0.3,blur:2,fgsm:0.1, validation = the last 1,000 training
   * rows; the search and its record in docs/tune-cnn-mnist.
   */
  'cnn-mnist': {
    ...SHARED,
    name: 'cnn-mnist',
    description: 'LeNet-style CNN on MNIST (conv 16/32 × 5×5, max-pool, 128, 10), tuned by nrem tune on a validation split (docs/tune-cnn-mnist)',
    maxRate: 213.3279505888371,
    inc: 3.3323756619483096e-05,
    dec: 4.219746296718657e-06,
    beta: [22.8661545928627, 20.763205896871234, 72.80587334461976, 8.97248243230426],
    alphaScale: 1,
    steps: 19112,
    input: 'sequence',
    bias: 'ignore',
    convStdp: 'sum',
  },
  /**
   * Tuned by nrem tune (not by the paper's authors) for the built-in LeNet-style CNN
   * (--arch lenet, recipe modern, 6 epochs, seed 1; 90.17 % test accuracy) on Fashion-MNIST:
   * GA, 60 candidates, objective noise:0.3,blur:2,fgsm:0.1, validation = the last 1,000
   * training rows; the search and its record in docs/tune-cnn-fashion.
   */
  'cnn-fashion': {
    ...SHARED,
    name: 'cnn-fashion',
    description: 'LeNet-style CNN on Fashion-MNIST (conv 16/32 × 5×5, max-pool, 128, 10), tuned by nrem tune on a validation split (docs/tune-cnn-fashion)',
    maxRate: 157.36294118455365,
    inc: 9.732390946959948e-06,
    dec: 0.0025494502546012003,
    beta: [77.55067358650669, 55.22086116004411, 2.996372898760107, 1.1263655498237195],
    alphaScale: 1,
    steps: 983,
    input: 'sequence',
    bias: 'current',
    convStdp: 'sum',
  },
};

function positive(v: unknown, name: string, { allowZero = false, max = Infinity } = {}): number {
  if (typeof v !== 'number') throw new ArgumentError(`Expected a number for ${name} but received ${describe(v)}`);
  if (!Number.isFinite(v) || (allowZero ? v < 0 : v <= 0) || v > max)
    throw new ValueError(
      `Expected a ${allowZero ? 'non-negative' : 'positive'} finite number${max < Infinity ? ` <= ${max}` : ''} for ${name} but received ${describe(v)}`,
    );
  return v;
}

function oneOf<T extends string>(v: unknown, name: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T))
    throw new ValueError(`Expected one of ${options.join(', ')} for ${name} but received ${describe(v)}`);
  return v as T;
}

/**
 * Checks a complete parameter set for a network with `layers` weight layers. Throws
 * ArgumentError (wrong type), ValueError (out of range, NaN) or ShapeError (beta length).
 */
export function validateParameters(p: SleepParameters, layers: number): SleepParameters {
  positive(p.maxRate, 'maxRate', { allowZero: true });
  positive(p.inc, 'inc', { allowZero: true });
  positive(p.dec, 'dec', { allowZero: true });
  positive(p.alphaScale, 'alphaScale');
  if (typeof p.steps !== 'number' || !Number.isSafeInteger(p.steps) || p.steps < 1)
    throw new ValueError(`Expected an integer in [1, 2^53 - 1] for steps but received ${describe(p.steps)}`);
  oneOf(p.input, 'input', SLEEP_INPUTS);
  positive(p.dt, 'dt');
  positive(p.threshold, 'threshold');
  positive(p.decay, 'decay', { allowZero: true, max: 1 });
  positive(p.inhibition, 'inhibition', { allowZero: true });
  if (typeof p.dc !== 'number' || !Number.isFinite(p.dc))
    throw new ValueError(`Expected a finite number for dc but received ${describe(p.dc)}`);
  oneOf(p.normalization, 'normalization', NORMALIZATIONS);
  positive(p.percentile, 'percentile', { max: 100 });
  oneOf(p.stdpGate, 'stdpGate', STDP_GATES);
  positive(p.gateWidth, 'gateWidth');
  if (!Number.isInteger(p.maskSize) || p.maskSize < 1 || p.maskSize > 2 ** 31 - 1)
    throw new ValueError(`Expected an integer in [1, 2^31 - 1] for maskSize but received ${describe(p.maskSize)}`);
  oneOf(p.bias, 'bias', BIAS_MODES);
  oneOf(p.convStdp, 'convStdp', CONV_STDP);
  if (p.layers !== 'all' && p.layers !== 'dense' && p.layers !== 'conv') {
    if (!Array.isArray(p.layers) || p.layers.some((k) => !Number.isInteger(k) || k < 0))
      throw new ValueError(`Expected "all", "dense", "conv" or an array of layer indices for layers but received ${describe(p.layers)}`);
  }
  if (!Array.isArray(p.beta)) throw new ArgumentError(`Expected an array for beta but received ${describe(p.beta)}`);
  if (p.beta.length !== layers)
    throw new ShapeError(`Expected ${layers} values for beta (one per layer of IF neurons: dense, conv and average-pool layers) but received ${p.beta.length}`);
  p.beta.forEach((b, i) => positive(b, `beta[${i}]`));
  return p;
}

export const PARAM_KEYS: readonly (keyof SleepParameters)[] = [
  'maxRate', 'inc', 'dec', 'beta', 'alphaScale', 'steps', 'input', 'dt', 'threshold', 'decay',
  'inhibition', 'dc', 'normalization', 'percentile', 'stdpGate', 'gateWidth', 'maskSize', 'bias', 'convStdp', 'layers',
];

/** A preset by name, or throws ValueError listing the names. */
export function getPreset(name: string): SleepPreset {
  const p = PRESETS[name as PresetName];
  if (!p) throw new ValueError(`Expected one of ${PRESET_NAMES.join(', ')} for preset but received ${describe(name)}`);
  return { ...p, beta: [...p.beta] };
}

/**
 * The parameters of a sleep: the preset (name or object; default mnist-fgsm) with the
 * given overrides, checked for a network of `layers` weight layers. A preset whose beta
 * has another length is an error that says so, unless beta is overridden.
 */
export function resolveParameters(
  preset: PresetName | Partial<SleepParameters> | undefined,
  overrides: Partial<SleepParameters>,
  layers: number,
): SleepParameters {
  const base: SleepParameters =
    preset === undefined || typeof preset === 'string'
      ? getPreset(preset ?? 'mnist-fgsm')
      : { ...getPreset('mnist-fgsm'), ...(preset as Partial<SleepParameters>) };
  const name = typeof preset === 'string' ? preset : preset === undefined ? 'mnist-fgsm' : 'the given';
  const out: SleepParameters = { ...base };
  for (const k of PARAM_KEYS) if (overrides[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = overrides[k];
  if (overrides.beta === undefined && Array.isArray(out.beta) && out.beta.length !== layers)
    throw new ShapeError(
      `The ${name} preset is for networks with ${out.beta.length} layers of IF neurons (beta has ${out.beta.length} values) but this network has ${layers}; give beta with ${layers} values`,
    );
  out.beta = Array.isArray(out.beta) ? [...out.beta] : out.beta;
  // Only the parameter fields travel on (a preset object also carries name/description).
  const clean = {} as SleepParameters;
  for (const k of PARAM_KEYS) (clean as unknown as Record<string, unknown>)[k] = out[k];
  return validateParameters(clean, layers);
}

/**
 * Reads a preset file: a JSON object with parameter fields, optionally
 * `"preset": "<name>"` (or `"base"`) naming the preset it starts from. Unknown keys are
 * an error (a typo must not pass silently).
 */
export async function loadPresetFile(path: string): Promise<Partial<SleepParameters> & { preset?: PresetName }> {
  const obj = readJsonFile(path, 'preset');
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new FormatError(`${path}: expected a JSON object of sleep parameters`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (k === 'preset' || k === 'base') {
      out.preset = getPreset(String(v)).name;
    } else if (k === 'name' || k === 'description') {
      continue;
    } else if ((PARAM_KEYS as readonly string[]).includes(k)) {
      out[k] = v;
    } else {
      throw new FormatError(`${path}: unknown sleep parameter "${k}" (known: ${PARAM_KEYS.join(', ')})`);
    }
  }
  return out as Partial<SleepParameters> & { preset?: PresetName };
}
