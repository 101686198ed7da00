/**
 * ONNX Runtime (onnxruntime-node, CPU) as a second, independent evaluator of a network or of
 * any MLP .onnx file.
 *
 * Why a worker thread: onnxruntime-node's session.run() executes on the main thread (behind a
 * setImmediate, onnxruntime issue #19611), so evaluating 10,000 digits would freeze the event
 * loop — progress bars, timers and AbortSignals included. Each OrtModel therefore owns one
 * node:worker_threads Worker that holds the InferenceSession; run() sends the inputs (a copy,
 * transferred) and the worker evaluates them batch by batch, posting progress after each
 * batch and checking a shared cancel flag (set by the AbortSignal) between batches. Calls on
 * one OrtModel are queued, never interleaved. dispose() releases the session and ends the worker.
 *
 * A worker that exits or crashes while a call is in flight (out of memory, a fault inside
 * ONNX Runtime) rejects that call — and any other call it was serving — with a BackendError
 * saying how it ended; the next call starts a fresh worker from the model's bytes. ONNX
 * Runtime's messages reach the user without its internal source paths.
 *
 * A worker is never terminated (worker.terminate()) while session.run() may be executing:
 * onnxruntime-node, interrupted inside a run, throws a C++ exception nothing catches and
 * std::terminate() ends the whole process. So an aborted run stops at its next batch, a run
 * whose progress callback threw settles only when the worker has stopped, the worker stays
 * referenced (keeps the process alive) until then, and dispose() waits for the worker's own
 * exit after its last batch.
 */
import { createRequire } from 'node:module';
import { MODEL_FILE_LIMIT, readInputFile } from '../util/files.js';
import { Worker } from 'node:worker_threads';
import { AbortError, ArgumentError, BackendError, FormatError, ShapeError } from '../errors.js';
import { expectFloat32Array, expectInt } from '../util/validate.js';
import { throwIfAborted, type RunOptions } from '../util/control.js';
import { addon } from '../native/binding.js';
import { argmaxRows, type Network } from './network.js';
import { decodeModel, inlineExternalData, toOnnxBytes } from './onnx.js';
import { num } from './onnx-proto.js';

export interface OrtOptions {
  /** Rows per session.run() call (default 1,000; a fixed batch dimension in the file wins). */
  batch?: number;
  /**
   * ONNX Runtime intra-op threads (default: the native core's thread count at the time the
   * session starts — setThreads / NREM_THREADS — so one setting sizes every thread pool a
   * computation uses; a `nrem worker --threads 1` unit then never runs ONNX Runtime on two
   * threads beside another worker's unit). Results do not depend on it.
   */
  threads?: number;
}

