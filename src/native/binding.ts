/**
 * The one typed description of the native addon. Every export of native/addon/*.cc is
 * declared here; the public API wraps these and never calls the addon otherwise.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError, fromNative } from '../errors.js';

/**
 * The native model handle (native/addon/model_handle.h): owns one network's parameters.
 * Every addon call that takes a network takes this handle, leasing it for the call
 * (read: any number at once; write: alone) — a call that would race fails with ERR_BUSY.
 */
export interface NativeModel {
  describe(): NativeModelInfo;
  /** Copies of the weights / biases of weight layer k (null: no bias). */
  getWeights(k: number): Float32Array;
  getBias(k: number): Float32Array | null;
  setWeights(k: number, w: Float32Array): void;
  setBias(k: number, b: Float32Array): void;
  setOutput(output: NativeOutput, temperature: number): void;
  setHiddenScale(s: number): void;
  clone(): NativeModel;
  /** Frees the parameters (ERR_BUSY while a call runs); later use is ERR_DISPOSED. */
  dispose(): void;
  /** The first NaN or infinite parameter, or null. */
  firstNonFinite(): { layer: number; tensor: 'weights' | 'bias' | 'input op'; index: number; value: number } | null;
  readonly state: string;
}

export type NativeOutput = 'relu' | 'linear' | 'softmax' | 'logsoftmax';

/** createModel's description (native/addon/model_handle.cc). */
export interface NativeModelDesc {
  input: [number, number, number];
  inputOps?: { op: 'add' | 'sub' | 'mul' | 'div'; value: Float32Array }[];
  layers: {
    kind: 'dense' | 'conv' | 'maxpool' | 'avgpool';
    units?: number;
    /** [kh, kw, sh, sw, pt, pl, pb, pr] */
    window?: number[];
    countIncludePad?: boolean;
    relu: boolean;
    pre?: number;
    post?: number;
    dropout?: boolean;
    weights?: Float32Array;
    bias?: Float32Array | boolean | null;
  }[];
  output: NativeOutput;
  temperature?: number;
  hiddenScale?: number;
}

export interface NativeModelInfo {
  input: [number, number, number];
  layers: { kind: string; in: [number, number, number]; out: [number, number, number]; weights: number; bias: boolean }[];
  output: NativeOutput;
  temperature: number;
  hiddenScale: number;
  parameters: number;
}



/** A progress event from native code. Extra numeric fields depend on the call. */
export interface NativeProgress {
  phase: string;
  done: number;
  total: number;
  [key: string]: number | string;
}

/** Passed last to every async native call. `cancel[0] = 1` asks the call to stop. */
export interface NativeControl {
  onProgress?: (p: NativeProgress) => void;
  cancel?: Int32Array;
}

/** A CPU path of the hot kernels (native/core/cpu.h). */
export type IsaName = 'generic' | 'avx2' | 'avx512';

/** The CPU path in use and why (native/core/cpu.h). */
export interface NativeIsaInfo {
  name: IsaName;
  /** "forced by NREM_ISA=avx2", "auto: the CPU has avx2 and fma but lacks avx512f ...", ... */
  reason: string;
  /** CPU brand string */
  cpu: string;
  /** cpuid vendor ("AuthenticAMD", "GenuineIntel"; "" off x86-64) */
  vendor: string;
  /** cpuid display family (e.g. 25 = 19h: AMD Zen 3/4; 0 off x86-64) */
  family: number;
  /** the flags the paths need that this CPU has */
  flags: string[];
  /** the flags the avx512 path needs that this CPU lacks */
  missing: string[];
  /** paths built into the addon */
  compiled: IsaName[];
  /** paths this CPU can run */
  supported: IsaName[];
  /** own GEMM micro-kernel of the path, e.g. "avx2 6x16 (fma)" */
  gemmKernel: string;
  /** why the path runs that kernel: its own, or on the avx512 path the CPU rule or NREM_GEMM_KERNEL */
  gemmKernelReason: string;
}

export interface NativeInfo {
  threads: number;
  gemm: 'native' | 'openblas';
  openblas: boolean;
  isa: NativeIsaInfo;
  cudaCompiled: boolean;
  cuda: NativeCudaInfo;
}

