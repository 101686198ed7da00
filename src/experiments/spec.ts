/**
 * An experiment as data: a typed, JSON-serialisable description of the whole study
 * (data set, network recipe, defences, attacks, distortions, seeds). The runner reads
 * nothing else, and every unit of work is keyed by the part of this spec it uses, so a
 * spec change redoes exactly the units it touches.
 */
import { ValueError } from '../errors.js';
import { describe, expectInt, expectNumber, expectOneOf } from '../util/validate.js';
import { architecture, type Architecture } from '../model/arch.js';

export interface TrainSpec {
  /**
   * Engine recipe name: 'paper' (the authors' MSE/ReLU/SGD), 'paper-octave' (the same, drawing
   * from the authors' own random stream: seed s trains the authors' seed-s network) or 'modern'.
   * With a given control (spec.control), the recipe of the defences trained to its architecture.
   */
  recipe: 'paper' | 'paper-octave' | 'modern';
  /** Layer sizes, input first (input size and classes are taken from the data when 0). */
  sizes?: number[];
  /**
   * The control's architecture as `nrem train --arch` takes it (a CNN like
   * "conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10", layer sizes "784,1200,10") or an
   * object { input?, layers }; wins over sizes.
   */
  arch?: string | Architecture;
  epochs: number;
}

/** The user's own network as the control (nrem reproduce --model). */
export interface ControlSpec {
  /** The ONNX file. */
  model: string;
  /** sha256 of its bytes: the unit keys depend on it, and a file that changed is refused. nrem reproduce fills it in. */
  sha256?: string;
}

/** nrem tune's search of the sleep parameters, run on a validation split of the training rows (sleep.preset "tune"). */
export interface TuneSpec {
  algorithm: 'ga' | 'cmaes';
  /** Candidates slept and scored. */
  budget: number;
  /** The score (src/tune/objective.ts), e.g. "noise:0.3,blur:2,fgsm:0.1". */
  objective: string;
  /** Validation rows held out of the training rows (the last ones). */
  valSize: number;
}

export interface SleepSpec {
  /** Preset of sleep-algorithm.md §5 ('mnist-fgsm', 'patches', 'cub200', …), or "tune": parameters searched by nrem tune (see `tune`). */
  preset: string;
  /** Parameter overrides of the preset (the fields of a preset file, src/sleep/presets.ts). */
  parameters?: Record<string, unknown>;
  /** With preset "tune": the search (defaults: DEFAULT_TUNE, quick: QUICK_TUNE). */
  tune?: TuneSpec;
  /** Override of the preset's sleep input ('sequence' | 'mean' | 'masked-mean'). */
  input?: string;
  /** Override of the preset's number of steps. */
  steps?: number;
  /** Override of the preset's threshold multipliers (one per weight layer). */
  beta?: number[];
}

export interface DistillationSpec {
  temperature: number;
  /** Epochs of the teacher and of the student (each). */
  epochs: number;
}

export interface FinetuneSpec {
  lr: number;
  epochs: number;
  /** How many leading training images are replaced by perturbed ones (paper: 5,000). */
  replace: number;
  /** FGSM-tuning: u ~ U(0, uMax) per pixel (paper: 0.1). */
  uMax: number;
  /** Noise-tuned network: Gaussian noise variance of the replaced images. */
  noiseVariance: number;
  /** Blur-tuned network: blur sigma of the replaced images. */
  blurSigma: number;
  /** Tune on DeepFool / JSMA / C&W examples (each replaces `attackReplace` images). */
  attacks: ('deepfool' | 'jsma' | 'cw')[];
  /** Leading images replaced by that attack's examples (the paper: 5,000; quick: fewer). */
  attackReplace: number;
}

export interface PgdTrainSpec {
  /** Start from the control network (adversarial fine-tuning) instead of fresh weights. */
  fromControl?: boolean;
  eps: number;
  steps: number;
  stepSize: number;
  epochs: number;
}

/** AutoAttack, the headline robust accuracy (src/attacks/autoattack.ts): first n test images, each eps. */
export interface AutoAttackEvalSpec {
  n: number;
  eps: number[];
  version: 'standard' | 'plus';
  norm: 'linf' | 'l2';
}