// The worker, as CommonJS source: it needs no build step and runs the same from src/ and dist/.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
(async () => {
  try {
    const o = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
    o.intraOpNumThreads = workerData.threads;
    session = await ort.InferenceSession.create(workerData.bytes, o);
    parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: String(e && e.message || e) });
  }
})();
// The run in progress (runs come one at a time): dispose and exit wait for it, so that
// nothing ends the thread inside session.run().
let running = Promise.resolve();
parentPort.on('message', (m) => {
  if (m.type === 'dispose') {
    running = running.then(async () => { try { await session?.release(); } finally { parentPort.close(); } });
    return;
  }
  // A test hook standing for a worker that dies: the thread exits before its next batch.
  if (m.type === 'exit') { exitCode = m.code; if (!busy) process.exit(exitCode); return; }
  running = running.then(() => runRows(m));
});
let busy = false, exitCode = null;
async function runRows(m) {
  busy = true;
  try {
    const { x, n, rowShape, rowSize, batch, cancel, inputName, outputName } = m;
    let out = null, width = 0;
    for (let r = 0; r < n; r += batch) {
      if (exitCode !== null) process.exit(exitCode);
      if (Atomics.load(cancel, 0)) { parentPort.postMessage({ id: m.id, aborted: true }); return; }
      const k = Math.min(batch, n - r);
      const t = new ort.Tensor('float32', x.subarray(r * rowSize, (r + k) * rowSize), [k, ...rowShape]);
      const res = (await session.run({ [inputName]: t }))[outputName];
      const y = res.data;
      if (!out) { width = y.length / k; out = new Float32Array(n * width); }
      out.set(y, r * width);
      t.dispose?.(); res.dispose?.();
      parentPort.postMessage({ id: m.id, progress: { phase: 'ort', done: r + k, total: n } });
    }
    parentPort.postMessage({ id: m.id, out, width }, out ? [out.buffer] : []);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  } finally {
    busy = false;
  }
}
`;

/**
 * ONNX Runtime's messages, without the build's source locations and C++ signatures it
 * prepends ("/onnxruntime_src/onnxruntime/core/graph/model.cc:180 onnxruntime::Model::Model(…) ").
 */
export function cleanOrtMessage(msg: string): string {
  let out = '';
  let i = 0;
  const loc = /(?:(?<![A-Za-z])[A-Za-z]:)?[\\/][^\s:]*\.(?:cc|cpp|cxx|h|hpp|c)(?::\d+)?\s*/g;
  for (let m = loc.exec(msg); m; m = loc.exec(msg)) {
    out += msg.slice(i, m.index);
    if (out.endsWith(':')) out += ' ';
    let j = loc.lastIndex;
    // A C++ signature right after the location: an identifier with :: and balanced (…).
    const sig = /^[\w:~<>,* &]*::[\w~<>]+\s*\(/.exec(msg.slice(j));
    if (sig) {
      let depth = 0;
      let k = j + sig[0].length - 1;
      for (; k < msg.length; k++) {
        if (msg[k] === '(') depth++;
        else if (msg[k] === ')' && --depth === 0) break;
      }
      j = Math.min(msg.length, k + 1);
      while (j < msg.length && msg[j] === ' ') j++;
    }
    i = j;
    loc.lastIndex = j;
  }
  return (out + msg.slice(i)).replace(/\s{2,}/g, ' ').trim();
}

/** Starts a worker holding a session of `bytes`; FormatError when ONNX Runtime refuses the model. */
async function startWorker(bytes: Uint8Array, threads: number, name: string): Promise<{ worker: Worker; ready: Reply }> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER, { eval: true, workerData: { ortPath, bytes, threads } });
  let onMessage!: (m: Reply) => void, onError!: (err: Error) => void, onExit!: (code: number) => void;
  const ready = await new Promise<Reply>((resolve) => {
    onMessage = resolve;
    onError = (err: Error) => resolve({ type: 'error', message: err.message });
    onExit = (code: number) => resolve({ type: 'error', message: `the worker exited with code ${code} while loading` });
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
  // Only our own listeners: the Worker keeps internal ones (port referencing).
  worker.off('message', onMessage);
  worker.off('error', onError);
  worker.off('exit', onExit);
  if (ready.type !== 'ready') {
    await worker.terminate();
    throw new FormatError(`${name}: ONNX Runtime cannot load the model (${cleanOrtMessage(ready.message ?? '')})`);
  }
  return { worker, ready };
}

interface Reply {
  id?: number;
  type?: string;
  message?: string;
  out?: Float32Array;
  width?: number;
  error?: string;
  aborted?: boolean;
  progress?: { phase: string; done: number; total: number };
  inputNames?: string[];
  outputNames?: string[];
}

export class OrtModel {
  /** Features per row (product of the input's non-batch dimensions). */
  readonly inputSize: number;
  /** Values per output row, or 0 until known (from the file or the first run). */
  outputSize: number;
  readonly inputName: string;
  readonly outputName: string;
  private readonly rowShape: number[];
  private readonly batch: number;
  private readonly fixedBatch: boolean;
  private worker: Worker | null;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  /** Calls in flight on the current worker: how to fail each if the worker dies. */
  private readonly inFlight = new Map<number, (err: Error) => void>();
  private readonly bytes: Uint8Array;
  private readonly name: string;
  /** ONNX Runtime intra-op threads of this model's sessions (restarted workers keep it). */
  readonly threads: number;
  /** Workers started so far (1 + restarts after a worker died). */
  workersStarted = 1;

  private constructor(
    worker: Worker,
    info: { inputName: string; outputName: string; rowShape: number[]; outputSize: number; batch: number; fixedBatch: boolean; bytes: Uint8Array; name: string; threads: number },
  ) {
    this.worker = worker;
    this.bytes = info.bytes;
    this.name = info.name;
    this.threads = info.threads;
    this.inputName = info.inputName;
    this.outputName = info.outputName;
    this.rowShape = info.rowShape;
    this.inputSize = info.rowShape.reduce((a, b) => a * b, 1);
    this.outputSize = info.outputSize;
    this.batch = info.batch;
    this.fixedBatch = info.fixedBatch;
    this.attach(worker);
  }

  /** Watches a worker: if it exits or crashes, every call it serves fails and the next call starts a new one. */
  private attach(worker: Worker): void {
    worker.unref(); // an idle model never keeps the process alive
    const died = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      const calls = [...this.inFlight.values()];
      this.inFlight.clear();
      for (const fail of calls) fail(err);
    };
    worker.once('error', (err: Error) => died(new BackendError(`ONNX Runtime worker crashed: ${cleanOrtMessage(err.message)}`, { cause: err })));
    worker.once('exit', (code: number) => died(new BackendError(`ONNX Runtime worker exited (code ${code}) during the call`)));
  }

  /** The live worker, or a fresh one when the last one died. */
  private async live(): Promise<Worker> {
    if (this.worker) return this.worker;
    if (this.disposed) throw new ArgumentError('Expected a live OrtModel but it has been disposed');
    const { worker: w } = await startWorker(this.bytes, this.threads, this.name);
    if (this.disposed) {
      await w.terminate();
      throw new ArgumentError('Expected a live OrtModel but it has been disposed');
    }
    this.workersStarted++;
    this.worker = w;
    this.attach(w);
    return w;
  }

  static async fromNetwork(net: Network, opts: OrtOptions = {}): Promise<OrtModel> {
    return OrtModel.fromBytes(toOnnxBytes(net), 'network', opts);
  }

  static async fromFile(path: string, opts: OrtOptions = {}): Promise<OrtModel> {
    const bytes = await readInputFile(path, { maxBytes: MODEL_FILE_LIMIT, what: 'ONNX model' });
    return OrtModel.fromBytes(inlineExternalData(bytes, path), path, opts);
  }

  static async fromBytes(bytes: Uint8Array, name = 'model.onnx', opts: OrtOptions = {}): Promise<OrtModel> {
    const batchOpt = expectInt(opts.batch ?? 1000, 'batch', 1, 1 << 24);
    const threads = opts.threads === undefined ? addon().info().threads : expectInt(opts.threads, 'threads', 1, 1024);
    const g = decodeModel(bytes, name).graph!;
    const inits = new Set((g.initializer ?? []).map((t) => t.name));
    const input = (g.input ?? []).find((i) => !inits.has(i.name ?? ''));
    const output = (g.output ?? [])[0];
    if (!input || !output) throw new FormatError(`${name}: the graph needs an input and an output`);
    const dims = (v: typeof input) => (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? null : d.dimValue != null ? num(d.dimValue) : null));
    const inDims = dims(input);
    const rowShape = inDims.slice(1);
    if (inDims.length < 2 || rowShape.some((d) => d === null || d <= 0))
      throw new FormatError(`${name}: input ${input.name} needs a known shape [batch, …] (found [${inDims.map((d) => d ?? '?').join(', ')}])`);
    const fixedBatch = inDims[0];
    const outDims = dims(output);
    const outputSize = outDims.length >= 2 && outDims.slice(1).every((d) => d !== null) ? outDims.slice(1).reduce((a, b) => a! * b!, 1)! : 0;
    const copy = bytes.slice();
    const { worker, ready } = await startWorker(copy, threads, name);
    return new OrtModel(worker, {
      bytes: copy,
      name,
      threads,
      inputName: input.name ?? ready.inputNames![0],
      outputName: output.name ?? ready.outputNames![0],
      rowShape: rowShape as number[],
      outputSize,
      batch: fixedBatch && fixedBatch > 0 ? fixedBatch : batchOpt,
      fixedBatch: !!fixedBatch && fixedBatch > 0,
    });
  }

  /** Outputs for n rows of x (n × inputSize, row-major): a Float32Array of n × outputSize. */
  run(x: Float32Array, n?: number, opts?: RunOptions): Promise<Float32Array> {
    expectFloat32Array(x, 'x');
    const rows = n ?? x.length / this.inputSize;
    expectInt(rows, 'n', 0);
    if (x.length !== rows * this.inputSize)
      throw new ShapeError(`Expected x to hold ${rows} × ${this.inputSize} values but it holds ${x.length}`);
    if (this.fixedBatch && rows % this.batch !== 0)
      throw new ShapeError(`Expected a multiple of the model's fixed batch of ${this.batch} rows but received ${rows}`);
    if (this.disposed) return Promise.reject(new ArgumentError('Expected a live OrtModel but it has been disposed'));
    const job = this.queue.then(async () => this.send(await this.live(), x, rows, opts));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private send(worker: Worker, x: Float32Array, n: number, opts?: RunOptions): Promise<Float32Array> {
    throwIfAborted(opts?.signal);
    if (n === 0) return Promise.resolve(new Float32Array(0));
    const id = this.nextId++;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(cancel, 0, 1);
    opts?.signal?.addEventListener('abort', onAbort, { once: true });
    const copy = x.slice();
    const stack = new Error().stack;
    return new Promise<Float32Array>((resolve, reject) => {
      const fail = (e: Error) => {
        if (stack) e.stack = `${e.name}: ${e.message}\n${stack.split('\n').slice(2).join('\n')}`;
        reject(e);
      };
      let settled = false;
      let callbackError: { err: unknown } | null = null;
      const onMessage = (m: Reply) => {
        if (m.id !== id || settled) return;
        if (m.progress) {
          if (callbackError) return;
          try {
            opts?.onProgress?.(m.progress);
          } catch (err) {
            // Stop the worker at its next batch and reject with the callback's error once it
            // has stopped (its reply: aborted, or the output when this was the last batch).
            callbackError = { err };
            Atomics.store(cancel, 0, 1);
          }
          return;
        }
        if (callbackError) return done(() => reject(callbackError!.err));
        if (m.aborted) return done(() => fail(new AbortError()));
        if (m.error !== undefined) return done(() => fail(new BackendError(`ONNX Runtime: ${cleanOrtMessage(m.error!)}`)));
        done(() => {
          if (this.outputSize === 0 && m.width) this.outputSize = m.width;
          resolve(m.out!);
        });
      };
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.inFlight.delete(id);
        worker.off('message', onMessage);
        worker.unref();
        opts?.signal?.removeEventListener('abort', onAbort);
        f();
      };
      this.inFlight.set(id, (err) => done(() => fail(err)));
      worker.ref(); // keep the process alive while a run is in flight
      worker.on('message', onMessage);
      worker.postMessage(
        { id, x: copy, n, rowShape: this.rowShape, rowSize: this.inputSize, batch: this.batch, cancel, inputName: this.inputName, outputName: this.outputName },
        [copy.buffer],
      );
    });
  }

  /** Predicted class per row (argmax; ties to the lowest index, as Network.predict). */
  async predict(x: Float32Array, n?: number, opts?: RunOptions): Promise<Int32Array> {
    const y = await this.run(x, n, opts);
    const rows = n ?? x.length / this.inputSize;
    return argmaxRows(y, rows ? y.length / rows : 1);
  }

  /** Fraction of rows predicted as their label. */
  async accuracy(x: Float32Array, labels: ArrayLike<number>, opts?: RunOptions): Promise<number> {
    const p = await this.predict(x, labels.length, opts);
    let ok = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) ok++;
    return p.length ? ok / p.length : 0;
  }

  /**
   * Releases the session and ends the worker: waits for queued runs, then for the worker to
   * release the session and exit; the worker keeps the process alive meanwhile. Never
   * terminate()s it (see the header): a worker that has not exited after 10 s is left behind
   * unreferenced, so it cannot keep the process alive any longer.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    let t: NodeJS.Timeout | undefined;
    const exited = new Promise<void>((r) => {
      worker.once('exit', () => r());
      t = setTimeout(r, 10_000);
    });
    worker.ref();
    worker.postMessage({ type: 'dispose' });
    await exited;
    clearTimeout(t);
    worker.unref();
  }
}