// --- CUDA backend (native/cuda, native/addon/backend_addon.cc, native/addon/cuda_addon.cc) ---
export interface NativeCudaDevice {
  index: number;
  name: string;
  /** "major.minor" */
  computeCapability: string;
  memoryBytes: number;
  multiprocessors: number;
  /** compute capability >= 8.0: the kernels are built for sm_80 and sm_90 */
  usable: boolean;
}

export interface NativeCudaInfo {
  /** the addon was built with the CUDA kernels (npm run build:cuda) */
  compiled: boolean;
  /** compiled, and a usable device answered */
  available: boolean;
  /** why CUDA is unavailable (absent when available) */
  reason?: string;
  runtimeVersion: number;
  driverVersion: number;
  devices: NativeCudaDevice[];
}

/** 'auto' = CUDA when available, else the CPU (the reason is kept). */
export type BackendName = 'cpu' | 'cuda' | 'auto';
export interface NativeBackendChoice {
  backend: 'cpu' | 'cuda';
  /** why 'auto' fell back to the CPU */
  reason?: string;
}
// --- end CUDA backend ---

// ---- sleep (native/addon/sleep_addon.cc) ----

/** Sleep parameters as the addon reads them (native/core/sleep.h SleepParams). */
export interface NativeSleepParams {
  steps: number;
  dt: number;
  maxRate: number;
  inc: number;
  dec: number;
  threshold: number;
  decay: number;
  inhibition: number;
  dc: number;
  /** One current scale per layer: alpha_scale × the layer's scale factor. */
  alpha: number[];
  beta: number[];
  gate: 'release' | 'sigmoid' | 'none';
  gateWidth: number;
  seed: number;
  maskSize: number;
  /** One flag per spiking layer: STDP on (default every weight layer). */
  plastic?: number[];
  bias?: 'ignore' | 'current';
  convStdp?: 'sum' | 'mean';
  traceEvery: number;
  rasterFrom: number;
  rasterTo: number;
}

/** The sleep input: analogue rows (sequence, mean, masked-mean) or recorded input spikes. */
export type NativeSleepData =
  | { mode: 'sequence' | 'mean' | 'masked-mean'; x: Float32Array; n: number; imageC?: number; imageH?: number; imageW?: number }
  | { mode: 'replay'; replayOffsets: Int32Array; replayIndices: Int32Array };

export interface NativeSleepStats {
  steps: number;
  seconds: number;
  /** L+1 entries, input layer first. */
  spikes: number[];
  neuronSpikes: Uint32Array[];
  /** Membrane potentials at the end, per layer (input layer: empty). */
  membranes: Float32Array[];
  potentiation: number[];
  depression: number[];
  changed: number[];
  absChange: number[];
  /** windows × (L+1) firing rates in Hz. */
  trace: Float32Array;
  rasterOffsets?: Int32Array[];
  rasterIndices?: Int32Array[];
  /** which backend ran the sleep (CUDA backend) */
  backend?: 'cpu' | 'cuda';
  /** why backend 'auto' did not run on CUDA */
  backendReason?: string;
}

export interface Addon {
  info(): NativeInfo;
  /** A native model handle holding copies of the description's parameters (validated; ERR_MEMORY when too large). */
  createModel(desc: NativeModelDesc): NativeModel;
  /** n in [1, 1024]; 0 = the default (hardware concurrency or NREM_THREADS). */
  setThreads(n: number): void;
  setGemm(name: 'native' | 'openblas'): void;
  /** Switches the CPU path of the hot kernels; throws (ERR_BACKEND) when this CPU cannot run it. */
  setIsa(name: IsaName): void;
  setGemmKernel(name: 'auto' | 'avx512' | 'avx2'): void;
  /** Throws (code ERR_BACKEND) for 'cuda' without a usable device. */
  resolveBackend(name: BackendName): NativeBackendChoice;
  /** a_L for n rows of x into out; optionally every layer's output (after its activation) into layerOuts. */
  forward(
    net: NativeModel,
    x: Float32Array,
    n: number,
    out: Float32Array,
    layerOuts?: (Float32Array | null)[] | null,
    control?: NativeControl,
  ): Promise<void>;