export interface EvaluationSpec {
  /** Test images used for curves (0 = all). */
  testSize: number;
  fgsm: { eps: number[]; losses: ('mse' | 'ce')[] };
  noise: { variances: number[] };
  blur: { sigmas: number[] };
  deepfool: { n: number; overshoot: number; maxIter: number };
  jsma: { n: number; theta: number; maxIter: number; variant: 'pair' | 'single' };
  cw: { n: number; steps: number; searches: number; lr: number; c0: number };
  pgd: { n: number; eps: number[]; steps: number; restarts: number; loss: 'mse' | 'ce' };
  square: { n: number; eps: number[]; queries: number };
  transfer: { n: number; eps: number[] };
  /** Absent (older specs) or n = 0: no AutoAttack evaluation. */
  autoattack?: AutoAttackEvalSpec;
}

export interface ExperimentSpec {
  /** Built-in name or the user's. */
  name: string;
  title: string;
  /** Data source as loadDataset reads it: 'mnist', 'fashion-mnist', 'mnist-idx:DIR', 'patches', 'features:FILE'. */
  data: string;
  /** The user's network as the control, instead of one trained from `train` (nrem reproduce --model). */
  control?: ControlSpec;
  /** Quick mode of the data loader (named subsets). */
  quick: boolean;
  /** A sentence saying which subset is used, shown in the report. */
  subsetNote: string;
  seeds: number[];
  train: TrainSpec;
  sleep: SleepSpec;
  /** Defences to build besides control and sleep. */
  defences: {
    distillation?: DistillationSpec;
    finetune?: FinetuneSpec;
    pgdTrain?: PgdTrainSpec;
  };
  evaluation: EvaluationSpec;
}

const FULL_EVAL: EvaluationSpec = {
  testSize: 0,
  // The paper sweeps 0 : 0.005 : 0.4 (81 points); 0 : 0.025 : 0.4 keeps the full study within its time budget
  // (30 minutes on 2 cores), as do the example counts of the minimal-perturbation and
  // score-based attacks below (measured per seed: JSMA and C&W cost ~0.1 s an image).
  fgsm: { eps: range(0, 0.4, 0.025), losses: ['mse', 'ce'] },
  noise: { variances: [0, 0.1, 0.3, 0.5, 0.7, 0.9] },
  blur: { sigmas: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4] },
  deepfool: { n: 1000, overshoot: 0.02, maxIter: 100 },
  jsma: { n: 100, theta: 0.1, maxIter: 500, variant: 'pair' },
  cw: { n: 100, steps: 200, searches: 5, lr: 5e-3, c0: 0.01 },
  pgd: { n: 500, eps: [0.05, 0.1, 0.2, 0.3], steps: 40, restarts: 1, loss: 'ce' },
  square: { n: 150, eps: [0.1, 0.2, 0.3], queries: 1000 },
  transfer: { n: 300, eps: [0.05, 0.1, 0.2, 0.3] },
  // AutoAttack standard at the original's budgets: about 1 minute per 100 digits per network and
  // seed on 2 cores for the control (measured: 43 s for the first 100 test digits at eps 0.1, 0.2,
  // 0.3 together), i.e. ~3 minutes here; its cost grows with the digits that survive APGD.
  autoattack: { n: 300, eps: [0.1, 0.2, 0.3], version: 'standard', norm: 'linf' },
};

/** The numbers 0, step, 2 step, … up to hi (rounded to 6 decimals). */
export function range(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; lo + i * step <= hi + 1e-9; i++) out.push(Math.round((lo + i * step) * 1e6) / 1e6);
  return out;
}

/** The search a "tune" sleep runs: full study, and --quick. */
export const DEFAULT_TUNE: TuneSpec = { algorithm: 'ga', budget: 64, objective: 'noise:0.3,blur:2,fgsm:0.1', valSize: 1000 };
export const QUICK_TUNE: TuneSpec = { algorithm: 'ga', budget: 16, objective: 'noise:0.3,blur:2,fgsm:0.1', valSize: 500 };

export const BUILTIN_SPECS = ['paper-mnist', 'paper-patches', 'paper-cub200', 'cnn-mnist', 'cnn-fashion', 'mlp-fashion'] as const;
export type BuiltinSpecName = (typeof BUILTIN_SPECS)[number];

export interface BuiltinOptions {
  quick?: boolean;
  seeds?: number;
  /** paper-cub200: the features file. */
  features?: string;
}

/**
 * What the command line changes in a spec, built-in or read from a file (nrem reproduce's
 * flags): the flags win over the spec, and the spec written to the output folder shows the result.
 */
