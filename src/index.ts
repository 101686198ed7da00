/** nrem: the public API. */
export * from './errors.js';
export { Network, argmaxRows, type NetworkSpec, type OutputActivation, type DropoutMode } from './model/network.js';
export { type RunOptions, type ProgressEvent } from './util/control.js';
export { runtimeInfo, setThreads, setGemm } from './native/runtime.js';

// Data sets (src/data): one loader by spec string, the generators and readers behind it.
export {
  loadDataset,
  loadMnist,
  loadIdxDir,
  loadFeatures,
  generatePatches,
  patchPrototypes,
  stratifiedSubset,
  stratifiedSplit,
  makeDataset,
  subset,
  head,
  parseNpy,
  parseNpz,
  encodeNpy,
  encodeZip,
  QUICK_TRAIN,
  QUICK_TEST,
  type LoadOptions,
  type Dataset,
  type Split,
  type PatchesOptions,
  type FeaturesOptions,
  type NpyArray,
} from './data/index.js';
export { rngBits, rngUniform, rngInt, permutation, RngStream } from './util/rng.js';
