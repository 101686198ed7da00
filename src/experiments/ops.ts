/**
 * The operations an experiment is made of, as one interface. The runner only calls
 * these; `realOps()` (ops-real.ts) implements them over nrem's training, sleep, attack
 * and defence APIs. Every call receives the seed it must use and the run's
 * AbortSignal/progress (RunOptions).
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../model/network.js';
import type { RunOptions } from '../util/control.js';
import type { Architecture } from '../model/arch.js';
import type { AutoAttackEvalSpec, ControlSpec, DistillationSpec, EvaluationSpec, FinetuneSpec, PgdTrainSpec, SleepSpec, TrainSpec, TuneSpec } from './spec.js';

export interface LoadedData {
  train: Dataset;
  test: Dataset;
}

export interface SleepStats {
  /** Description of the input actually used (named in the report). */
  input: string;
  steps: number;
  spikesPerLayer: number[];
  weightsChanged: number[];
  /** The spiking layers' kinds (input excluded): dense, conv, maxpool, avgpool. */
  layers?: string[];
}

export interface PerturbationStats {
  n: number;
  successRate: number;
  medianL2?: number;
  meanL2?: number;
  rho?: number;
  medianL0?: number;
  fractionChanged?: number;
}

/** What a "tune" sleep unit found (nrem tune on a validation split of the training rows). */
export interface TunedSleep {
  algorithm: string;
  budget: number;
  objective: string;
  /** Validation rows (the last rows of the training set; never the test set). */
  valRows: number;
  /** The best parameters found (a full preset, src/sleep/presets.ts). */
  parameters: Record<string, unknown>;
  /** Validation score of the best candidate, of the control (no sleep) and of the baseline preset (when its depth fits). */
  score: number;
  controlScore: number;
  baseline: { name: string; score: number } | null;
}

/** AutoAttack on one network and seed: robust accuracy per eps, after each stage, and the checks. */
export interface AutoAttackValue {
  n: number;
  eps: number[];
  cleanAccuracy: number;
  /** robust[e]: worst-case robust accuracy at eps[e] (ONNX Runtime confirmed). */
  robust: number[];
  /** Robust accuracy after each stage, per eps. */
  stages: { attack: string; robust: number[] }[];
  /** Checks that fired, per eps (those that did not are listed with fired false). */
  checks: { eps: number; id: string; fired: boolean; value: number; message: string }[];
  seconds: number;
}

export type FinetuneKind = 'fgsm' | 'noise' | 'blur' | 'deepfool' | 'jsma' | 'cw';
export type SweepAttack = 'pgd' | 'square';

export interface Ops {
  loadData(source: string, opts: { quick: boolean; seed: number }): Promise<LoadedData>;
  train(data: LoadedData, spec: TrainSpec, seed: number, ro: RunOptions): Promise<Network>;
  /** The user's network (spec.control): its file read and checked against the recorded sha256. */
  importControl(control: ControlSpec, data: LoadedData, ro: RunOptions): Promise<Network>;
  /** `arch`: the architecture to train (a given control's); default: the spec's. */
  distill(data: LoadedData, spec: TrainSpec, d: DistillationSpec, seed: number, ro: RunOptions, arch?: Architecture): Promise<Network>;
  finetune(control: Network, data: LoadedData, kind: FinetuneKind, f: FinetuneSpec, ev: EvaluationSpec, seed: number, ro: RunOptions, recipe?: TrainSpec['recipe']): Promise<Network>;
  pgdTrain(data: LoadedData, spec: TrainSpec, p: PgdTrainSpec, seed: number, ro: RunOptions, init?: Network, arch?: Architecture): Promise<Network>;
  /** nrem tune's search of the sleep parameters of `control` (validation rows held out of data.train). */
  tuneSleep(control: Network, data: LoadedData, t: TuneSpec, seed: number, ro: RunOptions): Promise<TunedSleep>;
  /** `tuned`: parameters a "tune" unit found (instead of s.preset). */
  sleep(control: Network, data: LoadedData, s: SleepSpec, seed: number, ro: RunOptions, tuned?: Record<string, unknown>): Promise<{ net: Network; stats: SleepStats }>;
  accuracy(net: Network, test: Dataset, ro: RunOptions): Promise<number>;
  /** Accuracy after FGSM at each eps (one gradient per image). */
  fgsm(net: Network, test: Dataset, eps: number[], loss: 'mse' | 'ce', ro: RunOptions): Promise<number[]>;
  noise(net: Network, test: Dataset, variances: number[], seed: number, ro: RunOptions): Promise<number[]>;
  blur(net: Network, test: Dataset, sigmas: number[], ro: RunOptions): Promise<number[]>;
  /** Accuracy under PGD or Square at each eps, on `test` (already cut to n). */
  sweep(attack: SweepAttack, net: Network, test: Dataset, eps: number[], ev: EvaluationSpec, seed: number, ro: RunOptions): Promise<number[]>;
  /** PGD examples crafted on `source`, accuracy of `target` on them, per eps. */
  transfer(source: Network, target: Network, test: Dataset, eps: number[], ev: EvaluationSpec, seed: number, ro: RunOptions): Promise<number[]>;
  minimal(attack: 'deepfool' | 'jsma' | 'cw', net: Network, test: Dataset, ev: EvaluationSpec, seed: number, ro: RunOptions): Promise<PerturbationStats>;
  /**
   * AutoAttack on `test` (already cut to n) at each eps; `source` (when given, the control):
   * PGD examples crafted on it feed the transfer check.
   */
  autoattack(net: Network, test: Dataset, a: AutoAttackEvalSpec, ev: EvaluationSpec, seed: number, ro: RunOptions, source?: Network): Promise<AutoAttackValue>;
  /** ONNX bytes of a network and back. */
  save(net: Network): Promise<Uint8Array>;
  load(bytes: Uint8Array): Promise<Network>;
}