export interface SpecOverrides {
  /** --quick: the data loader's quick subset (a built-in spec's quick version). */
  quick?: boolean;
  /** --seeds N: seeds 1 … N. */
  seeds?: number;
  /** --features FILE: the features file of a features:FILE data source. */
  features?: string;
  /** --dataset D: the data source. */
  dataset?: string;
  /** --model FILE.onnx: the user's network as the control (sha256 of its bytes). */
  model?: { path: string; sha256: string };
  /** --arch: the architecture of the control nrem trains. */
  arch?: string;
  /** --recipe: the training recipe (of the control, or of the defences trained to a given control's architecture). */
  recipe?: TrainSpec['recipe'];
  /** --preset NAME|FILE.json|tune: the sleep parameters. */
  sleep?: { preset: string; parameters?: Record<string, unknown> };
}

/** The data set's name in titles and notes: "MNIST" for mnist, else the source string. */
function dataName(data: string): string {
  return data === 'mnist' ? 'MNIST' : data === 'fashion-mnist' ? 'Fashion-MNIST' : data;
}

/** `spec` with the command line's overrides applied (a copy; see SpecOverrides). */
export function applyOverrides(specIn: ExperimentSpec, o: SpecOverrides): ExperimentSpec {
  const spec = structuredClone(specIn);
  if (o.quick) spec.quick = true;
  if (o.seeds) spec.seeds = seedsOf(o.seeds);
  if (o.features) {
    if (!spec.data.startsWith('features:')) throw new ValueError(`--features applies to a features:FILE data source, but the spec reads ${JSON.stringify(spec.data)}`);
    spec.data = `features:${o.features}`;
  }
  if (o.dataset && o.dataset !== spec.data) {
    const before = dataName(spec.data);
    spec.data = o.dataset;
    // The built-in network's input and output sizes come from the new data.
    if (spec.train.sizes && spec.train.arch === undefined) spec.train.sizes = [0, ...spec.train.sizes.slice(1, -1), 0];
    spec.title = spec.title.replace(before, dataName(o.dataset));
    if (!spec.title.includes(dataName(o.dataset))) spec.title += ` (on ${dataName(o.dataset)})`;
    spec.subsetNote = spec.quick
      ? `quick subset: a seeded, stratified ${QUICK_SIZES} of ${dataName(o.dataset)}`
      : `${dataName(o.dataset)}: all its training and test rows`;
  }
  if (o.arch !== undefined) {
    if (o.model) throw new ValueError('--arch describes the control nrem trains; with --model the control is the given network (its architecture is used)');
    spec.train.arch = o.arch;
    delete spec.train.sizes;
  }
  if (o.recipe) spec.train.recipe = o.recipe;
  if (o.model) {
    spec.control = { model: o.model.path, sha256: o.model.sha256 };
    delete spec.train.sizes;
    delete spec.train.arch;
    spec.subsetNote += `; the control is the given network ${o.model.path} (sha256 ${o.model.sha256.slice(0, 12)}…)`;
    // The spec's preset was chosen for its own network: without --preset, sleep is tuned for this one
    // (a spec that already tunes keeps its search).
    if (!o.sleep && spec.sleep.preset !== 'tune') spec.sleep = { preset: 'tune' };
  }
  if (o.sleep) spec.sleep = { preset: o.sleep.preset, ...(o.sleep.parameters ? { parameters: o.sleep.parameters } : {}) };
  if (spec.sleep.preset === 'tune' && !spec.sleep.tune) spec.sleep.tune = { ...(spec.quick ? QUICK_TUNE : DEFAULT_TUNE) };
  return spec;
}

const QUICK_SIZES = '8,000 training / 2,000 test rows';

