/**
 * Memory budgets: an allocation that cannot fit is refused BEFORE it is attempted, with a
 * MemoryError naming what needs the memory, how much, and how much is available — instead
 * of minutes of page faults, a V8 "Invalid typed array length" or the kernel's OOM killer.
 *
 * The budget is the memory available to the process now: os.freemem() (Linux: MemAvailable),
 * capped by the cgroup limit (process.constrainedMemory()) and by env NREM_MEMORY_LIMIT
 * (bytes, or a number with a unit: 512MiB, 8GiB, 2GB, 1.5e9). Estimates count what nrem
 * itself allocates for the operation (weights, gradients, per-batch buffers); they are
 * lower bounds, so a refusal is never a false alarm about the sizes involved.
 *
 * One place for every size rule: the model code calls networkBytes / forwardBytes, the
 * training code trainingBytes, the attacks attackBytes, each followed by checkMemory.
 */
import { freemem } from 'node:os';
import { MemoryError, ValueError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 2 ** 10, m: 1e6, mb: 1e6, mib: 2 ** 20, g: 1e9, gb: 1e9, gib: 2 ** 30, t: 1e12, tb: 1e12, tib: 2 ** 40 };

/** Parses "8GiB", "512 MB", "1.5e9" into bytes; undefined for an empty string. */
export function parseBytes(s: string, name = 'NREM_MEMORY_LIMIT'): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const v = m && unit ? Number(m[1]) * unit : NaN;
  if (!Number.isFinite(v) || v <= 0) throw new ValueError(`Expected a size like 8GiB, 512MB or 1e9 for ${name} but received ${JSON.stringify(s)}`);
  return v;
}

/** "4.00 GiB", "12.0 MiB", "512 B". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

export interface MemoryBudget {
  bytes: number;
  /** What limits it: "available memory", "the cgroup limit", "NREM_MEMORY_LIMIT". */
  source: string;
}

// The cgroup's limit, read again at most once a second (libuv reads it from the cgroup's
// files: the cost of a short call, paid by every check).
let cgroup = { bytes: 0, at: -Infinity };
function cgroupLimit(): number {
  const now = performance.now();
  if (now - cgroup.at > 1000) cgroup = { bytes: typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0, at: now };
  return cgroup.bytes;
}

/** The memory an operation may allocate now (see the header). */
export function memoryBudget(): MemoryBudget {
  let budget: MemoryBudget = { bytes: freemem(), source: 'available memory' };
  const cg = cgroupLimit();
  if (cg && cg > 0 && cg < budget.bytes) budget = { bytes: cg, source: 'the cgroup memory limit' };
  const env = process.env.NREM_MEMORY_LIMIT;
  if (env !== undefined && env.trim() !== '') {
    const lim = parseBytes(env);
    if (lim < budget.bytes) budget = { bytes: lim, source: 'NREM_MEMORY_LIMIT' };
  }
  return budget;
}

/**
 * Throws MemoryError when `bytes` (what `what` needs) exceed the budget; `detail` says how
 * the figure is made up. A non-finite or unsafe figure (a shape whose product overflows)
 * is refused as well.
 */
export function checkMemory(bytes: number, what: string, detail?: string): void {
  const budget = memoryBudget();
  if (Number.isFinite(bytes) && bytes <= Number.MAX_SAFE_INTEGER && bytes <= budget.bytes) return;
  throw new MemoryError(
    `${what} needs about ${formatBytes(bytes)}${detail ? ` (${detail})` : ''} but only ${formatBytes(budget.bytes)} of memory are available (${budget.source === 'NREM_MEMORY_LIMIT' ? 'the NREM_MEMORY_LIMIT setting' : `${budget.source}; NREM_MEMORY_LIMIT can lower the limit`})`,
  );
}

/** Weights (and biases) of a dense network of `sizes`, float32. */
export function parameterCount(sizes: readonly number[], biases = false): number {
  let p = 0;
  for (let l = 0; l + 1 < sizes.length; l++) p += sizes[l] * sizes[l + 1] + (biases ? sizes[l + 1] : 0);
  return p;
}

export function networkBytes(sizes: readonly number[], biases = false): number {
  return 4 * parameterCount(sizes, biases);
}

/** Checks that a network of `sizes` fits before its weights are allocated. */
export function checkNetworkMemory(sizes: readonly number[], biases = false): void {
  checkMemory(networkBytes(sizes, biases), `a network of sizes ${sizes.join('-')}`, `${parameterCount(sizes, biases).toLocaleString('en-US')} float32 parameters`);
}

