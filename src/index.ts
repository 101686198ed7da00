/** nrem: the public API. */
export * from './errors.js';
export { Network, argmaxRows, type NetworkSpec, type OutputActivation, type DropoutMode } from './model/network.js';
export { type RunOptions, type ProgressEvent } from './util/control.js';
export { runtimeInfo, setThreads, setGemm } from './native/runtime.js';
// CUDA backend
export { cudaInfo, resolveBackend, BACKENDS, type Backend, type BackendChoice, type CudaInfo } from './native/runtime.js';
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