function seedsOf(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** A built-in experiment (experiments.md): the paper's study, or its quick version. */
export function builtinSpec(name: string, opts: BuiltinOptions = {}): ExperimentSpec {
  const quick = opts.quick ?? false;
  switch (name) {
    case 'paper-mnist':
      return quick ? mnistQuick(opts.seeds ?? 2) : mnistFull(opts.seeds ?? 3);
    case 'paper-patches':
      return patches(opts.seeds ?? 3, quick);
    case 'paper-cub200':
      return cub200(opts.seeds ?? 3, quick, opts.features);
    case 'cnn-mnist':
      return cnnStudy('mnist', quick, opts.seeds ?? (quick ? 2 : 3));
    case 'cnn-fashion':
      return cnnStudy('fashion-mnist', quick, opts.seeds ?? (quick ? 2 : 3));
    case 'mlp-fashion':
      return mlpFashion(quick, opts.seeds ?? (quick ? 2 : 3));
    default:
      throw new ValueError(`Expected one of ${BUILTIN_SPECS.join(', ')} for spec but received ${JSON.stringify(name)}`);
  }
}

function mnistFull(seeds: number): ExperimentSpec {
  return {
    name: 'paper-mnist',
    title: 'Sleep against adversarial attacks and distortions on MNIST (Tadros et al. 2020)',
    data: 'mnist',
    quick: false,
    subsetNote:
      'full MNIST: 60,000 training and 10,000 test images (the paper\'s setting); the controls are trained with the ' +
      'authors\' random stream (recipe paper-octave), so seed s is the authors\' seed s (authors-reference.md §B)',
    seeds: seedsOf(seeds),
    train: { recipe: 'paper-octave', sizes: [784, 1200, 1200, 10], epochs: 2 },
    sleep: { preset: 'mnist-fgsm' },
    defences: {
      distillation: { temperature: 50, epochs: 2 },
      finetune: { lr: 0.05, epochs: 2, replace: 5000, uMax: 0.1, noiseVariance: 0.3, blurSigma: 2, attacks: ['deepfool', 'jsma', 'cw'], attackReplace: 300 },
      pgdTrain: { eps: 0.1, steps: 3, stepSize: 0.04, epochs: 2 },
    },
    evaluation: FULL_EVAL,
  };
}

function mnistQuick(seeds: number): ExperimentSpec {
  return {
    name: 'paper-mnist',
    title: 'Sleep against adversarial attacks and distortions on MNIST (quick version)',
    data: 'mnist',
    quick: true,
    subsetNote:
      'quick subset: a seeded, stratified 8,000 training / 2,000 test digits of MNIST; the control is trained 15 epochs ' +
      '(1,200 SGD updates, as 2 epochs on 60,000 — authors-reference.md §A); distillation 5 epochs per network; PGD ' +
      'training fine-tunes the control for 2 epochs; 2 seeds and fewer attack examples (DeepFool 100, JSMA 30, C&W 30, PGD 300, Square 100, ' +
      'AutoAttack 50 — the headline robust accuracy, with its full budgets, on the first 50 test digits)',
    seeds: seedsOf(seeds),
    train: { recipe: 'paper', sizes: [784, 1200, 1200, 10], epochs: 15 },
    sleep: { preset: 'mnist-fgsm' },
    defences: {
      distillation: { temperature: 50, epochs: 5 },
      finetune: { lr: 0.05, epochs: 2, replace: 5000, uMax: 0.1, noiseVariance: 0.3, blurSigma: 2, attacks: ['deepfool'], attackReplace: 300 },
      pgdTrain: { fromControl: true, eps: 0.1, steps: 3, stepSize: 0.04, epochs: 2 },
    },
    evaluation: {
      testSize: 2000,
      fgsm: { eps: range(0, 0.4, 0.02), losses: ['mse', 'ce'] },
      noise: { variances: [0, 0.1, 0.3, 0.5, 0.7, 0.9] },
      blur: { sigmas: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4] },
      deepfool: { n: 100, overshoot: 0.02, maxIter: 50 },
      jsma: { n: 30, theta: 0.1, maxIter: 200, variant: 'pair' },
      cw: { n: 30, steps: 100, searches: 4, lr: 1e-2, c0: 0.1 },
      pgd: { n: 300, eps: [0.05, 0.1, 0.2, 0.3], steps: 10, restarts: 1, loss: 'ce' },
      square: { n: 100, eps: [0.1, 0.2, 0.3], queries: 200 },
      transfer: { n: 500, eps: [0.05, 0.1, 0.2, 0.3] },
      autoattack: { n: 50, eps: [0.1, 0.2, 0.3], version: 'standard', norm: 'linf' },
    },
  };
}

/**
 * The study on the built-in LeNet-style CNN (LENET_ARCH, the modern recipe), slept with the
 * preset nrem tune found for it on a validation split of the training set (cnn-mnist /
 * cnn-fashion in src/sleep/presets.ts; the searches in docs/tune-cnn-*).
 */
