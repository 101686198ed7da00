/**
 * results.json: the stable, versioned output of a run (documented in docs/results-schema.md).
 * Every figure is a Stat over seeds: mean, sample standard deviation and the per-seed values.
 */
import type { ExperimentSpec } from './spec.js';

export const RESULTS_SCHEMA_VERSION = 1;

export interface Stat {
  mean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  sd: number;
  /** One value per seed, in the order of `seeds`. */
  values: number[];
}

/** The networks of the study. */
export type NetworkId =
  | 'control'
  | 'distillation'
  | 'finetune-fgsm'
  | 'finetune-noise'
  | 'finetune-blur'
  | 'finetune-deepfool'
  | 'finetune-jsma'
  | 'finetune-cw'
  | 'pgd-train'
  | 'sleep';

export interface NetworkResult {
  id: NetworkId;
  label: string;
  /** Clean test accuracy in [0, 1]. */
  cleanAccuracy: Stat;
  /** Clean accuracy minus the control's (0 for the control). */
  cleanDelta: Stat;
  /** Wall seconds to build this network from the control (or from scratch for distillation / PGD training). */
  costSeconds: Stat;
}

/** One x-axis sweep: accuracy per network at each x. */
export interface Curve {
  /** e.g. 'fgsm-mse', 'fgsm-ce', 'noise', 'blur', 'pgd', 'square', 'transfer'. */
  id: string;
  title: string;
  xLabel: string;
  x: number[];
  /** Test images the curve is measured on. */
  n: number;
  series: { network: NetworkId; accuracy: Stat[] }[];
}

/** Minimal-perturbation attacks (DeepFool, JSMA, C&W). */
export interface PerturbationResult {
  attack: 'deepfool' | 'jsma' | 'cw';
  network: NetworkId;
  /** Attacked test images (correctly classified ones are attacked; see the schema doc). */
  n: number;
  successRate: Stat;
  /** Median L2 of successful perturbations (DeepFool, C&W). */
  medianL2?: Stat;
  meanL2?: Stat;
  /** DeepFool's rho = mean ||r||2 / ||x||2. */
  rho?: Stat;
  /** JSMA: median number of pixels changed and the fraction of pixels changed. */
  medianL0?: Stat;
  fractionChanged?: Stat;
}

/** AutoAttack per network: the headline robust accuracy (worst case per example over its attacks). */
export interface AutoAttackSummary {
  network: NetworkId;
  /** Test images attacked (the first n of the evaluation set). */
  n: number;
  version: string;
  norm: string;
  eps: number[];
  cleanAccuracy: Stat;
  /** robust[e]: Stat over seeds of the robust accuracy at eps[e]. */
  robust: Stat[];
  /** Robust accuracy after each stage (APGD-CE, APGD-T, FAB-T, Square for 'standard'), per eps. */
  stages: { attack: string; robust: Stat[] }[];
  /** Every sanity check that fired, with its seed and eps (nothing here = all checks passed). */
  warnings: { seed: number; eps: number; id: string; message: string }[];
}

export interface SleepResult {
  /** The preset name, or "tune" (the parameters were searched for this network: see `tuned`). */
  preset: string;
  /** With preset "tune": nrem tune's search per seed, on validation rows held out of the training set. */
  tuned?: {
    algorithm: string;
    budget: number;
    objective: string;
    valRows: number;
    /** Validation scores of the best candidate, the control and the baseline preset. */
    score: Stat;
    controlScore: Stat;
    baseline: { name: string; score: Stat } | null;
    /** The parameters found, one object per seed. */
    parameters: Record<string, unknown>[];
  };
  /** Description of the sleep input, e.g. "sequence: the 8,000 training images in order, cycled". */
  input: string;
  steps: number;
  /** Spikes per layer, input first. */
  spikesPerLayer: Stat[];
  /** Weights changed per weight matrix. */
  weightsChanged: Stat[];
  /** The spiking layers' kinds (input excluded), where known: dense, conv, maxpool, avgpool. */
  layers?: string[];
  wallSeconds: Stat;
}

export interface Results {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  nrem: { version: string };
  spec: ExperimentSpec;
  startedAt: string;
  finishedAt: string;
  /** Wall seconds of this invocation (units found in the store cost nothing). */
  wallSeconds: number;
  /** Units computed now vs found finished in the store. */
  units: { computed: number; reused: number };
  environment: { node: string; platform: string; threads: number; gemm: string };
  data: { name: string; train: number; test: number; dims: number; classes: number; note: string; source?: string };
  /** Where the control came from: trained by nrem (recipe, architecture) or the user's file (spec.control). */
  control?: { source: 'trained'; recipe: string; arch: string } | { source: 'model'; model: string; sha256: string; recipe: string; arch: string };
  seeds: number[];
  networks: NetworkResult[];
  curves: Curve[];
  perturbations: PerturbationResult[];
  /** Absent when the spec has no AutoAttack evaluation. */
  autoattack?: AutoAttackSummary[];
  sleep: SleepResult;
}

export function stat(values: number[]): Stat {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, values: [...values] };
}

export const NETWORK_LABELS: Record<NetworkId, string> = {
  control: 'control',
  distillation: 'defensive distillation',
  'finetune-fgsm': 'fine-tuned (FGSM)',
  'finetune-noise': 'fine-tuned (noise)',
  'finetune-blur': 'fine-tuned (blur)',
  'finetune-deepfool': 'fine-tuned (DeepFool)',
  'finetune-jsma': 'fine-tuned (JSMA)',
  'finetune-cw': 'fine-tuned (C&W)',
  'pgd-train': 'PGD adversarial training',
  sleep: 'sleep',
};

/** Curve lookup helpers used by the report. */
export function curveOf(r: Results, id: string): Curve | undefined {
  return r.curves.find((c) => c.id === id);
}
export function seriesOf(c: Curve | undefined, network: NetworkId): Stat[] | undefined {
  return c?.series.find((s) => s.network === network)?.accuracy;
}
export function autoattackOf(r: Results, id: NetworkId): AutoAttackSummary | undefined {
  return r.autoattack?.find((a) => a.network === id);
}
export function networkOf(r: Results, id: NetworkId): NetworkResult | undefined {
  return r.networks.find((n) => n.id === id);
}