  // ---- engine: backprop, losses, training (native/addon/backprop_addon.cc, train_addon.cc) ----
  /**
   * Loss of a batch against targets (n × nL, one-hot or soft) and, into `out`, its
   * gradients: dL/dx (n × n0), dL/dW_l, dL/db_l. Test mode unless opts.train (then dropout
   * masks come from opts.seed/step). reduction 'sum' (default): row r of out.x is the
   * gradient of that row's own loss. Resolves with the reduced loss.
   */
  gradients(
    net: NativeModel,
    x: Float32Array,
    n: number,
    targets: Float32Array,
    opts: NativeGradientOptions,
    out?: NativeGradientOutputs | null,
    control?: NativeControl,
  ): Promise<number>;
  // --- attacks and distortions (native/addon/attacks_addon.cc) ---
  /** dX = ∂loss/∂x for labels y; loss per row into lossOut (optional). */
  attackGradient(
    net: NativeModel,
    x: Float32Array,
    n: number,
    y: Int32Array,
    loss: 'mse' | 'ce' | 'margin',
    dX: Float32Array,
    lossOut: Float32Array | null,
    control?: NativeControl,
    backend?: BackendName,
  ): Promise<void>;
  /** J (n × classes.length × d): ∂z_L[k]/∂x for each listed class. */
  attackClassGrads(
    net: NativeModel,
    x: Float32Array,
    n: number,
    classes: number[],
    J: Float32Array,
    control?: NativeControl,
    backend?: BackendName,
  ): Promise<void>;
  /** z_L (n × K), the pre-activation logits every attack works on. */
  attackLogits(net: NativeModel, x: Float32Array, n: number, Z: Float32Array, control?: NativeControl, backend?: BackendName): Promise<void>;
  /**
   * APGD (native/core/apgd.h) on one eps: out n × d; aux (n) receives 1 where adversarial.
   * opts: eps, l2, loss ('ce' | 'dlr' | 'dlr-targeted'), iterations, restarts, targetClasses,
   * rho, earlyStop, seed, row0, keys (one random key per row), batch, backend.
   */
  attackRun(
    kind: 'apgd',
    net: NativeModel,
    x: Float32Array,
    n: number,
    y: Int32Array,
    opts: Record<string, number | boolean | string | number[]>,
    out: Float32Array,
    aux: Int32Array | null,
    control?: NativeControl,
  ): Promise<NativeApgdStats>;
  /**
   * One attack over a batch; out is (E ×) n × d; aux: deepfool iterations / square queries
   * (E × n) / fab: 1 where adversarial (n). fab (native/core/fab.h) opts: eps, l2, targeted,
   * iterations, restarts, targetClasses, alphaMax, eta, beta, stopAtEps, runsPerPass, seed, row0, keys,
   * batch. square: also rescaleSchedule and keys.
   */
  attackRun(
    kind: 'pgd' | 'deepfool' | 'jsma' | 'cw' | 'square' | 'fab',
    net: NativeModel,
    x: Float32Array,
    n: number,
    y: Int32Array,
    opts: Record<string, number | boolean | string | number[]>,
    out: Float32Array,
    aux: Int32Array | null,
    control?: NativeControl,
  ): Promise<void>;
  // APGD / FAB internals for tests (native/addon/autoattack_addon.cc), synchronous.
  /** The checkpoint iterations of APGD with N iterations, and the period h at each. */
  apgdSchedule(iterations: number): { h0: number; hMin: number; hDecr: number; checkpoints: number[]; lengths: number[] };
  /** The step-size test at a checkpoint after iteration k (steps[j] = loss after step j). */
  apgdShouldHalve(steps: Float32Array, k: number, h: number, rho: number, reducedLast: boolean, bestLast: number, best: number): boolean;
  /** APGD's losses and their gradients with respect to the logits. */
  apgdLoss(kind: 'ce' | 'dlr' | 'dlr-targeted', Z: Float32Array, n: number, K: number, y: Int32Array, t: Int32Array | null, loss: Float32Array, G: Float32Array): void;
  /** FAB's projection of t onto {w·v = b} ∩ [0, 1]^d (smallest L∞ / L2 step) into delta. */
  fabProject(norm: 'linf' | 'l2', t: Float32Array, w: Float32Array, b: number, delta: Float32Array): void;
  /** Square's window side at each of Q iterations (p schedule unscaled or spread over Q). */
  squareSides(pInit: number, Q: number, rescale: boolean, h: number, w: number, l2?: boolean): Int32Array;
  /** Square's L2 proposal shape eta(s) (s × s), transposed when flip. */
  squareEta(s: number, flip: boolean): Float32Array;
  /** The paper's FGSM sweep: correct[e·n + r] = 1 where clip01(x + eps_e·sign(g)) is still classified y. */
  fgsmSweep(
    net: NativeModel,
    x: Float32Array,
    n: number,
    y: Int32Array,
    eps: number[],
    loss: 'mse' | 'ce' | 'margin',
    correct: Uint8Array,
    control?: NativeControl,
    backend?: BackendName,
    method?: 'closed-form' | 'direct',
  ): Promise<void>;
  distort(
    kind: 'noise' | 'blur' | 'saltpepper' | 'contrast',
    level: number,
    x: Float32Array,
    n: number,
    d: number,
    h: number,
    w: number,
    seed: number,
    row0: number,
    out: Float32Array,
    control?: NativeControl,
  ): Promise<void>;
  /** C = alpha·op(A)·op(B) + beta·C (row-major, strides lda/ldb/ldc); kernel 'current' = the selected backend. Tests and benchmarks. */
  gemm(
    kernel: 'current' | 'native',
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  /** Overwrites the weights (U(-scale, scale) or He normal N(0, 2/fan_in)) and zeroes biases, from the seed. */
  initWeights(net: NativeModel, kind: 'uniform' | 'he', scale: number, seed: number, rng?: RandomStreams): void;
  /**
   * SGD with momentum, in place on net's arrays. labels (n) or targets (n × nL, soft).
   * Progress: { phase: 'train', done, total (batches), epoch, batch, batches, loss }.
   */
  train(
    net: NativeModel,
    x: Float32Array,
    n: number,
    labels: Int32Array | null,
    targets: Float32Array | null,
    opts: NativeTrainOptions,
    control?: NativeControl,
  ): Promise<NativeTrainResult>;

  // ---- whole-array passes (native/addon/tensor_addon.cc, native/core/tensor_ops.h) ----
  /** min and max of the finite values; first index not finite, first index outside [lo, hi] (NaN included); -1 when none. */
  scanValues(x: Float32Array, lo: number, hi: number, control?: NativeControl): Promise<{ min: number; max: number; firstNonFinite: number; firstOutside: number }>;
  /** dst[i] = src[i] / divisor, in double rounded to float (IDX pixels to [0, 1]). */
  u8ToF32(src: Uint8Array, divisor: number, dst: Float32Array): void;
  /**
   * The bookkeeping of an attack run (src/attacks/base.ts), per eps: clipped[e] = restrict(raw[e]) where
   * restrict[e], the network's class of clipped[e], success and the perturbation norms of clipped[e] − x.
   */
  attackFinish(
    net: NativeModel,
    x: Float32Array,
    n: number,
    raw: Float32Array[],
    clipped: Float32Array[],
    norm: 'linf' | 'l2' | 'l0',
    eps: number[],
    restrict: boolean[],
    y: Int32Array,
    targets: Int32Array | null,
    predictions: Int32Array[],
    success: Uint8Array[],
    l0: Float32Array[],
    l2: Float32Array[],
    linf: Float32Array[],
    control?: NativeControl,
  ): Promise<void>;

  // ---- sleep (native/addon/sleep_addon.cc): the weights of net are modified in place ----
  sleepRun(
    net: NativeModel,
    data: NativeSleepData,
    params: NativeSleepParams,
    engine: 'event' | 'dense',
    control?: NativeControl,
    backend?: BackendName,
  ): Promise<NativeSleepStats>;
  sleepBatch(
    nets: NativeModel[],
    data: NativeSleepData,
    params: NativeSleepParams[],
    control?: NativeControl,
    backend?: BackendName,
  ): Promise<NativeSleepStats[]>;
}

/** What APGD reports besides its examples (native/core/apgd.h ApgdStats). */
export interface NativeApgdStats {
  /** Rows attacked (correctly classified before the attack). */
  rows: number;
  /** Of those, rows whose loss gradient at the first start point is exactly zero. */
  zeroGradient: number;
  /** Step-size halvings, summed over rows and runs. */
  halvings: number;
}

/** Loss functions of the engine: the paper's squared error, softmax cross-entropy on z_L. */
/** mse-release: the paper's training gradient (straight through the output ReLU, as the authors' release). */
export type NativeLoss = 'mse' | 'mse-release' | 'cross-entropy';

export interface NativeGradientOptions {
  loss: NativeLoss;
  reduction?: 'sum' | 'mean';
  train?: boolean;
  dropout?: number;
  inverted?: boolean;
  seed?: number;
  step?: number;
}

export interface NativeTrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum?: number;
  /** epoch e uses lr · lrDecay^(e−1) (default 1) */
  lrDecay?: number;
  loss: NativeLoss;
  dropout?: number;
  inverted?: boolean;
  seed: number;
  shuffle?: boolean;
  rng?: RandomStreams;
  /** Softmax temperature while training (default: the network's). */
  temperature?: number;
  progressEvery?: number;
}

