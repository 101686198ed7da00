/**
 * ONNX Runtime (onnxruntime-node, CPU) as a second, independent evaluator of a network or of
 * any MLP .onnx file.
 *
 * Why a worker thread: onnxruntime-node's session.run() executes on the main thread (behind a
 * setImmediate, onnxruntime issue #19611), so evaluating 10,000 digits would freeze the event
 * loop — progress bars, timers and AbortSignals included. The sessions of a process therefore
 * live in one node:worker_threads Worker, the ONNX Runtime host, started on first use and
 * shared by every OrtModel (starting a thread and loading onnxruntime-node costs ~90 ms of CPU,
 * a session ~1.5 ms: a study's units open dozens). run() sends the inputs (a copy, transferred)
 * and the host evaluates them batch by batch, posting progress after each batch and checking a
 * shared cancel flag (set by the AbortSignal) between batches. Calls on one OrtModel are
 * queued, never interleaved; calls on different models alternate batch by batch. dispose()
 * releases the model's session; an idle host never keeps the process alive.
 *
 * A host that exits or crashes while calls are in flight (out of memory, a fault inside ONNX
 * Runtime) rejects every one of them with a BackendError saying how it ended; the next call
 * starts a fresh host and reopens its model's session from the model's bytes. ONNX Runtime's
 * messages reach the user without its internal source paths.
 *
 * The host is never terminated (worker.terminate()): onnxruntime-node, interrupted inside a
 * run, throws a C++ exception nothing catches and std::terminate() ends the whole process. So
 * an aborted run stops at its next batch, a run whose progress callback threw settles only
 * when the host has stopped it, and the host stays referenced (keeps the process alive) while
 * any call is in flight.
 */
import { createRequire } from 'node:module';
import { MODEL_FILE_LIMIT, readInputFile } from '../util/files.js';
import { Worker } from 'node:worker_threads';
import { AbortError, ArgumentError, BackendError, FormatError, ShapeError } from '../errors.js';
import { expectFloat32Array, expectInt } from '../util/validate.js';
import { throwIfAborted, withStackOf, type RunOptions } from '../util/control.js';
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