function cnnStudy(data: 'mnist' | 'fashion-mnist', quick: boolean, seeds: number): ExperimentSpec {
  const name = data === 'mnist' ? 'MNIST' : 'Fashion-MNIST';
  const preset = data === 'mnist' ? 'cnn-mnist' : 'cnn-fashion';
  const arch = 'conv:16x5,pool:max2,conv:32x5,pool:max2,dense:128,10';
  const full: EvaluationSpec = {
    ...FULL_EVAL,
    // a CNN's attack gradients cost ~10× the MLP's: fewer examples for the iterative attacks
    fgsm: { eps: range(0, 0.4, 0.025), losses: ['ce', 'mse'] },
    deepfool: { n: 500, overshoot: 0.02, maxIter: 100 },
    jsma: { n: 50, theta: 0.1, maxIter: 300, variant: 'pair' },
    cw: { n: 50, steps: 200, searches: 5, lr: 5e-3, c0: 0.01 },
    pgd: { n: 500, eps: [0.05, 0.1, 0.2, 0.3], steps: 20, restarts: 1, loss: 'ce' },
    // AutoAttack at the original's budgets on the PyTorch LeNet: 142 s for the first 100 test
    // digits at eps 0.1 and 0.3 on 2 loaded cores (most of it APGD-T, FAB-T and Square on the
    // 79 % that survive eps 0.1), so fewer digits than the MLP study's 300.
    autoattack: { n: 100, eps: [0.1, 0.2, 0.3], version: 'standard', norm: 'linf' },
  };
  return {
    name: preset,
    title: `Sleep on a convolutional network: the LeNet-style CNN on ${name}${quick ? ' (quick version)' : ''}`,
    data,
    quick,
    subsetNote:
      (quick ? `quick subset: a seeded, stratified 8,000 training / 2,000 test images of ${name}; the control is trained 3 epochs` : `full ${name}: 60,000 training and 10,000 test images; the control is trained 6 epochs`) +
      ` (recipe modern: biases, softmax cross-entropy); the sleep preset ${preset} was tuned by nrem tune for this architecture on a validation split of the ${name} training set (docs/tune-${preset}), not by the paper's authors` +
      (quick ? '; 2 seeds and fewer attack examples (DeepFool 100, JSMA 20, C&W 20, PGD 200, Square 100, AutoAttack 30 — the headline robust accuracy, with its full budgets, on the first 30 test images)' : ''),
    seeds: seedsOf(seeds),
    train: { recipe: 'modern', arch, epochs: quick ? 3 : 6 },
    sleep: { preset },
    defences: {
      distillation: { temperature: 50, epochs: quick ? 2 : 4 },
      finetune: { lr: 0.01, epochs: quick ? 1 : 2, replace: 5000, uMax: 0.1, noiseVariance: 0.3, blurSigma: 2, attacks: quick ? ['deepfool'] : ['deepfool', 'jsma', 'cw'], attackReplace: quick ? 200 : 300 },
      pgdTrain: { fromControl: true, eps: 0.1, steps: 3, stepSize: 0.04, epochs: quick ? 1 : 2 },
    },
    evaluation: quick
      ? {
          testSize: 2000,
          fgsm: { eps: range(0, 0.4, 0.05), losses: ['ce', 'mse'] },
          noise: { variances: [0, 0.1, 0.3, 0.5, 0.7, 0.9] },
          blur: { sigmas: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4] },
          deepfool: { n: 100, overshoot: 0.02, maxIter: 50 },
          jsma: { n: 20, theta: 0.1, maxIter: 200, variant: 'pair' },
          cw: { n: 20, steps: 100, searches: 4, lr: 1e-2, c0: 0.1 },
          pgd: { n: 200, eps: [0.05, 0.1, 0.2, 0.3], steps: 10, restarts: 1, loss: 'ce' },
          square: { n: 100, eps: [0.1, 0.2, 0.3], queries: 200 },
          transfer: { n: 300, eps: [0.05, 0.1, 0.2, 0.3] },
          autoattack: { n: 30, eps: [0.1, 0.2, 0.3], version: 'standard', norm: 'linf' },
        }
      : full,
  };
}

/** The paper's network, recipe and mnist-fgsm preset on Fashion-MNIST (as paper-mnist, other data). */
function mlpFashion(quick: boolean, seeds: number): ExperimentSpec {
  const base = quick ? mnistQuick(seeds) : mnistFull(seeds);
  return {
    ...base,
    name: 'mlp-fashion',
    title: `The paper's network and sleep on Fashion-MNIST${quick ? ' (quick version)' : ''}`,
    data: 'fashion-mnist',
    subsetNote: quick
      ? 'quick subset: a seeded, stratified 8,000 training / 2,000 test images of Fashion-MNIST; the control (784-1200-1200-10, the paper\'s recipe) is trained 15 epochs; the sleep is the paper\'s mnist-fgsm preset, tuned by the authors for MNIST, not for these data; 2 seeds and fewer attack examples (DeepFool 100, JSMA 30, C&W 30, PGD 300, Square 100, AutoAttack 50 — the headline robust accuracy, with its full budgets, on the first 50 test images)'
      : 'full Fashion-MNIST: 60,000 training and 10,000 test images; the control (784-1200-1200-10, the paper\'s recipe) is trained 2 epochs; the sleep is the paper\'s mnist-fgsm preset, tuned by the authors for MNIST, not for these data',
    // the authors' random stream is for their MNIST networks: the plain paper recipe here
    train: { ...base.train, recipe: 'paper' },
  };
}

