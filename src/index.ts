/** nrem: the public API. */
export * from './errors.js';
export { Network, argmaxRows, type NetworkSpec, type OutputActivation, type DropoutMode } from './model/network.js';
export { type RunOptions, type ProgressEvent } from './util/control.js';
export { runtimeInfo, setThreads, setGemm } from './native/runtime.js';
// ---- engine: training and evaluation ----
export {
  train,
  evaluate,
  createNetwork,
  initWeights,
  recipeOptions,
  getRecipe,
  RECIPES,
  LOSSES,
  type TrainOptions,
  type TrainResult,
  type EvalResult,
  type Recipe,
  type RecipeName,
  type InitSpec,
  type LossName,
} from './train/train.js';