// The host, as CommonJS source: it needs no build step and runs the same from src/ and dist/.
const HOST = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const sessions = new Map();
// Per session, the run or close in progress (one at a time per session): close waits for the
// session's runs, and nothing ends the thread inside session.run().
const chains = new Map();
let busy = 0, exitCode = null;
const chain = (sid, f) => {
  const next = (chains.get(sid) || Promise.resolve()).then(f);
  chains.set(sid, next);
  return next;
};
parentPort.on('message', (m) => {
  if (m.type === 'open') {
    const o = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: m.threads };
    ort.InferenceSession.create(m.bytes, o).then(
      (s) => { sessions.set(m.sid, s); parentPort.postMessage({ sid: m.sid, type: 'ready', inputNames: s.inputNames, outputNames: s.outputNames }); },
      (e) => parentPort.postMessage({ sid: m.sid, type: 'error', message: String(e && e.message || e) }),
    );
    return;
  }
  if (m.type === 'close') {
    chain(m.sid, async () => {
      try { await sessions.get(m.sid)?.release(); } catch {}
      sessions.delete(m.sid);
      chains.delete(m.sid);
      parentPort.postMessage({ sid: m.sid, type: 'closed' });
    });
    return;
  }
  // A test hook standing for a host that dies: the thread exits before its next batch.
  if (m.type === 'exit') { exitCode = m.code; if (!busy) process.exit(exitCode); return; }
  chain(m.sid, () => runRows(m));
});
async function runRows(m) {
  busy++;
  try {
    const { x, n, rowShape, rowSize, batch, cancel, inputName, outputName } = m;
    const session = sessions.get(m.sid);
    if (!session) throw new Error('no open session ' + m.sid);
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
    busy--;
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

interface Reply {
  id?: number;
  sid?: number;
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

/** The process's ONNX Runtime host thread (see the header): one at a time, a fresh one after it died. */
class Host {
  private static current: Host | null = null;
  /** Hosts started in this process so far. */
  static started = 0;

  readonly worker: Worker;
  alive = true;
  /** Replies awaited, by run id (runs) or by -sid (open, close): each also learns of the host's death. */
  private readonly waiting = new Map<number, { onReply: (m: Reply) => void; onDeath: (err: Error) => void }>();

  private constructor() {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    this.worker = new Worker(HOST, { eval: true, workerData: { ortPath } });
    this.worker.unref(); // an idle host never keeps the process alive
    Host.started++;
    this.worker.on('message', (m: Reply) => this.waiting.get(m.id ?? -(m.sid ?? 0))?.onReply(m));
    const died = (err: Error) => {
      if (!this.alive) return;
      this.alive = false;
      if (Host.current === this) Host.current = null;
      const all = [...this.waiting.values()];
      this.waiting.clear();
      for (const w of all) w.onDeath(err);
    };
    this.worker.once('error', (err: Error) => died(new BackendError(`ONNX Runtime worker crashed: ${cleanOrtMessage(err.message)}`, { cause: err })));
    this.worker.once('exit', (code: number) => died(new BackendError(`ONNX Runtime worker exited (code ${code}) during the call`)));
  }

  /** The live host, started on first use or after the last one died. */
  static get(): Host {
    if (!Host.current) Host.current = new Host();
    return Host.current;
  }

  /** The live host's thread, or null. */
  static thread(): Worker | null {
    return Host.current?.worker ?? null;
  }

  /**
   * Posts `message` and passes the replies to `key` to `settle` until it returns true; the
   * host is referenced meanwhile (keeps the process alive) and its death rejects the call.
   */
  call<T>(key: number, message: object, transfer: ArrayBuffer[], settle: (m: Reply, resolve: (v: T) => void, reject: (e: unknown) => void) => boolean): Promise<T> {
    if (!this.alive) return Promise.reject(new BackendError('ONNX Runtime worker exited before the call'));
    return new Promise<T>((resolve, reject) => {
      const end = () => {
        this.waiting.delete(key);
        if (this.waiting.size === 0) this.worker.unref();
      };
      this.waiting.set(key, {
        onReply: (m) => {
          if (settle(m, resolve, reject)) end();
        },
        onDeath: (err) => {
          end();
          reject(err);
        },
      });
      this.worker.ref();
      this.worker.postMessage(message, transfer);
    });
  }
}

let nextSid = 1;
let nextRunId = 1;

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
  /** The host this model's session is open on and its id there (host null: reopen on the next call). */
  private host: Host | null;
  private sid: number;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly bytes: Uint8Array;
  private readonly name: string;
  /** ONNX Runtime intra-op threads of this model's sessions (reopened sessions keep it). */
  readonly threads: number;
  /** Sessions opened so far (1 + reopenings after the host died). */
  sessionsStarted = 1;

  private constructor(
    host: Host,
    sid: number,
    info: { inputName: string; outputName: string; rowShape: number[]; outputSize: number; batch: number; fixedBatch: boolean; bytes: Uint8Array; name: string; threads: number },
  ) {
    this.host = host;
    this.sid = sid;
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
  }

  /** The process's ONNX Runtime host thread, or null when none runs. */
  static hostThread(): Worker | null {
    return Host.thread();
  }

  /** ONNX Runtime host threads started in this process so far (1 + restarts after one died). */
  static get hostsStarted(): number {
    return Host.started;
  }

  /** Opens a session of `bytes` on the live host; FormatError when ONNX Runtime refuses the model. */
  private static async open(bytes: Uint8Array, threads: number, name: string): Promise<{ host: Host; sid: number; ready: Reply }> {
    const host = Host.get();
    const sid = nextSid++;
    const ready = await host.call<Reply>(-sid, { type: 'open', sid, bytes, threads }, [], (m, resolve) => (resolve(m), true));
    if (ready.type !== 'ready') throw new FormatError(`${name}: ONNX Runtime cannot load the model (${cleanOrtMessage(ready.message ?? '')})`);
    return { host, sid, ready };
  }

  /** The host with this model's session open: reopened from the model's bytes after the last host died. */
  private async live(): Promise<Host> {
    if (this.disposed) throw new ArgumentError('Expected a live OrtModel but it has been disposed');
    if (this.host?.alive) return this.host;
    this.host = null;
    const { host, sid } = await OrtModel.open(this.bytes, this.threads, this.name);
    this.sessionsStarted++;
    this.host = host;
    this.sid = sid;
    if (this.disposed) {
      await this.close();
      throw new ArgumentError('Expected a live OrtModel but it has been disposed');
    }
    return host;
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
    const { host, sid, ready } = await OrtModel.open(copy, threads, name);
    return new OrtModel(host, sid, {
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

  private send(host: Host, x: Float32Array, n: number, opts?: RunOptions): Promise<Float32Array> {
    throwIfAborted(opts?.signal);
    if (n === 0) return Promise.resolve(new Float32Array(0));
    const id = nextRunId++;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(cancel, 0, 1);
    opts?.signal?.addEventListener('abort', onAbort, { once: true });
    const copy = x.slice();
    const where = new Error(); // formatted only if the call fails
    const ours = (e: Error) => withStackOf(e, where);
    let callbackError: { err: unknown } | null = null;
    const message = { id, sid: this.sid, x: copy, n, rowShape: this.rowShape, rowSize: this.inputSize, batch: this.batch, cancel, inputName: this.inputName, outputName: this.outputName };
    return host
      .call<Float32Array>(id, message, [copy.buffer], (m, resolve, reject) => {
        if (m.progress) {
          if (callbackError) return false;
          try {
            opts?.onProgress?.(m.progress);
          } catch (err) {
            // Stop the run at its next batch and reject with the callback's error once the host
            // has stopped it (its reply: aborted, or the output when this was the last batch).
            callbackError = { err };
            Atomics.store(cancel, 0, 1);
          }
          return false;
        }
        if (callbackError) reject(callbackError.err);
        else if (m.aborted) reject(ours(new AbortError()));
        else if (m.error !== undefined) reject(ours(new BackendError(`ONNX Runtime: ${cleanOrtMessage(m.error)}`)));
        else {
          if (this.outputSize === 0 && m.width) this.outputSize = m.width;
          resolve(m.out!);
        }
        return true;
      })
      .catch((e: unknown) => {
        // The host's death: that error, with this call's stack.
        throw e instanceof BackendError && !callbackError ? ours(e) : e;
      })
      .finally(() => opts?.signal?.removeEventListener('abort', onAbort));
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

  /** Releases the session (waits for queued runs). The host thread stays for the other models. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.close();
  }

  private async close(): Promise<void> {
    const host = this.host;
    this.host = null;
    if (!host?.alive) return;
    const sid = this.sid;
    await host.call<void>(-sid, { type: 'close', sid }, [], (m, resolve) => (m.type === 'closed' ? (resolve(), true) : false)).catch(() => undefined);
  }
}