function patches(seeds: number, quick: boolean): ExperimentSpec {
  return {
    name: 'paper-patches',
    title: 'Sleep on the toy patches set (sleep-algorithm.md §6)',
    data: 'patches',
    quick,
    subsetNote: 'the generated toy patches set (10×10 binary images, 4 classes)',
    seeds: seedsOf(seeds),
    train: { recipe: 'paper', sizes: [0, 0], epochs: 20 },
    // The patches preset's beta has three entries (the later release's deeper network);
    // the one-layer 100-4 network of sleep-algorithm.md §6 uses the first.
    sleep: { preset: 'patches', beta: [1.045] },
    defences: {
      distillation: { temperature: 50, epochs: 20 },
      finetune: { lr: 0.05, epochs: 2, replace: 5000, uMax: 0.1, noiseVariance: 0.3, blurSigma: 1, attacks: ['deepfool'], attackReplace: 50 },
      pgdTrain: { eps: 0.1, steps: 3, stepSize: 0.04, epochs: 10 },
    },
    evaluation: {
      testSize: 0,
      fgsm: { eps: range(0, 0.4, 0.05), losses: ['mse', 'ce'] },
      noise: { variances: [0, 0.1, 0.3, 0.5] },
      blur: { sigmas: [0, 0.5, 1, 2] },
      deepfool: { n: 20, overshoot: 0.02, maxIter: 50 },
      jsma: { n: 10, theta: 0.1, maxIter: 50, variant: 'pair' },
      cw: { n: 10, steps: 30, searches: 2, lr: 5e-3, c0: 0.01 },
      pgd: { n: 50, eps: [0.1, 0.3], steps: 5, restarts: 1, loss: 'ce' },
      square: { n: 20, eps: [0.1, 0.3], queries: 50 },
      transfer: { n: 50, eps: [0.1, 0.3] },
      autoattack: { n: 50, eps: [0.1, 0.3], version: 'standard', norm: 'linf' },
    },
  };
}

export const CUB200_HELP =
  'paper-cub200 needs a features file: 2048-d ResNet-50 features of the CUB-200-2011 images with their labels ' +
  '(.npy/.npz or CSV, one row per image, last column or a `labels` array = class). Extract them once, e.g. with ' +
  'torchvision\'s resnet50 (pretrained, avgpool output) over the 11,788 images, save with numpy, and pass ' +
  '`--features FILE` (or set NREM_CUB200_FEATURES).';

function cub200(seeds: number, quick: boolean, features?: string): ExperimentSpec {
  const file = features ?? process.env.NREM_CUB200_FEATURES;
  if (!file) throw new ValueError(CUB200_HELP);
  return {
    name: 'paper-cub200',
    title: 'Sleep on CUB-200 ResNet-50 features',
    data: `features:${file}`,
    quick,
    subsetNote: `CUB-200 features from ${file}`,
    seeds: seedsOf(seeds),
    train: { recipe: 'paper', sizes: [2048, 350, 300, 200], epochs: quick ? 10 : 50 },
    sleep: { preset: 'cub200' },
    defences: {
      distillation: { temperature: 50, epochs: quick ? 10 : 50 },
      finetune: { lr: 0.05, epochs: 2, replace: 5000, uMax: 0.1, noiseVariance: 0.3, blurSigma: 0, attacks: [], attackReplace: 0 },
      pgdTrain: { eps: 0.1, steps: 3, stepSize: 0.04, epochs: quick ? 5 : 20 },
    },
    evaluation: { ...FULL_EVAL, blur: { sigmas: [] }, testSize: 0 },
  };
}

/**
 * Checks a spec's whole structure (a spec file is user input): every field the runner and
 * the unit graph read must be present with the right type and range. Throws ValueError
 * naming the field, e.g. "spec.evaluation.pgd.eps[2]".
 */
