/** nrem: the public API. */
export * from './errors.js';
export { Network, argmaxRows, denseOnly, OUTPUT_ACTIVATIONS, type NetworkSpec, type FullNetworkSpec, type Parameters, type OutputActivation, type DropoutMode } from './model/network.js';
export { compileChain, canonicalLayer, LAYER_TYPES, type LayerSpec, type LayerType, type Shape3, type Padding, type InputOp, type ChainLayer } from './model/layers.js';
export { LENET_ARCH, parseArch, readArch, architecture, architectureOf, type Architecture } from './model/arch.js';
export { checkInputRange, type InputRangeCheck } from './model/input-range.js';
export { type RunOptions, type ProgressEvent } from './util/control.js';
export { runtimeInfo, setThreads, setGemm, setIsa, setGemmKernel } from './native/runtime.js';

// Data sets (src/data): one loader by spec string, the generators and readers behind it.
export {
  loadDataset,
  loadMnist,
  loadFashionMnist,
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

// ONNX export/import and ONNX Runtime evaluation (src/model/onnx.ts, src/model/ort.ts).
export { toOnnxBytes, saveOnnx, fromOnnxBytes, loadOnnx, loadOnnxImport, importOnnx, ONNX_OPSET, type OnnxExportOptions, type OnnxImport, type ImportOptions } from './model/onnx.js';
export { OrtModel, type OrtOptions } from './model/ort.js';
// --- attacks, distortions (src/attacks) ---
export * from './attacks/index.js';

// ---- sleep ----
export { sleep, sleepBatch, type SleepOptions, type SleepStats, type SleepResult, type SpikeTrain } from './sleep/sleep.js';
export {
  PRESETS,
  PRESET_NAMES,
  getPreset,
  resolveParameters,
  validateParameters,
  loadPresetFile,
  type PresetName,
  type SleepPreset,
  type SleepParameters,
  type SleepInput,
  type Normalization,
  type StdpGate,
} from './sleep/presets.js';
export { scaleFactors, layerMaxima, scaleChain, type ScaleFactors } from './sleep/normalize.js';



// ---- reproduce: experiments, runner, report, defences ----
export { builtinSpec, validateSpec, BUILTIN_SPECS, CUB200_HELP, type ExperimentSpec, type BuiltinOptions } from './experiments/spec.js';
export { runExperiment, aggregate, computeUnit, localExecutor, type RunExperimentOptions, type UnitExecutor } from './experiments/runner.js';
export { buildGraph, type UnitNode } from './experiments/graph.js';
export { DirStore, StoreIntegrityError, unitKey, canonicalJson, type Store, type StoreLocation, type UnitRecord, type ReadResult } from './experiments/store.js';
export { writeAtomic, writeAtomicSync } from './util/atomic.js';
export { RESULTS_SCHEMA_VERSION, stat, type Results, type Stat, type Curve, type NetworkId, type NetworkResult, type PerturbationResult, type SleepResult as ExperimentSleepResult } from './experiments/results.js';
export { makeReporter, type RunEvent, type Reporter } from './experiments/progress.js';
export type { Ops, LoadedData, SleepStats as ExperimentSleepStats, PerturbationStats, FinetuneKind } from './experiments/ops.js';
export { realOps } from './experiments/ops-real.js';
export { writeReport, answers, reportBlocks } from './report/report.js';

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
// CUDA backend
export { cudaInfo, resolveBackend, BACKENDS, type Backend, type BackendChoice, type CudaInfo } from './native/runtime.js';
// ---- tune: sleep-parameter search (src/tune) ----
export * from './tune/index.js';