const FORWARD_CHUNK = 2048; // native/core/network.cc kChunk

/** A test-mode forward pass over `rows` rows: the output (rows × n_L) and two per-chunk buffers of the widest layer. */
export function forwardBytes(sizes: readonly number[], rows: number): number {
  const widest = Math.max(...sizes.slice(1));
  return 4 * rows * sizes[sizes.length - 1] + 8 * Math.min(rows, FORWARD_CHUNK) * widest;
}

export function checkForwardMemory(sizes: readonly number[], rows: number): void {
  checkMemory(forwardBytes(sizes, rows), `a forward pass of ${rows} rows through ${sizes.join('-')}`);
}

/**
 * Training with mini-batches of `batch` rows (native/core/train.cc): the weights, their
 * gradients and momenta (3 × parameters), and per batch the cached activations and
 * pre-activations of every layer, a dropout mask, and two backward scratch buffers of the
 * widest layer.
 */
export function trainingBytes(sizes: readonly number[], batch: number, biases = false): number {
  const units = sizes.slice(1).reduce((a, b) => a + b, 0);
  const widest = Math.max(...sizes);
  return 3 * networkBytes(sizes, biases) + batch * units * 9 + 8 * batch * widest + 4 * batch * (sizes[0] + 2 * sizes[sizes.length - 1]);
}

export function checkTrainingMemory(sizes: readonly number[], batch: number, biases = false): void {
  checkMemory(
    trainingBytes(sizes, batch, biases),
    `training a network of sizes ${sizes.join('-')} with batches of ${batch}`,
    `weights, gradients and momenta: ${formatBytes(3 * networkBytes(sizes, biases))}`,
  );
}

/**
 * Float32 arrays of `count` values each, `arrays` of them (e.g. adversarial examples: one
 * n × d array per eps, raw and clipped). Checked before the first is allocated.
 */
export function checkArrayMemory(arrays: number, count: number, what: string): void {
  checkMemory(4 * arrays * count, what, `${arrays.toLocaleString('en-US')} arrays of ${count.toLocaleString('en-US')} float32 values`);
}

/** What the chain-aware checks need of a network (src/model/network.ts). */
interface ChainShape {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly chain: readonly { kind: string; units?: number; window?: number[]; in: readonly number[]; out: readonly number[]; bias?: boolean }[];
}

const size3 = (s: readonly number[]) => s[0] * s[1] * s[2];

/** Weights and biases of a chain of layers (dense: units × in; conv: filters × C × kh × kw). */
export function chainParameterCount(net: ChainShape): number {
  let p = 0;
  for (const l of net.chain) {
    if (l.kind === 'dense') p += l.units! * size3(l.in) + (l.bias ? l.units! : 0);
    else if (l.kind === 'conv') p += l.units! * l.in[0] * l.window![0] * l.window![1] + (l.bias ? l.units! : 0);
  }
  return p;
}

export function checkChainMemory(net: ChainShape, what = 'this network'): void {
  const p = chainParameterCount(net);
  checkMemory(4 * p, what, `${p.toLocaleString('en-US')} float32 parameters`);
}

/** A test-mode forward pass of `rows` rows: the output and two per-chunk buffers of the widest layer. */
export function checkChainForwardMemory(net: ChainShape, rows: number): void {
  const widest = Math.max(net.inputSize, ...net.chain.map((l) => size3(l.out)));
  const chunk = Math.max(1, Math.min(FORWARD_CHUNK, Math.floor((4 << 20) / widest)));
  checkMemory(4 * rows * net.outputSize + 8 * Math.min(rows, chunk) * widest, `a forward pass of ${rows} rows`);
}

/** Training with batches of `batch` rows: weights, gradients and momenta, and every layer's activations per batch (with conv scratch). */
export function checkChainTrainingMemory(net: ChainShape, batch: number): void {
  const params = 4 * chainParameterCount(net);
  const units = net.chain.reduce((a, l) => a + size3(l.out), 0);
  const widest = Math.max(net.inputSize, ...net.chain.map((l) => size3(l.out)));
  const dense = net.chain.every((l) => l.kind === 'dense');
  const what = dense ? `a network of sizes ${[net.inputSize, ...net.chain.map((l) => l.units)].join('-')}` : `a network of ${net.chain.length} layers`;
  checkMemory(3 * params + batch * units * 9 + 8 * batch * widest + 4 * batch * (net.inputSize + 2 * net.outputSize), `training ${what} with batches of ${batch}`, `weights, gradients and momenta: ${formatBytes(3 * params)}`);
}
