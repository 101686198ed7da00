/** Baseline defences the paper compares sleep with, and the modern reference (experiments.md §4). */
export { distill, type DistillationOptions, type DistillationResult } from './distillation.js';
export { finetune, perturbedRows, FINETUNE_KINDS, type FinetuneOptions, type FinetuneResult, type FinetuneKindName } from './finetune.js';
export { pgdTrain, type PgdTrainOptions, type PgdTrainResult } from './pgd-train.js';
export { replaceLeading } from './common.js';