export function validateSpec(spec: ExperimentSpec): ExperimentSpec {
  const obj = (v: unknown, path: string): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValueError(`Expected an object for ${path} but received ${describe(v)}`);
    return v as Record<string, unknown>;
  };
  const str = (v: unknown, path: string, optional = false) => {
    if (optional && v === undefined) return;
    if (typeof v !== 'string') throw new ValueError(`Expected a string for ${path} but received ${describe(v)}`);
  };
  const int = (v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER) => expectInt(v, path, min, max);
  const num = (v: unknown, path: string, min: number, max = Infinity) => expectNumber(v, path, min, max);
  const list = (v: unknown, path: string, each: (x: unknown, p: string) => void, { min = 1, max = 10_000 } = {}) => {
    if (!Array.isArray(v) || v.length < min || v.length > max)
      throw new ValueError(`Expected an array of ${min} to ${max} entries for ${path} but received ${describe(v)}`);
    v.forEach((x, i) => each(x, `${path}[${i}]`));
  };
  const oneOf = (v: unknown, path: string, options: readonly string[]) => expectOneOf(v, path, options);
  const n = (v: unknown, path: string) => int(v, path, 0, 10_000_000);

  const s = obj(spec, 'spec');
  str(s.name, 'spec.name', true);
  str(s.title, 'spec.title', true);
  str(s.subsetNote, 'spec.subsetNote', true);
  if (typeof s.data !== 'string' || !s.data) throw new ValueError(`Expected a data source string for spec.data but received ${describe(s.data)}`);
  if (s.quick !== undefined && typeof s.quick !== 'boolean') throw new ValueError(`Expected a boolean for spec.quick but received ${describe(s.quick)}`);
  if (!Array.isArray(s.seeds) || s.seeds.length === 0) throw new ValueError('Expected at least one seed in spec.seeds');
  list(s.seeds, 'spec.seeds', (x, p) => int(x, p, 0, 2 ** 31), { max: 1000 });

  if (s.control !== undefined) {
    const c = obj(s.control, 'spec.control');
    if (typeof c.model !== 'string' || !c.model) throw new ValueError(`Expected an ONNX file name for spec.control.model but received ${describe(c.model)}`);
    if (c.sha256 !== undefined && (typeof c.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256)))
      throw new ValueError(`Expected 64 hexadecimal digits for spec.control.sha256 but received ${describe(c.sha256)}`);
  }
  const train = obj(s.train, 'spec.train');
  oneOf(train.recipe, 'spec.train.recipe', ['paper', 'paper-octave', 'modern']);
  if (train.arch !== undefined) {
    if (typeof train.arch === 'string') {
      if (!train.arch.trim()) throw new ValueError('Expected an architecture in spec.train.arch but received an empty string');
    } else architecture(train.arch, 'spec.train.arch');
  } else if (s.control === undefined) {
    if (!Array.isArray(train.sizes) || train.sizes.length < 2) throw new ValueError('Expected layer sizes in spec.train.sizes (or an architecture in spec.train.arch)');
  }
  if (train.sizes !== undefined) list(train.sizes, 'spec.train.sizes', (x, p) => int(x, p, 0, 1 << 24), { min: 2, max: 64 });
  int(train.epochs, 'spec.train.epochs', 1, 10_000);

  const sleep = obj(s.sleep, 'spec.sleep');
  if (!sleep.preset) throw new ValueError('Expected a sleep preset in spec.sleep.preset');
  str(sleep.preset, 'spec.sleep.preset');
  str(sleep.input, 'spec.sleep.input', true);
  if (sleep.steps !== undefined) int(sleep.steps, 'spec.sleep.steps', 1);
  if (sleep.beta !== undefined) list(sleep.beta, 'spec.sleep.beta', (x, p) => num(x, p, Number.MIN_VALUE), { max: 64 });
  if (sleep.parameters !== undefined) obj(sleep.parameters, 'spec.sleep.parameters');
  if (sleep.tune !== undefined || sleep.preset === 'tune') {
    const t = obj(sleep.tune ?? (s.quick ? QUICK_TUNE : DEFAULT_TUNE), 'spec.sleep.tune');
    oneOf(t.algorithm, 'spec.sleep.tune.algorithm', ['ga', 'cmaes']);
    int(t.budget, 'spec.sleep.tune.budget', 1, 100_000);
    str(t.objective, 'spec.sleep.tune.objective');
    int(t.valSize, 'spec.sleep.tune.valSize', 1, 10_000_000);
  }

  const d = obj(s.defences ?? {}, 'spec.defences');
  if (d.distillation !== undefined) {
    const x = obj(d.distillation, 'spec.defences.distillation');
    num(x.temperature, 'spec.defences.distillation.temperature', Number.MIN_VALUE, 1e6);
    int(x.epochs, 'spec.defences.distillation.epochs', 1, 10_000);
  }
  if (d.finetune !== undefined) {
    const x = obj(d.finetune, 'spec.defences.finetune');
    const at = (k: string) => `spec.defences.finetune.${k}`;
    num(x.lr, at('lr'), Number.MIN_VALUE);
    int(x.epochs, at('epochs'), 1, 10_000);
    int(x.replace, at('replace'), 0);
    num(x.uMax, at('uMax'), 0, 1);
    num(x.noiseVariance, at('noiseVariance'), 0, 1e6);
    num(x.blurSigma, at('blurSigma'), 0, 1e6);
    list(x.attacks, at('attacks'), (v, p) => oneOf(v, p, ['deepfool', 'jsma', 'cw']), { min: 0, max: 3 });
    int(x.attackReplace, at('attackReplace'), 0);
  }
  if (d.pgdTrain !== undefined) {
    const x = obj(d.pgdTrain, 'spec.defences.pgdTrain');
    const at = (k: string) => `spec.defences.pgdTrain.${k}`;
    if (x.fromControl !== undefined && typeof x.fromControl !== 'boolean') throw new ValueError(`Expected a boolean for ${at('fromControl')} but received ${describe(x.fromControl)}`);
    num(x.eps, at('eps'), 0, 1);
    int(x.steps, at('steps'), 1, 100_000);
    num(x.stepSize, at('stepSize'), Number.MIN_VALUE, 1);
    int(x.epochs, at('epochs'), 1, 10_000);
  }

  const e = obj(s.evaluation, 'spec.evaluation');
  const part = (k: string) => obj(e[k], `spec.evaluation.${k}`);
  const at = (k: string, f: string) => `spec.evaluation.${k}.${f}`;
  const eps01 = (v: unknown, p: string) => list(v, p, (x, q) => num(x, q, 0, 1), { min: 0 });
  n(e.testSize, 'spec.evaluation.testSize');
  const fgsm = part('fgsm');
  eps01(fgsm.eps, at('fgsm', 'eps'));
  list(fgsm.losses, at('fgsm', 'losses'), (v, p) => oneOf(v, p, ['mse', 'ce']), { max: 2 });
  list(part('noise').variances, at('noise', 'variances'), (x, p) => num(x, p, 0, 1e6), { min: 0, max: 1000 });
  list(part('blur').sigmas, at('blur', 'sigmas'), (x, p) => num(x, p, 0, 1e6), { min: 0, max: 1000 });
  const df = part('deepfool');
  n(df.n, at('deepfool', 'n'));
  num(df.overshoot, at('deepfool', 'overshoot'), 0, 1e3);
  int(df.maxIter, at('deepfool', 'maxIter'), 1, 1_000_000);
  const js = part('jsma');
  n(js.n, at('jsma', 'n'));
  num(js.theta, at('jsma', 'theta'), -1, 1);
  int(js.maxIter, at('jsma', 'maxIter'), 1, 1_000_000);
  oneOf(js.variant, at('jsma', 'variant'), ['pair', 'single']);
  const cw = part('cw');
  n(cw.n, at('cw', 'n'));
  int(cw.steps, at('cw', 'steps'), 1, 1_000_000);
  int(cw.searches, at('cw', 'searches'), 1, 1000);
  num(cw.lr, at('cw', 'lr'), Number.MIN_VALUE);
  num(cw.c0, at('cw', 'c0'), Number.MIN_VALUE);
  const pgd = part('pgd');
  n(pgd.n, at('pgd', 'n'));
  eps01(pgd.eps, at('pgd', 'eps'));
  int(pgd.steps, at('pgd', 'steps'), 1, 1_000_000);
  int(pgd.restarts, at('pgd', 'restarts'), 1, 1000);
  oneOf(pgd.loss, at('pgd', 'loss'), ['mse', 'ce']);
  const sq = part('square');
  n(sq.n, at('square', 'n'));
  eps01(sq.eps, at('square', 'eps'));
  int(sq.queries, at('square', 'queries'), 1, 10_000_000);
  const tr = part('transfer');
  n(tr.n, at('transfer', 'n'));
  eps01(tr.eps, at('transfer', 'eps'));
  if (e.autoattack !== undefined) {
    const aa = part('autoattack');
    n(aa.n, at('autoattack', 'n'));
    const norm = oneOf(aa.norm, at('autoattack', 'norm'), ['linf', 'l2']);
    // L∞ budgets in [0, 1]; L2 up to the diameter of the data (checked again against d when it runs).
    list(aa.eps, at('autoattack', 'eps'), (x, q) => num(x, q, 0, norm === 'linf' ? 1 : 1e6), { max: 100 });
    oneOf(aa.version, at('autoattack', 'version'), ['standard', 'plus']);
  }
  return spec;
}