/** Where training draws its random numbers: nrem's counter-based generator or the authors' Octave stream. */
export type RandomStreams = 'counter' | 'octave';

export interface NativeTrainResult {
  epochLoss: number[];
  epochSeconds: number[];
  steps: number;
}

export interface NativeGradientOutputs {
  x?: Float32Array | null;
  weights?: (Float32Array | null)[] | null;
  biases?: (Float32Array | null)[] | null;
}

const here = dirname(fileURLToPath(import.meta.url));

function packageRoot(): string {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = dirname(dir);
  }
  return resolve(here, '..', '..');
}

/**
 * OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPU model; on CPUs it does
 * not know (virtual machines reporting a generic "Intel Xeon Processor", newer chips for
 * older OpenBLAS releases) it falls back to SSE3 ("Prescott") kernels, 5× slower in
 * sgemm here. Before the addon (and so OpenBLAS) is loaded, name a kernel family from the
 * CPU flags unless the user chose one (OPENBLAS_CORETYPE); builds without DYNAMIC_ARCH
 * ignore the variable.
 */
export function chooseOpenBlasCore(flags: string): string | undefined {
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every(has)) return 'SkylakeX';
  if (has('avx2') && has('fma')) return 'Haswell';
  return undefined;
}

function tuneOpenBlasCore(): void {
  if (process.env.OPENBLAS_CORETYPE || process.platform !== 'linux' || process.arch !== 'x64') return;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const core = line ? chooseOpenBlasCore(line) : undefined;
    if (core) process.env.OPENBLAS_CORETYPE = core;
  } catch {
    // no /proc: leave OpenBLAS to its own detection
  }
}

let cached: Addon | undefined;
let loadedFrom = '';

/**
 * Loads the addon: NREM_ADDON if set, else the newest of the cmake-js build (which may
 * include CUDA) and the node-gyp build. Every failure is collected into one message.
 */
export function addon(): Addon {
  if (cached) return cached;
  const root = packageRoot();
  const builds = [join(root, 'build-cmake', 'Release', 'nrem.node'), join(root, 'build', 'Release', 'nrem.node')];
  const mtime = (p: string) => (existsSync(p) ? statSync(p).mtimeMs : 0);
  builds.sort((a, b) => mtime(b) - mtime(a));
  const candidates = process.env.NREM_ADDON ? [process.env.NREM_ADDON] : builds;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  tuneOpenBlasCore();
  for (const path of candidates) {
    if (!existsSync(path)) {
      failures.push(`${path}: not built`);
      continue;
    }
    try {
      cached = require(path) as Addon;
      loadedFrom = path;
      return cached;
    } catch (err) {
      // A NREM_ISA this CPU cannot run (or an unknown name): the addon's own message.
      if (/^NREM_ISA=/.test((err as Error).message)) throw fromNative(err);
      failures.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new BackendError(`Could not load the nrem native addon (run \`npm run build\`):\n  ${failures.join('\n  ')}`);
}

export function addonPath(): string {
  addon();
  return loadedFrom;
}
